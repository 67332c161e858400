// Restoring at another parallelism, without running a job: a checkpoint in memory (metadata and
// files), read by loadTaskRestore for each new subtask. Keyed state goes exactly to the subtask
// owning each key group (from whole task files, encoded key groups, and incremental key-group
// files), list state is split evenly, union state given whole to all, broadcast state taken once;
// custom state of every old subtask is handed over; stateless and finished subtasks are skipped.
// Also validateRestore's refusals, a source's splits, and when a chain restores as finished.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type {
  CheckpointMetadata,
  LoadedCheckpoint,
  TaskStateEntry,
} from "../../src/checkpoint/fs-storage.ts";
import {
  isFinishedOnRestore,
  loadSourceSplits,
  loadTaskRestore,
  validateRestore,
} from "../../src/checkpoint/restore.ts";
import { encodeKeyGroup } from "../../src/checkpoint/state-file.ts";
import {
  decodeRestoredKeyGroup,
  type KeyGroupSnapshot,
  type TaskSnapshot,
} from "../../src/runtime/snapshot.ts";

/** Key group `g`'s snapshot: one entry naming it, so a test sees which groups arrived. */
const group = (g: number): KeyGroupSnapshot => ({ entries: [["count", null, `key-of-${g}`, g]], timers: [] });

function checkpoint(
  tasks: Record<string, TaskStateEntry>,
  files: Record<string, unknown>,
): LoadedCheckpoint & {
  reads: string[];
} {
  const reads: string[] = [];
  const metadata: CheckpointMetadata = {
    format: "weir-checkpoint",
    version: 2,
    checkpointId: 17,
    savepoint: false,
    jobName: "job",
    jobId: "j",
    timestamp: 0,
    tasks,
    enumerators: {},
  } as unknown as CheckpointMetadata;
  return {
    root: "/root",
    path: "/root/chk-17",
    metadata,
    reads,
    read: async (rel: string) => {
      reads.push(rel);
      if (!(rel in files)) throw new Error(`no file ${rel}`);
      return structuredClone(files[rel]);
    },
    location: (rel: string) => `/root/${rel}`,
    exists: async (rel: string) => rel in files,
  };
}

const handle = (
  subtask: number,
  file: string | undefined,
  extra: Partial<TaskStateEntry["subtasks"][0]> = {},
) => ({
  subtask,
  file,
  keyGroups: undefined,
  size: 1,
  finished: false,
  ...extra,
});

/**
 * Max parallelism 8, written at parallelism 2: subtask 0 owns key groups 0–3, subtask 1 owns 4–7.
 * Subtask 0's file holds groups 0, 1 (plain) and 3 (encoded); subtask 1's holds 4 and 6, and the
 * incremental key-group files hold 5 and 7.
 */
function twoToThree() {
  const s0: TaskSnapshot = {
    operators: {
      op: {
        keyGroups: [
          [0, group(0)],
          [1, group(1)],
          [3, encodeKeyGroup(group(3))],
        ],
        operatorState: {
          list: { mode: "split", values: ["a", "b", "c"] },
          union: { mode: "union", values: ["u0"] },
          bc: { mode: "broadcast", values: ["b0"] },
        },
        custom: "custom 0",
      },
      chained: { custom: "chained 0" },
    },
  };
  const s1: TaskSnapshot = {
    operators: {
      op: {
        keyGroups: [
          [4, group(4)],
          [6, group(6)],
        ],
        operatorState: {
          list: { mode: "split", values: ["d", "e"] },
          union: { mode: "union", values: ["u1"] },
          bc: { mode: "broadcast", values: ["b1"] },
        },
        custom: "custom 1",
      },
    },
  };
  return checkpoint(
    {
      "2": {
        operators: ["op", "chained"],
        parallelism: 2,
        maxParallelism: 8,
        subtasks: [handle(0, "s0"), handle(1, "s1", { keyGroups: { "5": "kg5", "7": "kg7" } })],
      },
      "1": {
        operators: ["source"],
        parallelism: 1,
        maxParallelism: 8,
        subtasks: [handle(0, "src0")],
      },
    },
    {
      s0,
      s1,
      kg5: { uid: "op", group: group(5) },
      kg7: { uid: "op", group: encodeKeyGroup(group(7)) },
      src0: { operators: { source: { splits: ["split-1@5", "split-2@0"] } } },
    },
  );
}

const groupsOf = (r: Awaited<ReturnType<typeof loadTaskRestore>>, uid: string) =>
  r.operators
    .get(uid)!
    .keyGroups.map(([g, s]) => [g, decodeRestoredKeyGroup(s).entries[0]![3]])
    .sort((x, y) => (x[0] as number) - (y[0] as number));

