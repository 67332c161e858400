// restore.ts edges found by mutation testing, beside restore-unit.test.ts: a subtask whose only
// state is incremental key-group files (no task file), key groups at the very edges of ranges
// (an old range touching the new one in one group, a key-group file at the new range's start),
// a chain the checkpoint does not hold reading no file, and a corrupt key group named by its file.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type {
  CheckpointMetadata,
  LoadedCheckpoint,
  TaskStateEntry,
} from "../../src/checkpoint/fs-storage.ts";
import { loadTaskRestore } from "../../src/checkpoint/restore.ts";
import type { KeyGroupSnapshot } from "../../src/runtime/snapshot.ts";

const group = (g: number): KeyGroupSnapshot => ({ entries: [["count", null, `key-of-${g}`, g]], timers: [] });

function checkpoint(task: TaskStateEntry, files: Record<string, unknown>) {
  const reads: string[] = [];
  const cp: LoadedCheckpoint = {
    root: "/root",
    path: "/root/chk-3",
    metadata: { checkpointId: 3, tasks: { "1": task }, enumerators: {} } as unknown as CheckpointMetadata,
    read: async (rel: string) => {
      reads.push(rel);
      if (!(rel in files)) throw new Error(`no file ${rel}`);
      return structuredClone(files[rel]);
    },
    location: (rel: string) => `/root/${rel}`,
    exists: async (rel: string) => rel in files,
  };
  return { cp, reads };
}

const groupsOf = (r: Awaited<ReturnType<typeof loadTaskRestore>>) =>
  r.operators
    .get("op")!
    .keyGroups.map(([g]) => g)
    .sort((a, b) => a - b);

describe("restore edges", () => {
  it("a subtask with only incremental key-group files: its groups of the new range, the range's first included", async () => {
    // Max parallelism 8 at parallelism 1 before; now 3: subtask 2 owns [6, 7].
    const { cp, reads } = checkpoint(
      {
        operators: ["op"],
        parallelism: 1,
        maxParallelism: 8,
        subtasks: [
          {
            subtask: 0,
            file: undefined,
            keyGroups: { "5": "kg5", "6": "kg6", "7": "kg7" },
            size: 1,
            finished: false,
          },
        ],
      },
      {
        kg5: { uid: "op", group: group(5) },
        kg6: { uid: "op", group: group(6) },
        kg7: { uid: "op", group: group(7) },
      },
    );
    const r = await loadTaskRestore(cp, ["op"], 2, 3, 8);
    assert.deepEqual(groupsOf(r), [6, 7]);
    assert.deepEqual(reads.sort(), ["kg6", "kg7"]);
    assert.deepEqual(r.operators.get("op")!.custom, [], "no custom state: none handed over, not undefined");
  });

  it("an old range touching the new one in a single key group gives that group", async () => {
    // Old: parallelism 2 ([0, 3], [4, 7]); new: parallelism 7, subtask 3 owns [4, 4].
    const { cp } = checkpoint(
      {
        operators: ["op"],
        parallelism: 2,
        maxParallelism: 8,
        subtasks: [
          { subtask: 0, file: "a", keyGroups: undefined, size: 1, finished: false },
          { subtask: 1, file: "b", keyGroups: undefined, size: 1, finished: false },
        ],
      },
      {
        a: { operators: { op: { keyGroups: [[3, group(3)]] } } },
        b: {
          operators: {
            op: {
              keyGroups: [
                [4, group(4)],
                [5, group(5)],
              ],
            },
          },
        },
      },
    );
    assert.deepEqual(groupsOf(await loadTaskRestore(cp, ["op"], 3, 7, 8)), [4]);
    // Parallelism 3, subtask 1 owns [3, 5]: old subtask 0's range ends where it starts.
    assert.deepEqual(groupsOf(await loadTaskRestore(cp, ["op"], 1, 3, 8)), [3, 4, 5]);
  });

  it("a chain the checkpoint does not hold reads no file", async () => {
    const { cp, reads } = checkpoint(
      {
        operators: ["op"],
        parallelism: 1,
        maxParallelism: 8,
        subtasks: [{ subtask: 0, file: "a", keyGroups: { "1": "kg1" }, size: 1, finished: false }],
      },
      { a: { operators: {} }, kg1: { uid: "op", group: group(1) } },
    );
    const r = await loadTaskRestore(cp, ["other"], 0, 1, 8);
    assert.equal(r.operators.size, 0);
    assert.deepEqual(reads, []);
  });

  it("a key group that cannot be decoded is reported with the file holding it", async () => {
    const { cp } = checkpoint(
      {
        operators: ["op"],
        parallelism: 1,
        maxParallelism: 8,
        subtasks: [{ subtask: 0, file: "task-file-0", keyGroups: undefined, size: 1, finished: false }],
      },
      { "task-file-0": { operators: { op: { keyGroups: [[2, new Uint8Array([250, 1, 2])]] } } } },
    );
    // Key groups are decoded when the operator takes them (one at a time, not all up front):
    // the error comes then, naming the file.
    const restore = await loadTaskRestore(cp, ["op"], 0, 1, 8);
    const [[g, group]] = restore.operators.get("op")!.keyGroups as [[number, unknown]];
    assert.equal(g, 2);
    assert.throws(() => (typeof group === "function" ? group() : group), /task-file-0/);
  });
});
