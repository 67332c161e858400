// Incremental checkpoints write each key group to a shared file of its own in state file format 3
// (indexed-state-file.ts: the key group stays in the file until its operator restores it, read
// then with a positioned read), written as soon as it is encoded. A job restores from them at
// another parallelism with exact counts, on both backends; shared files written by the previous
// writer (format 2: `{ uid, group }` whole) still restore; a finished task's final state
// streamed into taskowned/ is format 3 and reads back.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FsCheckpointStorage, loadCheckpoint } from "../../src/checkpoint/fs-storage.ts";
import { encodeKeyGroupFile, readStateFileAt } from "../../src/checkpoint/indexed-state-file.ts";
import { loadTaskRestore } from "../../src/checkpoint/restore.ts";
import { streamTaskSnapshot } from "../../src/checkpoint/snapshot-writer.ts";
import {
  decodeKeyGroup,
  encodeKeyGroup,
  encodeStateFile,
  isStoredKeyGroup,
  readStateFileHeader,
} from "../../src/checkpoint/state-file.ts";
import {
  JobCancelledError,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  WatermarkStrategy,
} from "../../src/index.ts";
import {
  decodeRestoredKeyGroup,
  type KeyGroupSnapshot,
  type TaskSnapshot,
} from "../../src/runtime/snapshot.ts";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { createKeyedStateBackend } from "../../src/state/index.ts";
import { GatedSource, until } from "./fixtures/gated-source.ts";

const KEYS = 40;
/** Records [0, A) before the checkpoint, [A, C) after the restore. */
const A = KEYS * 3;
const C = A + KEYS * 2;

function build(env: StreamExecutionEnvironment, source: GatedSource) {
  return env
    .fromSource(source, WatermarkStrategy.noWatermarks(), "events")
    .setParallelism(1) // one reader, one split: held exactly at record A
    .uid("events")
    .keyBy((i) => `k${i % KEYS}`)
    .process<[string, number]>({
      processElement(i, ctx, out) {
        const st = ctx.runtime.getState(new ValueStateDescriptor<number>("n"));
        const n = (st.value() ?? 0) + 1;
        st.update(n);
        out.collect([`k${i % KEYS}`, n]);
      },
    })
    .uid("count")
    .collect();
}

/** Every file under `dir` whose name ends with `suffix`, relative to it. */
function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(suffix));
}

const group = (g: number): KeyGroupSnapshot => ({ entries: [["n", null, `key-of-${g}`, g]], timers: [] });