describe("restore at another parallelism", () => {
  it("each new subtask gets exactly the key groups of its range, from every kind of file", async () => {
    const cp = twoToThree();
    // keyGroupRangeFor(8, 3, i): [0, 2], [3, 5], [6, 7]
    const want = [
      [
        [0, 0],
        [1, 1],
      ],
      [
        [3, 3],
        [4, 4],
        [5, 5],
      ],
      [
        [6, 6],
        [7, 7],
      ],
    ];
    for (let i = 0; i < 3; i++) {
      const r = await loadTaskRestore(cp, ["op", "chained"], i, 3, 8);
      assert.deepEqual(groupsOf(r, "op"), want[i], `subtask ${i}`);
      assert.equal(r.operators.get("op")!.checkpointId, 17);
    }
  });

  it("reads only the incremental key-group files of its own range", async () => {
    const cp = twoToThree();
    await loadTaskRestore(cp, ["op"], 1, 3, 8);
    assert.ok(cp.reads.includes("kg5"));
    assert.ok(!cp.reads.includes("kg7"), cp.reads.join(", "));
    cp.reads.length = 0;
    await loadTaskRestore(cp, ["op"], 0, 3, 8);
    assert.ok(
      !cp.reads.includes("kg5") && !cp.reads.includes("kg7"),
      "old subtask 1's range does not overlap [0, 2]",
    );
  });

  it("splits list state evenly, gives union state whole, broadcast state once; custom state of every old subtask", async () => {
    const cp = twoToThree();
    const lists: unknown[][] = [];
    for (let i = 0; i < 3; i++) {
      const op = (await loadTaskRestore(cp, ["op"], i, 3, 8)).operators.get("op")!;
      lists.push(op.operatorState.list!.values);
      assert.deepEqual(op.operatorState.list!.mode, "split");
      assert.deepEqual(op.operatorState.union, { mode: "union", values: ["u0", "u1"] });
      assert.deepEqual(op.operatorState.bc, { mode: "broadcast", values: ["b0"] });
      assert.deepEqual(op.custom, ["custom 0", "custom 1"]);
    }
    assert.deepEqual(lists, [["a", "d"], ["b", "e"], ["c"]], "element i to subtask i mod 3");
  });

  it("an operator of the chain with only custom state, and one the checkpoint does not have", async () => {
    const cp = twoToThree();
    const r = await loadTaskRestore(cp, ["op", "chained", "new-op"], 2, 3, 8);
    assert.deepEqual(r.operators.get("chained"), {
      keyGroups: [],
      operatorState: {},
      custom: ["chained 0"],
      checkpointId: 17,
    });
    assert.equal(r.operators.has("new-op"), false);
    assert.equal(r.inFlight, undefined);
  });

  it("at the same parallelism each subtask gets its own state back", async () => {
    const cp = twoToThree();
    const r0 = await loadTaskRestore(cp, ["op"], 0, 2, 8);
    assert.deepEqual(groupsOf(r0, "op"), [
      [0, 0],
      [1, 1],
      [3, 3],
    ]);
    assert.deepEqual(r0.operators.get("op")!.operatorState.list!.values, ["a", "c", "e"]);
    const r1 = await loadTaskRestore(cp, ["op"], 1, 2, 8);
    assert.deepEqual(groupsOf(r1, "op"), [
      [4, 4],
      [5, 5],
      [6, 6],
      [7, 7],
    ]);
  });

  it("scaling down to one subtask gathers every key group", async () => {
    const cp = twoToThree();
    const r = await loadTaskRestore(cp, ["op"], 0, 1, 8);
    assert.deepEqual(
      groupsOf(r, "op").map(([g]) => g),
      [0, 1, 3, 4, 5, 6, 7],
    );
    assert.deepEqual(r.operators.get("op")!.operatorState.list!.values, ["a", "b", "c", "d", "e"]);
  });

  it("skips subtasks without state; a chain not in the checkpoint restores nothing", async () => {
    const cp = checkpoint(
      {
        "3": {
          operators: ["op"],
          parallelism: 2,
          maxParallelism: 8,
          subtasks: [handle(0, undefined), handle(1, "only")],
        },
      },
      { only: { operators: { op: { custom: "c" } } } },
    );
    const r = await loadTaskRestore(cp, ["op"], 0, 1, 8);
    assert.deepEqual(r.operators.get("op")!.custom, ["c"]);
    assert.deepEqual(cp.reads, ["only"]);
    const none = await loadTaskRestore(cp, ["unknown"], 0, 1, 8);
    assert.equal(none.operators.size, 0);
  });

  it("an old subtask whose range does not overlap still gives its operator state, not its key groups", async () => {
    const cp = twoToThree();
    const r = await loadTaskRestore(cp, ["op"], 0, 3, 8);
    const op = r.operators.get("op")!;
    assert.ok(op.custom.includes("custom 1"));
    assert.ok(!op.keyGroups.some(([g]) => g >= 4));
  });
});

