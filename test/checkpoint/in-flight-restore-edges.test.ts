// loadInFlight on checkpoints held in memory (no job): a task with two network inputs gets each
// edge's input buffers back at that edge's own channels (and no empty ones); a rescaled keyed edge
// reads only the old consumers whose key groups overlap the new subtask's; and a checkpoint of an
// older version (no edge names) still gives its in-flight data back at the same parallelism, and is
// refused only at another; unreadable data names the old consumer's file.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type {
  CheckpointMetadata,
  LoadedCheckpoint,
  TaskStateEntry,
} from "../../src/checkpoint/fs-storage.ts";
import {
  type InFlightInput,
  type InFlightLayout,
  loadInFlight,
  validateInFlight,
} from "../../src/checkpoint/in-flight-restore.ts";
import { CorruptStateError } from "../../src/checkpoint/state-file.ts";
import type { PartitionerKind, PartitionerSpec } from "../../src/runtime/partitioners.ts";
import type { ChannelState, TaskSnapshot } from "../../src/runtime/snapshot.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

/** A checkpoint in memory whose reads are recorded in `reads`. */
function checkpoint(
  tasks: Record<string, TaskStateEntry>,
  files: Record<string, TaskSnapshot>,
): LoadedCheckpoint & { reads: string[] } {
  const metadata: CheckpointMetadata = {
    format: "weir-checkpoint",
    version: 1,
    checkpointId: 1,
    savepoint: false,
    jobName: "j",
    jobId: "job",
    timestamp: 0,
    inFlightData: true,
    enumerators: {},
    tasks,
  };
  const reads: string[] = [];
  return {
    root: "/mem",
    path: "/mem/chk-1",
    metadata,
    reads,
    async read(rel) {
      reads.push(rel);
      const f = files[rel];
      if (f === undefined) throw new Error(`no file ${rel}`);
      return f;
    },
    location: (rel) => `/mem/${rel}`,
    exists: async (rel) => rel in files,
  };
}

function task(
  name: string,
  parallelism: number,
  io: { inputs?: Array<[string, PartitionerKind]>; outputs?: Array<[string, PartitionerKind]> } | undefined,
  maxParallelism = 128,
): TaskStateEntry {
  const edges = (l: Array<[string, PartitionerKind]> | undefined) =>
    (l ?? []).map(([edge, partitioner]) => ({ edge, partitioner }));
  return {
    operators: [name],
    parallelism,
    maxParallelism,
    subtasks: Array.from({ length: parallelism }, (_, subtask) => ({
      subtask,
      file: `chk-1/${name}-${subtask}.state`,
      keyGroups: undefined,
      size: 1,
      finished: false,
    })),
    ...(io === undefined ? {} : { inputs: edges(io.inputs), outputs: edges(io.outputs) }),
  };
}

const snapshot = (channels: ChannelState): TaskSnapshot => ({ operators: {}, channels });
const none = snapshot({ inputs: [], outputs: [] });

function input(edge: string, spec: PartitionerSpec, p: number, c: number, first?: number): InFlightInput {
  return {
    edge,
    description: edge,
    member: 0,
    inputIndex: 0,
    partitioner: spec,
    serializer: undefined as never, // no records are decoded in these tests
    producerParallelism: p,
    consumerParallelism: c,
    maxParallelism: 128,
    channels: first === undefined ? undefined : { first, producers: Array.from({ length: p }, (_, i) => i) },
  };
}