describe("incremental checkpoints in state file format 3", () => {
  for (const backend of ["heap", "embedded"] as const) {
    it(`${backend}: shared key-group files are format 3; restored at p=3 from p=2, counts exact`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-inc3-"));
      try {
        const env1 = new StreamExecutionEnvironment({
          parallelism: 2,
          checkpointDirectory: dir,
          stateBackend: backend,
        });
        env1
          .enableCheckpointing(3_600_000)
          .getCheckpointConfig()
          .enableIncrementalCheckpoints()
          .setExternalizedCheckpointRetention("RETAIN_ON_CANCELLATION");
        // The reader is held at record A.
        const s1 = new GatedSource(0, C, (g) => (g.index >= A ? new Promise<void>(() => {}) : undefined));
        build(env1, s1);
        const client = await env1.executeAsync("inc3-1");
        // The checkpoint's barriers follow every record emitted before it.
        await until(() => (s1.emitted.get(0) ?? 0) === A, "run 1 to emit [0, A)");
        const cp = await client.triggerCheckpoint();
        await client.cancel();
        await assert.rejects(client.wait(), JobCancelledError);

        const root = join(cp, "..");
        const shared = filesUnder(join(root, "shared"), ".kg");
        assert.ok(shared.length > 1, `shared files: ${shared.join(", ")}`);
        for (const f of shared) {
          const bytes = readFileSync(join(root, "shared", f));
          assert.equal(readStateFileHeader(bytes, f).version, 3, f);
        }
        // Read back lazily: each key group is still in its file.
        const loaded = await loadCheckpoint(cp);
        const snap = (await loaded.read(`shared/${shared[0]}`)) as TaskSnapshot;
        const [[, stored]] = snap.operators.count!.keyGroups! as Array<[number, unknown]>;
        assert.ok(isStoredKeyGroup(stored as never), "the key group is read when restored");

        const env2 = new StreamExecutionEnvironment({
          parallelism: 3,
          stateBackend: backend,
          restorePath: cp,
        });
        const s2 = new GatedSource(A, C, () => undefined);
        const out2 = build(env2, s2);
        await env2.execute("inc3-2");
        const last = new Map<string, number>();
        for (const [k, n] of out2.values) last.set(k, Math.max(last.get(k) ?? 0, n));
        assert.equal(last.size, KEYS);
        for (const [k, n] of last) assert.equal(n, C / KEYS, `count of ${k}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("shared files of the previous writer (format 2, read whole) and format 3 side by side restore", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-inc3-mixed-"));
    try {
      const chk = join(dir, "chk-4");
      mkdirSync(join(dir, "shared"), { recursive: true });
      mkdirSync(chk);
      writeFileSync(join(chk, "2-0.state"), encodeStateFile({ operators: {} }));
      // Format 2 as the previous writer wrote it: the key group encoded, then the file whole.
      writeFileSync(
        join(dir, "shared", "kg1.kg"),
        encodeStateFile({ uid: "op", group: encodeKeyGroup(group(1)) }),
      );
      // Format 2 with a decoded key group (the oldest files).
      writeFileSync(join(dir, "shared", "kg2.kg"), encodeStateFile({ uid: "op", group: group(2) }));
      writeFileSync(join(dir, "shared", "kg3.kg"), encodeKeyGroupFile("op", 3, encodeKeyGroup(group(3))));
      const metadata = {
        format: "weir-checkpoint",
        version: 1,
        checkpointId: 4,
        savepoint: false,
        jobName: "job",
        jobId: "j",
        timestamp: 0,
        tasks: {
          "2": {
            operators: ["op"],
            parallelism: 1,
            maxParallelism: 8,
            subtasks: [
              {
                subtask: 0,
                file: "chk-4/2-0.state",
                keyGroups: { "1": "shared/kg1.kg", "2": "shared/kg2.kg", "3": "shared/kg3.kg" },
                size: 1,
                finished: false,
              },
            ],
          },
        },
        enumerators: {},
      };
      writeFileSync(join(chk, "_metadata"), JSON.stringify(metadata));
      const cp = await loadCheckpoint(chk);
      const r = await loadTaskRestore(cp, ["op"], 0, 1, 8);
      const groups = r.operators
        .get("op")!
        .keyGroups.map(([g, s]) => [g, decodeRestoredKeyGroup(s).entries[0]![3]])
        .sort((x, y) => (x[0] as number) - (y[0] as number));
      assert.deepEqual(groups, [
        [1, 1],
        [2, 2],
        [3, 3],
      ]);

      // Into the embedded backend, as an operator restores them (format 3's bytes undecoded).
      const b = createKeyedStateBackend(
        "embedded",
        { start: 0, end: 7 },
        { managedMemoryBytes: 8 * 2 ** 20 },
      );
      try {
        for (const [kg, g] of r.operators.get("op")!.keyGroups) {
          if (typeof g !== "function" && "visit" in g)
            b.restoreEncodedKeyGroup!(kg, (visit) => void g.visit(visit));
          else b.restoreKeyGroup(kg, decodeRestoredKeyGroup(g).entries);
        }
        const d = b.getState(new ValueStateDescriptor<number>("n"));
        for (const g of [1, 2, 3]) {
          b.setCurrentKey(`key-of-${g}`, g);
          assert.equal(d.value(), g, `key group ${g}`);
        }
      } finally {
        b.dispose();
      }

      // A corrupt format-3 key group is reported when it is restored, naming the file.
      const bytes = readFileSync(join(dir, "shared", "kg3.kg"));
      const at = bytes.indexOf(Buffer.from(encodeKeyGroup(group(3))));
      assert.ok(at > 0);
      bytes[at + 8] = bytes[at + 8]! ^ 0xff;
      writeFileSync(join(dir, "shared", "kg3.kg"), bytes);
      const r2 = await loadTaskRestore(await loadCheckpoint(chk), ["op"], 0, 1, 8);
      const [, g3] = r2.operators.get("op")!.keyGroups.find(([g]) => g === 3)!;
      assert.throws(() => decodeRestoredKeyGroup(g3), /kg3\.kg.*(corrupt|checksum)/s);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a final state streamed into taskowned/ is format 3 and reads back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-inc3-final-"));
    try {
      const storage = new FsCheckpointStorage(dir, "job");
      const backend = createKeyedStateBackend("heap", { start: 0, end: 7 }, { maxParallelism: 8 });
      const d = backend.getState(new ValueStateDescriptor<number>("n"));
      for (let i = 0; i < 20; i++) {
        backend.setCurrentKey(`k${i}`, assignToKeyGroup(`k${i}`, 8));
        d.update(i);
      }
      const task: TaskSnapshot = {
        operators: { op: { keyedState: { state: backend.snapshot(), timers: [] }, custom: "c" } },
      };
      const written = await storage.writeTaskOwnedStreamed("2-0-final-0", streamTaskSnapshot(task));
      assert.match(written.path, /^taskowned\//);
      const path = join(storage.root, written.path);
      assert.equal(readStateFileHeader(readFileSync(path), path).version, 3);
      const snap = (await readStateFileAt(path, "is missing")) as TaskSnapshot;
      assert.equal(snap.operators.op!.custom, "c");
      let entries = 0;
      for (const [, g] of snap.operators.op!.keyGroups!) entries += decodeKeyGroup(g, path).entries.length;
      assert.equal(entries, 20);
      backend.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