describe("validateRestore", () => {
  const target = (uid: string, keyed = true, maxParallelism = 8) => ({
    uid,
    name: `name of ${uid}`,
    keyed,
    maxParallelism,
  });

  it("accepts a job that has every operator with state, at the same max parallelism", () => {
    validateRestore(twoToThree(), [target("op"), target("chained", false), target("source", false)], false);
  });

  it("refuses state of an operator the job does not have, unless told to drop it", () => {
    const cp = twoToThree();
    assert.throws(
      () => validateRestore(cp, [target("op"), target("chained", false)], false),
      /holds state of operator uid 'source', which this job does not have/,
    );
    validateRestore(cp, [target("op")], true);
  });

  it("an operator without state in the checkpoint need not exist", () => {
    const cp = checkpoint(
      {
        "4": {
          operators: ["stateless"],
          parallelism: 1,
          maxParallelism: 8,
          subtasks: [handle(0, undefined)],
        },
      },
      {},
    );
    validateRestore(cp, [], false);
  });

  it("refuses a keyed operator whose max parallelism changed; a non-keyed one may change it", () => {
    const cp = twoToThree();
    assert.throws(
      () =>
        validateRestore(
          cp,
          [target("op", true, 16), target("chained", false), target("source", false)],
          false,
        ),
      /operator 'name of op' \(uid op\) has max parallelism 16, but its state .* was written with max parallelism 8/,
    );
    validateRestore(cp, [target("op"), target("chained", false, 16), target("source", false, 4)], false);
  });

  it("an operator whose only state is incremental key-group files has state", () => {
    const cp = checkpoint(
      {
        "5": {
          operators: ["inc"],
          parallelism: 1,
          maxParallelism: 8,
          subtasks: [handle(0, undefined, { keyGroups: { "1": "kg1" } })],
        },
      },
      {},
    );
    assert.throws(() => validateRestore(cp, [], false), /uid 'inc'/);
    assert.throws(() => validateRestore(cp, [target("inc", true, 4)], false), /max parallelism 4/);
  });
});

describe("a source's splits and finished chains", () => {
  it("gathers the splits every reader of the source held", async () => {
    const cp = checkpoint(
      {
        "1": {
          operators: ["src", "map"],
          parallelism: 3,
          maxParallelism: 8,
          subtasks: [handle(0, "a"), handle(1, undefined), handle(2, "c")],
        },
        "2": { operators: ["sink"], parallelism: 1, maxParallelism: 8, subtasks: [handle(0, "d")] },
      },
      {
        a: { operators: { src: { splits: ["s1"] }, map: {} } },
        c: { operators: { src: { splits: ["s2", "s3"] } } },
        d: { operators: { sink: { custom: 1 } } },
      },
    );
    assert.deepEqual(await loadSourceSplits(cp, "src"), ["s1", "s2", "s3"]);
    assert.deepEqual(cp.reads, ["a", "c"], "only the source's task files");
    assert.deepEqual(await loadSourceSplits(cp, "map"), []);
    assert.deepEqual(await loadSourceSplits(twoToThree(), "source"), ["split-1@5", "split-2@0"]);
  });

  it("a chain restores finished only when every operator's task had finished in every subtask", () => {
    const done = (n: number, finished: boolean[]) => ({
      operators: [`op${n}`],
      parallelism: finished.length,
      maxParallelism: 8,
      subtasks: finished.map((f, i) => handle(i, undefined, { finished: f })),
    });
    const cp = checkpoint(
      { "1": done(1, [true, true]), "2": done(2, [true, false]), "3": done(3, []), "4": done(4, [true]) },
      {},
    );
    assert.equal(isFinishedOnRestore(cp, ["op1"]), true);
    assert.equal(isFinishedOnRestore(cp, ["op1", "op4"]), true);
    assert.equal(isFinishedOnRestore(cp, ["op1", "op2"]), false);
    assert.equal(isFinishedOnRestore(cp, ["op3"]), false, "no subtasks: not known finished");
    assert.equal(isFinishedOnRestore(cp, ["op1", "unknown"]), false);
    assert.equal(isFinishedOnRestore(cp, []), false);
  });
});
