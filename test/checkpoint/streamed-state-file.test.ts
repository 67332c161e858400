// A task's state file streamed key group by key group (streamTaskSnapshot, format 3: key groups
// after the snapshot, with an index) reads back as the snapshot the buffered path (encodeKeyedState,
// then encodeStateFile, format 2) writes, without the empty key groups; it is written through a
// DurableFs that streams and one that does not, and the captured state is released even when the
// write fails.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type DurableFs, FsCheckpointStorage, nodeDurableFs } from "../../src/checkpoint/fs-storage.ts";
import { encodeKeyedState, streamTaskSnapshot } from "../../src/checkpoint/snapshot-writer.ts";
import { decodeStateBytes } from "../../src/checkpoint/indexed-state-file.ts";
import {
  decodeKeyGroup,
  decodeStateFile,
  encodeStateFile,
  readStateFileHeader,
  type StreamedStateFile,
} from "../../src/checkpoint/state-file.ts";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import type { TaskSnapshot } from "../../src/runtime/snapshot.ts";
import type { KeyedStateSnapshot } from "../../src/state/keyed-state-backend.ts";
import { createKeyedStateBackend } from "../../src/state/index.ts";

type Entry = [string, unknown, unknown, unknown];

/** A captured keyed state over fixed entries by key group; counts its releases. */
function fakeState(groups: Map<number, Entry[]>): KeyedStateSnapshot & { released: number } {
  const s = {
    released: 0,
    keyGroups: [...groups.keys()].sort((a, b) => a - b),
    read: (kg: number, emit: (st: string, ns: unknown, k: unknown, v: unknown) => void) => {
      for (const e of groups.get(kg) ?? []) emit(e[0], e[1], e[2], e[3]);
    },
    entries: (kg: number) => groups.get(kg) ?? [],
    release: () => {
      s.released++;
    },
  };
  return s;
}

/** The captured states of the last taskSnapshot(). */
let states: Array<{ released: number }> = [];

/** The same task snapshot, built anew each call (the writers consume it). */
function taskSnapshot(groups: Map<number, Entry[]>): TaskSnapshot {
  const a = fakeState(groups);
  const b = fakeState(new Map([[3, [["other", "ns", "k", { deep: [1, 2n] }] as Entry]]]));
  states = [a, b];
  return {
    operators: {
      "map-1": { operatorState: { offsets: { mode: "split", values: [1, 2] } } },
      "window-2": {
        keyedState: {
          state: a,
          timers: [
            {
              service: "window-timers",
              domain: "event",
              // key group 9 holds timers only
              timers: [
                { key: "t", keyGroup: 9, namespace: 4, time: 100 },
                { key: "a", keyGroup: 2, namespace: 5, time: 7 },
              ],
              namespaceToData: (ns) => ({ window: ns }),
            },
          ],
        },
        pendingCustom: Promise.resolve({ txn: "t-1" }),
        splits: [],
      },
      "sink-3": { keyedState: { state: b, timers: [] }, custom: { done: true } },
    },
    channels: { inputs: [[0, 3, [new Uint8Array([1, 2, 3])]]], outputs: [] },
  };
}

const groups = new Map<number, Entry[]>([
  [
    2,
    [
      ["count", null, "a", 1],
      ["count", null, "b", 2],
      ["win", "w:0:10", "a", [1, 2]],
    ],
  ],
  [5, [["count", null, "c", 3]]],
  [11, [["count", null, "d", 4]]],
]);

/** The pieces of a streamed file, its header written over the start. */
async function streamed(file: StreamedStateFile): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  const header = await file.write(async (bytes) => void pieces.push(bytes));
  const bytes = Buffer.concat(pieces);
  bytes.set(header, 0);
  return bytes;
}

async function buffered(snapshot: TaskSnapshot): Promise<Uint8Array> {
  await encodeKeyedState(snapshot);
  return encodeStateFile(snapshot);
}

/** `snap` with every key group decoded (and, as written, in ascending order per operator). */
function plain(snap: TaskSnapshot): TaskSnapshot {
  for (const op of Object.values(snap.operators)) {
    if (op.keyGroups !== undefined)
      op.keyGroups = op.keyGroups.map(([kg, g]) => [kg, decodeKeyGroup(g, "f")]);
  }
  return snap;
}