describe("loadInFlight edges", () => {
  it("gives a two-input task each edge's input buffers at that edge's channels, without empty ones", async () => {
    const a = bytes(1, 2, 3);
    const b = bytes(4, 5);
    const cp = checkpoint(
      {
        a: task("a", 1, { outputs: [["a->c", "forward"]] }),
        b: task("b", 1, { outputs: [["b->c", "forward"]] }),
        c: task("c", 1, {
          inputs: [
            ["a->c", "forward"],
            ["b->c", "forward"],
          ],
        }),
      },
      {
        "chk-1/a-0.state": none,
        "chk-1/b-0.state": none,
        // channel 0 is a->c's, channel 1 b->c's; an empty entry of a->c as well
        "chk-1/c-0.state": snapshot({
          inputs: [
            [0, 0, [a]],
            [1, 2, [b]],
            [0, 0, []],
          ],
          outputs: [],
        }),
      },
    );
    const layout: InFlightLayout = {
      operators: ["c"],
      parallelism: 1,
      inputs: [input("a->c", { kind: "forward" }, 1, 1, 0), input("b->c", { kind: "forward" }, 1, 1, 1)],
      outputs: [],
    };
    const r = await loadInFlight(cp, layout, 0);
    assert.deepEqual(r, {
      inputs: [
        [0, 0, [a]],
        [1, 2, [b]],
      ],
      outputs: [],
      records: [],
    });
  });

  it("reads nothing from a savepoint or an aligned checkpoint: they hold no in-flight data", async () => {
    const tasks = {
      a: task("a", 1, { outputs: [["a->c", "forward"]] }),
      c: task("c", 1, { inputs: [["a->c", "forward"]] }),
    };
    const files = {
      "chk-1/a-0.state": none,
      // Whatever a file held, neither kind of checkpoint is read for in-flight data.
      "chk-1/c-0.state": snapshot({ inputs: [[0, 0, [bytes(9)]]], outputs: [] }),
    };
    const layout: InFlightLayout = {
      operators: ["c"],
      parallelism: 1,
      inputs: [input("a->c", { kind: "forward" }, 1, 1, 0)],
      outputs: [],
    };
    const savepoint = checkpoint(tasks, files);
    savepoint.metadata.savepoint = true;
    const aligned = checkpoint(tasks, files);
    aligned.metadata.inFlightData = false;
    for (const cp of [savepoint, aligned]) {
      assert.equal(await loadInFlight(cp, layout, 0), undefined);
      await validateInFlight(cp, new Map([["a->c", "forward"]]), new Map([["c", 2]]));
      // Nor refused when the new job no longer has the edge (a changed topology restores from a
      // savepoint; an unaligned checkpoint with data on that edge would be refused).
      await validateInFlight(cp, new Map(), new Map([["c", 2]]));
      assert.deepEqual(cp.reads, [], "no state file read");
    }
    // The same files as an unaligned checkpoint: read, and the buffer given back.
    const unaligned = checkpoint(tasks, files);
    assert.deepEqual((await loadInFlight(unaligned, layout, 0))?.inputs, [[0, 0, [bytes(9)]]]);
    assert.deepEqual(unaligned.reads, ["chk-1/c-0.state"]);
  });

  it("a rescaled keyed edge reads only the old consumers whose key groups overlap", async () => {
    // src (p=1) -> hash -> k (p=2, max 128), restored with k at p=4: subtask 0 owns 0..31, only
    // in old consumer 0's groups (0..63).
    const cp = checkpoint(
      {
        src: task("src", 1, { outputs: [["s->k", "hash"]] }),
        k: task("k", 2, { inputs: [["s->k", "hash"]] }),
      },
      { "chk-1/src-0.state": none, "chk-1/k-0.state": none, "chk-1/k-1.state": none },
    );
    const layout: InFlightLayout = {
      operators: ["k"],
      parallelism: 4,
      inputs: [input("s->k", { kind: "hash", keySelector: (v) => v }, 1, 4, 0)],
      outputs: [],
    };
    assert.equal(await loadInFlight(cp, layout, 0), undefined);
    assert.deepEqual([...new Set(cp.reads)].sort(), ["chk-1/k-0.state", "chk-1/src-0.state"]);
  });

  it("restores the in-flight data of a checkpoint without edge names at the same parallelism", async () => {
    const x = bytes(9, 9);
    const y = bytes(7);
    const cp = checkpoint(
      { t: task("t", 2, undefined), u: task("u", 1, undefined) },
      {
        "chk-1/t-0.state": none,
        "chk-1/t-1.state": snapshot({
          inputs: [
            [0, 0, [x]],
            [1, 0, []],
          ],
          outputs: [[[], [y]]],
        }),
      },
    );
    const layout: InFlightLayout = { operators: ["t"], parallelism: 2, inputs: [], outputs: [] };
    assert.deepEqual(await loadInFlight(cp, layout, 1), {
      inputs: [[0, 0, [x]]],
      outputs: [[0, 1, [y]]],
      records: [],
    });
    assert.equal(await loadInFlight(cp, layout, 0), undefined);
    // At another parallelism nothing is restored (validateInFlight refuses such a restore first).
    assert.equal(await loadInFlight(cp, { ...layout, parallelism: 3 }, 1), undefined);
  });

  it("validateInFlight refuses a checkpoint without edge names only at another parallelism", async () => {
    const cp = checkpoint(
      { t: task("t", 2, undefined) },
      { "chk-1/t-0.state": none, "chk-1/t-1.state": snapshot({ inputs: [[0, 0, [bytes(1)]]], outputs: [] }) },
    );
    await validateInFlight(cp, new Map(), new Map([["t", 2]]));
    await validateInFlight(cp, new Map(), new Map());
    await assert.rejects(validateInFlight(cp, new Map(), new Map([["t", 3]])), /same parallelism \(2\)/);
  });

  it("validateInFlight at another parallelism passes old subtasks without a file or without channels", async () => {
    // A checkpoint without edge names: subtask 0 finished (no state file), subtask 1 snapshotted
    // no channel state (an aligned checkpoint's task): neither holds in-flight data.
    const t = task("t", 2, undefined);
    t.subtasks[0] = { ...t.subtasks[0]!, file: undefined, finished: true };
    const cp = checkpoint({ t }, { "chk-1/t-1.state": { operators: {} } as TaskSnapshot });
    await validateInFlight(cp, new Map(), new Map([["t", 3]]));
    assert.deepEqual(cp.reads, ["chk-1/t-1.state"]);
  });

  it("validateInFlight lets an edge go whose in-flight entries are all empty", async () => {
    const at = (chunk: Uint8Array) =>
      checkpoint(
        {
          src: task("src", 1, { outputs: [["s->k", "forward"]] }),
          k: task("k", 1, { inputs: [["s->k", "forward"]] }),
        },
        {
          "chk-1/src-0.state": none,
          "chk-1/k-0.state": snapshot({ inputs: [[0, 0, [chunk]]], outputs: [] }),
        },
      );
    await validateInFlight(at(bytes()), new Map(), new Map());
    await assert.rejects(
      validateInFlight(at(bytes(1)), new Map(), new Map()),
      /on edge 's->k', which this job no longer has/,
    );
    // A checkpoint without edge names, at another parallelism: an entry without chunks is no data.
    const old = (chunks: Uint8Array[]) =>
      checkpoint(
        { t: task("t", 1, undefined) },
        { "chk-1/t-0.state": snapshot({ inputs: [[0, 0, chunks]], outputs: [[[]]] }) },
      );
    await validateInFlight(old([]), new Map(), new Map([["t", 2]]));
    await assert.rejects(
      validateInFlight(old([bytes(1)]), new Map(), new Map([["t", 2]])),
      /same parallelism \(1\)/,
    );
  });

  it("refuses, as corrupt, metadata that names an input edge without a producer", async () => {
    const cp = checkpoint(
      { k: task("k", 1, { inputs: [["s->k", "rebalance"]] }) },
      { "chk-1/k-0.state": snapshot({ inputs: [[0, 0, [bytes(1)]]], outputs: [] }) },
    );
    const layout: InFlightLayout = {
      operators: ["k"],
      parallelism: 1,
      inputs: [input("s->k", { kind: "rebalance" }, 1, 1, 0)],
      outputs: [],
    };
    const corrupt = (e: unknown) =>
      e instanceof CorruptStateError &&
      e.message.includes("/mem/chk-1/_metadata") &&
      e.message.includes("names edge 's->k' as an input of 'k', but no task as its producer");
    await assert.rejects(loadInFlight(cp, layout, 0), corrupt);
    await assert.rejects(validateInFlight(cp, new Map([["s->k", "rebalance"]]), new Map()), corrupt);
  });

  it("names the old consumer's file whose in-flight data cannot be read", async () => {
    // src (p=1) -> rebalance -> k (p=2), restored with k at p=3: new subtask 1 takes old channel
    // 1, which k-1 holds: a length header of 5 bytes with nothing after it.
    const cp = checkpoint(
      {
        src: task("src", 1, { outputs: [["s->k", "rebalance"]] }),
        k: task("k", 2, { inputs: [["s->k", "rebalance"]] }),
      },
      {
        "chk-1/src-0.state": none,
        "chk-1/k-0.state": none,
        "chk-1/k-1.state": snapshot({ inputs: [[0, 0, [bytes(5, 0, 0, 0)]]], outputs: [] }),
      },
    );
    const layout: InFlightLayout = {
      operators: ["k"],
      parallelism: 3,
      inputs: [input("s->k", { kind: "rebalance" }, 1, 3, 0)],
      outputs: [],
    };
    await assert.rejects(loadInFlight(cp, layout, 1), (e: Error) => {
      assert.match(e.message, /\/mem\/chk-1\/k-1\.state/);
      assert.match(e.message, /\/mem\/chk-1\/src-0\.state/);
      return true;
    });
    // The producer had finished (no state file, so no unsent part): the checkpoint is named.
    const src = cp.metadata.tasks.src!;
    src.subtasks[0] = { ...src.subtasks[0]!, file: undefined, finished: true };
    await assert.rejects(loadInFlight(cp, layout, 1), (e: Error) => {
      assert.match(e.message, /\/mem\/chk-1\/k-1\.state/);
      assert.match(e.message, /whose unsent part is in '\/mem\/chk-1'\)/);
      return true;
    });
  });
});
