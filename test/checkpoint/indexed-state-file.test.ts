// State file format 3 (key groups after the snapshot, an index at the end): a checkpoint of two
// embedded-backend subtasks written by the streamed writer and restored through loadCheckpoint and
// loadTaskRestore, as a job's restore does, at the same parallelism and at another one, where a new
// subtask reads only its own key groups from the files (the others are corrupted and never read);
// a corrupt key group fails its restore with one error naming the file, the key group and its
// operator; a corrupt or truncated index fails the file's read; a checkpoint written in format 2 by
// the previous writer (a fixture) still restores.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { FsCheckpointStorage, loadCheckpoint } from "../../src/checkpoint/fs-storage.ts";
import { loadTaskRestore } from "../../src/checkpoint/restore.ts";
import { streamTaskSnapshot } from "../../src/checkpoint/snapshot-writer.ts";
import { CorruptStateError, readStateFileHeader } from "../../src/checkpoint/state-file.ts";
import { DataInputDeserializer } from "../../src/core/data-io.ts";
import { assignToKeyGroup, keyGroupRangeFor } from "../../src/core/key-groups.ts";
import { ListStateDescriptor, ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import {
  decodeRestoredKeyGroup,
  type OperatorRestore,
  type TimerSnapshot,
} from "../../src/runtime/snapshot.ts";
import { createKeyedStateBackend } from "../../src/state/index.ts";
import type { KeyedStateBackend } from "../../src/state/keyed-state-backend.ts";

const MAX = 16;
const KEYS = 400;
const UID = "counts";
const FIXTURE = fileURLToPath(new URL("./fixtures/state-format-2", import.meta.url));

const dir = mkdtempSync(join(tmpdir(), "weir-indexed-state-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const countOf = new ValueStateDescriptor<number>("count", Types.NUMBER);

/** Writes a checkpoint (chk-1 under `name`) of a job whose keyed operator ran at p=2: key k<i> counts i. */
async function writeCheckpoint(name: string): Promise<{ cpDir: string; files: string[] }> {
  const storage = new FsCheckpointStorage(dir, name);
  const subtasks = [];
  for (let s = 0; s < 2; s++) {
    const range = keyGroupRangeFor(MAX, 2, s);
    const backend = createKeyedStateBackend("embedded", range, {});
    try {
      const count = backend.getState(countOf);
      for (let i = 0; i < KEYS; i++) {
        const kg = assignToKeyGroup(`k${i}`, MAX);
        if (kg < range.start || kg > range.end) continue;
        backend.setCurrentKey(`k${i}`, kg);
        count.update(i);
      }
      const written = await storage.writeTaskStateStreamed(
        1,
        `1-${s}`,
        streamTaskSnapshot(
          {
            operators: {
              [UID]: {
                keyedState: { state: backend.snapshot(), timers: [] },
                operatorState: { seen: { mode: "union", values: [s] } },
              },
            },
          },
          0,
        ),
      );
      subtasks.push({
        subtask: s,
        file: written.path,
        keyGroups: undefined,
        size: written.size,
        finished: false,
      });
    } finally {
      backend.dispose();
    }
  }
  const cpDir = await storage.writeMetadata(1, {
    format: "weir-checkpoint",
    version: 1,
    checkpointId: 1,
    savepoint: false,
    jobName: name,
    jobId: name,
    timestamp: 0,
    enumerators: {},
    tasks: { "1": { operators: [UID], parallelism: 2, maxParallelism: MAX, subtasks } },
  });
  return { cpDir, files: subtasks.map((s) => join(storage.root, s.file)) };
}

/** Restores an operator's key groups into a new backend as the operator does (undecoded into embedded). */
function restoreInto(backend: KeyedStateBackend, r: OperatorRestore): TimerSnapshot[] {
  const timers: TimerSnapshot[] = [];
  for (const [kg, g] of r.keyGroups) {
    if (typeof g !== "function" && "visit" in g && backend.restoreEncodedKeyGroup !== undefined) {
      backend.restoreEncodedKeyGroup(kg, (visit) => void timers.push(...g.visit(visit)));
    } else {
      const d = decodeRestoredKeyGroup(g);
      backend.restoreKeyGroup(kg, d.entries);
      timers.push(...d.timers);
    }
  }
  return timers;
}

/** Subtask `s` of `p` restores the checkpoint: every key of its range holds its count, no other key. */
async function restoreAndCheck(cpDir: string, s: number, p: number): Promise<void> {
  const cp = await loadCheckpoint(cpDir);
  const r = (await loadTaskRestore(cp, [UID], s, p, MAX)).operators.get(UID)!;
  const range = keyGroupRangeFor(MAX, p, s);
  assert.ok(r.keyGroups.every(([kg]) => kg >= range.start && kg <= range.end));
  assert.deepEqual(r.operatorState.seen!.values, [0, 1]);
  const backend = createKeyedStateBackend("embedded", range, {});
  try {
    restoreInto(backend, r);
    const count = backend.getState(countOf);
    let mine = 0;
    for (let i = 0; i < KEYS; i++) {
      const kg = assignToKeyGroup(`k${i}`, MAX);
      if (kg < range.start || kg > range.end) continue;
      mine++;
      backend.setCurrentKey(`k${i}`, kg);
      assert.equal(count.value(), i, `k${i}`);
    }
    let entries = 0;
    for (let kg = range.start; kg <= range.end; kg++) backend.snapshot().read(kg, () => void entries++);
    assert.equal(entries, mine);
  } finally {
    backend.dispose();
  }
}

/** The index of a format-3 file: [uid, key group, offset, length, crc] per key group. */
function indexOf(bytes: Uint8Array): {
  at: number;
  length: number;
  entries: Array<[string, number, number, number, number]>;
} {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 20, 20);
  const at = dv.getFloat64(0, true);
  const length = dv.getUint32(8, true);
  const entries = Types.GENERIC.createSerializer().read(new DataInputDeserializer(bytes, at, at + length));
  return { at, length, entries: entries as Array<[string, number, number, number, number]> };
}

describe("state file format 3 (indexed key groups)", () => {
  it("round trip: each subtask restores its keys at the same parallelism; files are format 3", async () => {
    const { cpDir, files } = await writeCheckpoint("same");
    for (const f of files) assert.equal(readStateFileHeader(readFileSync(f), f).version, 3);
    await restoreAndCheck(cpDir, 0, 2);
    await restoreAndCheck(cpDir, 1, 2);
  });

  it("rescaled to 3: a subtask reads only its key groups' ranges of the files", async () => {
    const { cpDir, files } = await writeCheckpoint("rescale");
    const middle = keyGroupRangeFor(MAX, 3, 1);
    // Every key group outside the middle subtask's range is corrupted: it must never be read.
    let corrupted = 0;
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const [, kg, at, length] of indexOf(bytes).entries) {
        if (kg >= middle.start && kg <= middle.end) continue;
        bytes[at + length - 1] ^= 0xff;
        corrupted++;
      }
      writeFileSync(f, bytes);
    }
    assert.ok(corrupted > 0);
    await restoreAndCheck(cpDir, 1, 3);
    // The first subtask's range is corrupted: its restore fails at the first key group it reads.
    const first = keyGroupRangeFor(MAX, 3, 0);
    await assert.rejects(restoreAndCheck(cpDir, 0, 3), (e: Error) => {
      assert.ok(e instanceof CorruptStateError);
      assert.match(
        e.message,
        new RegExp(
          `'${files[0]}' has key group ${first.start} of operator '${UID}' corrupt \\(checksum mismatch\\)`,
        ),
      );
      return true;
    });
  });

  it("a corrupt key group fails the restore with one error naming the file and the key group", async () => {
    const { cpDir, files } = await writeCheckpoint("corrupt-group");
    const bytes = readFileSync(files[1]!);
    const [, kg, at] = indexOf(bytes).entries[2]!;
    bytes[at + 3] ^= 0x01;
    writeFileSync(files[1]!, bytes);
    await restoreAndCheck(cpDir, 0, 2); // the other file is untouched
    await assert.rejects(
      restoreAndCheck(cpDir, 1, 2),
      new CorruptStateError(
        files[1]!,
        `has key group ${kg} of operator '${UID}' corrupt (checksum mismatch)`,
      ),
    );
  });

  it("a corrupt or truncated index fails the file's read, naming it", async () => {
    const { cpDir, files } = await writeCheckpoint("corrupt-index");
    const f = files[0]!;
    const good = readFileSync(f);
    const { at } = indexOf(good);
    const flipped = Buffer.from(good);
    flipped[at + 4] ^= 0x10;
    writeFileSync(f, flipped);
    await assert.rejects(
      restoreAndCheck(cpDir, 0, 2),
      new CorruptStateError(f, "has a corrupt key-group index (checksum mismatch)"),
    );
    writeFileSync(f, good.subarray(0, good.length - 3));
    await assert.rejects(
      restoreAndCheck(cpDir, 0, 2),
      new CorruptStateError(f, "is truncated or corrupt (no key-group index at its end)"),
    );
    const misplaced = Buffer.from(good);
    new DataView(misplaced.buffer, misplaced.byteOffset).setFloat64(misplaced.length - 20, at - 1, true);
    writeFileSync(f, misplaced);
    await assert.rejects(
      restoreAndCheck(cpDir, 0, 2),
      new CorruptStateError(f, "has a corrupt key-group index (it is not where its trailer says)"),
    );
    writeFileSync(f, good);
    await restoreAndCheck(cpDir, 0, 2);
  });

  it("restores a checkpoint written in format 2 by the previous writer (fixture), into either backend", async () => {
    const file = join(FIXTURE, "chk-3", "1-0.state");
    assert.equal(readStateFileHeader(readFileSync(file), file).version, 2);
    const cp = await loadCheckpoint(FIXTURE);
    for (const [p, s] of [
      [1, 0],
      [2, 1],
    ] as const) {
      const restore = await loadTaskRestore(cp, ["src", UID], s, p, MAX);
      assert.deepEqual(restore.operators.get("src")!.operatorState.offsets!.values, s === 0 ? [7] : []);
      const r = restore.operators.get(UID)!;
      assert.deepEqual(r.custom, [{ note: "format-2" }]);
      const range = keyGroupRangeFor(MAX, p, s);
      for (const kind of ["heap", "embedded"] as const) {
        const backend = createKeyedStateBackend(kind, range, { maxParallelism: MAX });
        try {
          const timers = restoreInto(backend, r);
          const k1 = assignToKeyGroup("k1", MAX);
          const hasK1 = k1 >= range.start && k1 <= range.end;
          assert.deepEqual(
            timers.map((t) => [t.key, t.time]),
            hasK1 ? [["k1", 99]] : [],
          );
          const count = backend.getState(countOf);
          const seen = backend.getListState(new ListStateDescriptor<string>("seen", Types.STRING));
          let n = 0;
          for (let i = 0; i < 40; i++) {
            const kg = assignToKeyGroup(`k${i}`, MAX);
            if (kg < range.start || kg > range.end) continue;
            n++;
            backend.setCurrentKey(`k${i}`, kg);
            assert.equal(count.value(), i, `${kind}: k${i}`);
            assert.deepEqual([...(seen.get() ?? [])], i % 4 === 0 ? [`s${i}`] : [], `${kind}: k${i}`);
          }
          assert.ok(n > 0);
        } finally {
          backend.dispose();
        }
      }
    }
  });
});