const dir = mkdtempSync(join(tmpdir(), "weir-streamed-state-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("streamed state file", () => {
  it("reads back as the buffered writer's snapshot, with every captured state released once", async () => {
    const one = taskSnapshot(groups);
    const two = taskSnapshot(groups);
    const bytes = await streamed(streamTaskSnapshot(two, 0));
    assert.deepEqual(
      states.map((s) => s.released),
      [1, 1],
    );
    assert.equal(readStateFileHeader(bytes, "f").version, 3);
    const read = plain(decodeStateBytes(bytes, "f") as TaskSnapshot);
    assert.deepEqual(read, plain(decodeStateFile(await buffered(one), "f") as TaskSnapshot));
    const op = read.operators["window-2"]!;
    assert.deepEqual(op.custom, { txn: "t-1" });
    assert.deepEqual(
      op.keyGroups!.map(([kg, g]) => [kg, decodeKeyGroup(g, "f").entries.length]),
      [
        [2, 3],
        [5, 1],
        [9, 0],
        [11, 1],
      ],
    );
  });

  it("leaves out the empty key groups a backend lists", async () => {
    const withEmpty = new Map<number, Entry[]>([...groups, [7, []], [0, []]]);
    const streamedFile = decodeStateBytes(
      await streamed(streamTaskSnapshot(taskSnapshot(withEmpty), 0)),
      "f",
    );
    const bufferedFile = decodeStateFile(await buffered(taskSnapshot(withEmpty)), "f") as TaskSnapshot;
    assert.deepEqual(
      (streamedFile as TaskSnapshot).operators["window-2"]!.keyGroups!.map(([kg]) => kg),
      [2, 5, 9, 11],
    );
    assert.deepEqual(plain(streamedFile as TaskSnapshot), plain(bufferedFile));
  });

  it("restores an embedded backend's state written through FsCheckpointStorage, streaming or not", async () => {
    const backend = createKeyedStateBackend("embedded", { start: 0, end: 15 }, {});
    const count = backend.getState(new ValueStateDescriptor<number>("count", Types.NUMBER));
    for (let i = 0; i < 500; i++) {
      backend.setCurrentKey(`k${i}`, assignToKeyGroup(`k${i}`, 16));
      count.update(i);
    }
    const gathering: DurableFs = { ...nodeDurableFs, writeStreamSynced: undefined };
    try {
      for (const fs of [nodeDurableFs, gathering]) {
        const storage = new FsCheckpointStorage(dir, fs === nodeDurableFs ? "streaming" : "gathering", fs);
        const task: TaskSnapshot = {
          operators: { op: { keyedState: { state: backend.snapshot(), timers: [] } } },
        };
        const { path, size } = await storage.writeTaskStateStreamed(1, "1-0", streamTaskSnapshot(task, 0));
        const bytes = readFileSync(join(storage.root, path));
        assert.equal(bytes.length, size);
        const read = decodeStateBytes(bytes, path) as TaskSnapshot;
        const restored = createKeyedStateBackend("embedded", { start: 0, end: 15 }, {});
        try {
          const groupsRead = read.operators.op!.keyGroups!;
          assert.ok(groupsRead.length > 8 && groupsRead.length <= 16); // the non-empty ones
          for (const [kg, g] of groupsRead) restored.restoreKeyGroup(kg, decodeKeyGroup(g, path).entries);
          const c = restored.getState(new ValueStateDescriptor<number>("count", Types.NUMBER));
          for (let i = 0; i < 500; i++) {
            restored.setCurrentKey(`k${i}`, assignToKeyGroup(`k${i}`, 16));
            assert.equal(c.value(), i);
          }
        } finally {
          restored.dispose();
        }
      }
    } finally {
      backend.dispose();
    }
  });

  it("releases the captured state when the write fails", async () => {
    const task = taskSnapshot(groups);
    let puts = 0;
    await assert.rejects(
      streamTaskSnapshot(task, 0).write(async () => {
        if (++puts === 3) throw new Error("disk full");
      }),
      /disk full/,
    );
    assert.deepEqual(
      states.map((s) => s.released),
      [1, 1],
    );
    assert.equal(task.operators["window-2"]!.keyedState, undefined);
  });
});
