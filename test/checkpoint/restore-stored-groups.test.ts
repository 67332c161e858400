// A key group left in its state file (format 3) and read when the operator restores it: one whose
// bytes are not in the run encoding is refused as an unknown encoding, naming its file, before any
// of it is read as runs; one in the run encoding is visited entry by entry.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CheckpointMetadata, LoadedCheckpoint } from "../../src/checkpoint/fs-storage.ts";
import { loadTaskRestore } from "../../src/checkpoint/restore.ts";
import { CorruptStateError, encodeKeyGroup } from "../../src/checkpoint/state-file.ts";
import type { StoredKeyGroup } from "../../src/runtime/snapshot.ts";

/** A checkpoint of one task whose file holds key group 2 of operator "op" as a stored key group. */
function checkpointWith(stored: StoredKeyGroup): LoadedCheckpoint {
  const files: Record<string, unknown> = {
    "task-file-0": { operators: { op: { keyGroups: [[2, stored]] } } },
  };
  return {
    root: "/root",
    path: "/root/chk-3",
    metadata: {
      checkpointId: 3,
      tasks: {
        "1": {
          operators: ["op"],
          parallelism: 1,
          maxParallelism: 8,
          subtasks: [{ subtask: 0, file: "task-file-0", keyGroups: undefined, size: 1, finished: false }],
        },
      },
      enumerators: {},
    } as unknown as CheckpointMetadata,
    read: async (rel: string) => {
      if (!(rel in files)) throw new Error(`no file ${rel}`);
      return files[rel];
    },
    location: (rel: string) => `/root/${rel}`,
    exists: async (rel: string) => rel in files,
  };
}

type Visit = (state: string, ns: unknown, mapKey: unknown, value: Uint8Array) => void;
type Restored = { decode(): unknown; visit(visit: Visit): unknown };

async function restoredGroup(bytes: Uint8Array): Promise<Restored> {
  const restore = await loadTaskRestore(checkpointWith({ stored: true, read: () => bytes }), ["op"], 0, 1, 8);
  const [[g, group]] = restore.operators.get("op")!.keyGroups as [[number, Restored]];
  assert.equal(g, 2);
  return group;
}

describe("restore: key groups left in their file", () => {
  it("a stored key group not in the run encoding is refused as an unknown encoding, naming its file", async () => {
    const group = await restoredGroup(new Uint8Array([250, 1, 2]));
    const visited: unknown[] = [];
    assert.throws(
      () => group.visit((...entry) => visited.push(entry)),
      (e: unknown) =>
        e instanceof CorruptStateError && /task-file-0/.test(e.message) && /unknown encoding/.test(e.message),
    );
    assert.deepEqual(visited, []);
  });

  it("a stored key group in the run encoding is visited entry by entry", async () => {
    const bytes = encodeKeyGroup({ entries: [["count", null, "k", 7]], timers: [] });
    const group = await restoredGroup(bytes);
    const visited: unknown[] = [];
    const timers = group.visit((state, ns, mapKey) => visited.push([state, ns, mapKey]));
    assert.deepEqual(visited, [["count", null, "k"]]);
    assert.deepEqual(timers, []);
    assert.deepEqual(group.decode(), { entries: [["count", null, "k", 7]], timers: [] });
  });
});
