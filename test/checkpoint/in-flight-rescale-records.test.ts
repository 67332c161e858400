// In-flight data of an unaligned checkpoint restored as records at another parallelism, for every
// partitioner that redistributes (no job: checkpoints held in memory, records written by a real
// RecordWriter). Each old channel holds records in both parts — what the consumer had received but
// not processed (its input state) and what the producer had not sent yet (its output state) — and
// the new subtasks, together, must get every one of them exactly once, each where it belongs:
// - keyed (hash): at the subtask that owns the record's key group now, with a max parallelism of 4
//   so that old and new key-group ranges meet at single groups (2 -> 3 and 3 -> 2);
// - rebalance: whole old channels round robin (old channel k to new subtask k mod n), as
//   docs/checkpoints.md says; an edge keyed now that was rebalanced: each record at its owner;
// - global: all at subtask 0 (Flink's FIRST mapping), none elsewhere;
// - broadcast: old consumer 0's records to every new subtask (its broadcast state is the one every
//   new subtask restores), none of the other old consumers' copies;
// - custom: where the user's partitioner sends each key at the new parallelism; a partitioner that
//   answers outside 0..n-1 (too large, or negative as `key % n` of a negative key) fails the
//   restore, as it fails the live edge, rather than dropping data;
// - a broadcast edge that is not broadcast any more: refused by the task as well (each consumer's
//   copy shared out would duplicate records).
// Within one old channel the records keep their order (input part, then output part).
// And a task in the middle of the job gets both its input and its output part back: as buffers
// at the same parallelism, and its output as buffers beside its input as records when only its
// input edge was rescaled.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type {
  CheckpointMetadata,
  LoadedCheckpoint,
  TaskStateEntry,
} from "../../src/checkpoint/fs-storage.ts";
import { type InFlightLayout, loadInFlight } from "../../src/checkpoint/in-flight-restore.ts";
import { assignToKeyGroup, operatorIndexForKeyGroup } from "../../src/core/key-groups.ts";
import { Types, WeirError } from "../../src/index.ts";
import { NetworkBufferPool } from "../../src/network/buffer-pool.ts";
import { RecordWriter } from "../../src/network/record-writer.ts";
import { ResultSubpartition } from "../../src/network/result-subpartition.ts";
import { type PartitionerKind, type PartitionerSpec, consumersOf } from "../../src/runtime/partitioners.ts";
import type { ChannelState, TaskSnapshot } from "../../src/runtime/snapshot.ts";

const BUFFER_SIZE = 64;
const serializer = Types.STRING.createSerializer();

/** The bytes a record writer sends for these records (timestamps: their index * 10). */
function encode(values: string[]): Uint8Array[] {
  if (values.length === 0) return [];
  const pool = new NetworkBufferPool(BUFFER_SIZE, 4096);
  const sp = new ResultSubpartition(pool, 1_000_000, () => {});
  const buffers: Uint8Array[] = [];
  sp.receiver = { deliver: (b) => buffers.push(b.memory.slice(0, b.size)) };
  const writer = new RecordWriter([sp], { selectChannel: () => 0 }, serializer, BUFFER_SIZE, "test", -1);
  for (const v of values) writer.emit(v, timestampOf(v));
  writer.flushAll();
  return buffers;
}

/** Records are `i/j/n:key` (old channel i -> j, n-th record); n gives the timestamp. */
const timestampOf = (v: string) => 10 * Number(v.split(":")[0]!.split("/")[2]) + 1;
const keyOf = (v: string) => v.split(":")[1]!;

/** The records of old channel i -> j: `i/j/n:key`, the first half held by j, the rest by i. */
type ChannelRecords = (i: number, j: number) => string[];

interface Edge {
  kind: PartitionerKind;
  producers: number;
  oldConsumers: number;
  maxParallelism: number;
}

/** A checkpoint of src (p) -> edge -> dst (c) whose channels hold `records`, in memory. */
function checkpoint(edge: Edge, records: ChannelRecords): LoadedCheckpoint & { reads: string[] } {
  const { kind, producers: p, oldConsumers: c, maxParallelism } = edge;
  const files: Record<string, TaskSnapshot> = {};
  const inputs: ChannelState["inputs"][] = Array.from({ length: c }, () => []);
  for (let i = 0; i < p; i++) {
    const consumers = consumersOf(kind, i, p, c);
    const outputs = consumers.map((j) => {
      const all = records(i, j);
      const held = Math.ceil(all.length / 2);
      // Consumer j's channel from producer i is its i-th input channel (every edge here is all-to-all).
      if (held > 0) inputs[j]!.push([i, 0, encode(all.slice(0, held))]);
      return encode(all.slice(held));
    });
    files[`chk-1/src-${i}.state`] = { operators: {}, channels: { inputs: [], outputs: [outputs] } };
  }
  for (let j = 0; j < c; j++) {
    files[`chk-1/dst-${j}.state`] = { operators: {}, channels: { inputs: inputs[j]!, outputs: [] } };
  }
  const entry = (name: string, parallelism: number, io: "inputs" | "outputs"): TaskStateEntry => ({
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
    inputs: io === "inputs" ? [{ edge: "src->dst", partitioner: kind }] : [],
    outputs: io === "outputs" ? [{ edge: "src->dst", partitioner: kind }] : [],
  });
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
    tasks: { src: entry("src", p, "outputs"), dst: entry("dst", c, "inputs") },
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

/** What each new subtask of dst restores: its records, in order, with their timestamps checked. */
async function restoreAt(
  cp: LoadedCheckpoint & { reads?: string[] },
  edge: Edge,
  spec: PartitionerSpec,
  n: number,
): Promise<string[][]> {
  const out: string[][] = [];
  for (let c = 0; c < n; c++) {
    const layout: InFlightLayout = {
      operators: ["dst"],
      parallelism: n,
      inputs: [
        {
          edge: "src->dst",
          description: "'src' -> 'dst'",
          member: 0,
          inputIndex: 0,
          partitioner: spec,
          serializer,
          producerParallelism: edge.producers,
          consumerParallelism: n,
          maxParallelism: edge.maxParallelism,
          channels: { first: 0, producers: Array.from({ length: edge.producers }, (_, i) => i) },
        },
      ],
      outputs: [],
    };
    const before = cp.reads?.length ?? 0;
    const r = await loadInFlight(cp, layout, c);
    // One subtask's restore reads each state file once, however many old channels it holds.
    const reads = cp.reads?.slice(before) ?? [];
    assert.deepEqual(reads, [...new Set(reads)], `subtask ${c} read a state file twice`);
    assert.ok(r === undefined || (r.inputs.length === 0 && r.outputs.length === 0), "restored as records");
    const values = (r?.records ?? []).flatMap((x) => {
      assert.deepEqual(x.timestamps, (x.values as string[]).map(timestampOf));
      return x.values as string[];
    });
    out.push(values);
  }
  return out;
}

/** Keys of every key group of a max parallelism of 4 (the same keys each run: hashing is fixed). */
function keysPerGroup(maxParallelism: number, perGroup: number): string[] {
  const byGroup: string[][] = Array.from({ length: maxParallelism }, () => []);
  for (let x = 0; byGroup.some((g) => g.length < perGroup); x++) {
    const key = `key${x}`;
    const g = byGroup[assignToKeyGroup(key, maxParallelism)]!;
    if (g.length < perGroup) g.push(key);
  }
  return byGroup.flat();
}

/** Every record of every old channel, channel by channel. */
function allRecords(edge: Edge, records: ChannelRecords): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < edge.producers; i++)
    for (const j of consumersOf(edge.kind, i, edge.producers, edge.oldConsumers)) out.push(records(i, j));
  return out;
}

/** `got` holds exactly the records of `expected` (as many times), each channel's in its order. */
function assertSameRecordsInChannelOrder(got: string[], expected: string[][], what: string): void {
  assert.deepEqual([...got].sort(), expected.flat().sort(), `${what}: the records`);
  for (const channel of expected) {
    const mine = got.filter((v) => channel.includes(v));
    assert.deepEqual(
      mine,
      channel.filter((v) => mine.includes(v)),
      `${what}: one old channel's order`,
    );
  }
}

describe("in-flight records restored at another parallelism", () => {
  for (const [p, oldC, newC] of [
    [2, 2, 3],
    [2, 3, 2],
    [1, 2, 3],
    [2, 3, 1],
  ] as const) {
    it(`keyed edge, max parallelism 4, src p=${p}, dst ${oldC} -> ${newC}: each record once, at its key group's owner`, async () => {
      const edge: Edge = { kind: "hash", producers: p, oldConsumers: oldC, maxParallelism: 4 };
      const keys = keysPerGroup(4, 3);
      // Channel i -> j carries the keys whose group old consumer j owns, several records each.
      const records: ChannelRecords = (i, j) => {
        const mine = keys.filter((k) => operatorIndexForKeyGroup(4, oldC, assignToKeyGroup(k, 4)) === j);
        return mine.flatMap((k, n) => [0, 1].map((r) => `${i}/${j}/${n * 2 + r}:${k}`));
      };
      const spec: PartitionerSpec = { kind: "hash", keySelector: (v: string) => keyOf(v) };
      const got = await restoreAt(checkpoint(edge, records), edge, spec, newC);
      const all = allRecords(edge, records);
      assert.ok(all.flat().length >= 4 * 3 * 2 * p, "every key group has records in flight");
      for (let c = 0; c < newC; c++) {
        const expected = all.map((ch) =>
          ch.filter((v) => operatorIndexForKeyGroup(4, newC, assignToKeyGroup(keyOf(v), 4)) === c),
        );
        assertSameRecordsInChannelOrder(got[c]!, expected, `new subtask ${c}`);
      }
    });
  }

  for (const [p, oldC, newC] of [
    [2, 2, 3],
    [1, 3, 2],
  ] as const) {
    it(`global edge, src p=${p}, dst ${oldC} -> ${newC}: every record at subtask 0 only`, async () => {
      const edge: Edge = { kind: "global", producers: p, oldConsumers: oldC, maxParallelism: 128 };
      // A global edge sends everything to consumer 0; its channels to the others stay empty.
      const records: ChannelRecords = (i, j) =>
        j === 0 ? Array.from({ length: 7 }, (_, n) => `${i}/${j}/${n}:g${n}`) : [];
      const got = await restoreAt(checkpoint(edge, records), edge, { kind: "global" }, newC);
      assertSameRecordsInChannelOrder(got[0]!, allRecords(edge, records), "subtask 0");
      for (let c = 1; c < newC; c++) assert.deepEqual(got[c], [], `subtask ${c} gets none`);
    });
  }

  for (const [p, oldC, newC] of [
    [1, 2, 3],
    [2, 3, 2],
  ] as const) {
    it(`broadcast edge, src p=${p}, dst ${oldC} -> ${newC}: every subtask gets old consumer 0's records once`, async () => {
      const edge: Edge = { kind: "broadcast", producers: p, oldConsumers: oldC, maxParallelism: 128 };
      // Each consumer received every record; each had processed a different prefix of it.
      const records: ChannelRecords = (i, j) =>
        Array.from({ length: 9 }, (_, n) => `${i}/${j}/${n}:b${n}`).slice(j * 2);
      const got = await restoreAt(checkpoint(edge, records), edge, { kind: "broadcast" }, newC);
      const ofConsumer0 = allRecords(edge, records).filter((ch) => ch[0]!.split("/")[1] === "0");
      for (let c = 0; c < newC; c++) assertSameRecordsInChannelOrder(got[c]!, ofConsumer0, `subtask ${c}`);
    });
  }

  for (const [p, oldC, newC] of [
    [2, 2, 3],
    [2, 3, 2],
  ] as const) {
    it(`rebalance edge, src p=${p}, dst ${oldC} -> ${newC}: whole old channels dealt out round robin`, async () => {
      const edge: Edge = { kind: "rebalance", producers: p, oldConsumers: oldC, maxParallelism: 128 };
      const records: ChannelRecords = (i, j) =>
        Array.from({ length: 3 + i + j }, (_, n) => `${i}/${j}/${n}:r`);
      const got = await restoreAt(checkpoint(edge, records), edge, { kind: "rebalance" }, newC);
      // Old channel k (producer by producer, consumer by consumer) goes whole to new subtask k mod p.
      const all = allRecords(edge, records);
      for (let c = 0; c < newC; c++) {
        assert.deepEqual(got[c], all.filter((_, k) => k % newC === c).flat(), `new subtask ${c}`);
      }
    });
  }

  it("an edge keyed now that was not (rebalance -> keyBy), 2 -> 3: each record at its key group's owner", async () => {
    // The old consumers' key groups say nothing of where a rebalanced record's key is: every old
    // channel is read, and each record kept by the owner of its key group.
    const edge: Edge = { kind: "rebalance", producers: 2, oldConsumers: 2, maxParallelism: 4 };
    const keys = keysPerGroup(4, 2);
    const records: ChannelRecords = (i, j) => keys.map((k, n) => `${i}/${j}/${n}:${k}`);
    const spec: PartitionerSpec = { kind: "hash", keySelector: (v: string) => keyOf(v) };
    const got = await restoreAt(checkpoint(edge, records), edge, spec, 3);
    const all = allRecords(edge, records);
    for (let c = 0; c < 3; c++) {
      const expected = all.map((ch) =>
        ch.filter((v) => operatorIndexForKeyGroup(4, 3, assignToKeyGroup(keyOf(v), 4)) === c),
      );
      assertSameRecordsInChannelOrder(got[c]!, expected, `new subtask ${c}`);
    }
  });

  it("custom partitioner, dst 2 -> 3: each record where the partitioner sends it at p=3", async () => {
    const edge: Edge = { kind: "custom", producers: 2, oldConsumers: 2, maxParallelism: 128 };
    // Old consumer j got the keys k with k % 2 === j.
    const records: ChannelRecords = (i, j) =>
      Array.from({ length: 8 }, (_, n) => `${i}/${j}/${n}:${n * 2 + j}`);
    const spec: PartitionerSpec = {
      kind: "custom",
      partitioner: (key: number, n: number) => key % n,
      keySelector: (v: string) => Number(keyOf(v)),
    };
    const got = await restoreAt(checkpoint(edge, records), edge, spec, 3);
    const all = allRecords(edge, records);
    for (let c = 0; c < 3; c++) {
      const expected = all.map((ch) => ch.filter((v) => Number(keyOf(v)) % 3 === c));
      assertSameRecordsInChannelOrder(got[c]!, expected, `new subtask ${c}`);
    }
  });

  it("custom partitioner answering outside 0..n-1 at the new parallelism fails the restore, naming the edge", async () => {
    const edge: Edge = { kind: "custom", producers: 1, oldConsumers: 4, maxParallelism: 128 };
    const records: ChannelRecords = (i, j) => [`${i}/${j}/0:${j}`, `${i}/${j}/1:${j}`];
    // Written for 4 channels and never told the real count: subtasks 2 and 3 do not exist at p=2.
    const spec: PartitionerSpec = {
      kind: "custom",
      partitioner: (key: number) => key,
      keySelector: (v: string) => Number(keyOf(v)),
    };
    // The user's partitioner is named as the cause, not the checkpoint (INVALID_ARGUMENT, not IO).
    const partitionerError = (value: number) => (e: unknown) =>
      e instanceof WeirError &&
      e.code === "INVALID_ARGUMENT" &&
      e.message.includes(
        `the custom partitioner of edge 'src' -> 'dst' returned ${value}; it must return an integer in 0..1`,
      );
    await assert.rejects(restoreAt(checkpoint(edge, records), edge, spec, 2), partitionerError(2));
    // `key % n` of a negative key is negative in JavaScript: refused too, not dropped.
    const negative: PartitionerSpec = {
      kind: "custom",
      partitioner: (key: number, n: number) => (key - 3) % n,
      keySelector: (v: string) => Number(keyOf(v)),
    };
    await assert.rejects(restoreAt(checkpoint(edge, records), edge, negative, 2), partitionerError(-1));
  });

  it("in-flight data of a broadcast edge that is not broadcast any more: the task refuses it too", async () => {
    // validateInFlight refuses such a restore before any task starts; a task given one anyway
    // must not share out every consumer's copy of the same records (they would be duplicated).
    const edge: Edge = { kind: "broadcast", producers: 1, oldConsumers: 2, maxParallelism: 128 };
    const records: ChannelRecords = (i, j) => [`${i}/${j}/0:x`, `${i}/${j}/1:y`];
    await assert.rejects(
      restoreAt(checkpoint(edge, records), edge, { kind: "rebalance" }, 3),
      /edge 'src' -> 'dst' was BROADCAST when the checkpoint was taken.*savepoint/,
    );
  });
});

/** A checkpoint in memory of src -> (rebalance) -> mid -> (hash) -> sink, from its files. */
function pipeline(srcP: number, files: Record<string, TaskSnapshot>): LoadedCheckpoint {
  const entry = (
    name: string,
    parallelism: number,
    inputs: Array<[string, PartitionerKind]>,
    outputs: Array<[string, PartitionerKind]>,
  ): TaskStateEntry => ({
    operators: [name],
    parallelism,
    maxParallelism: 128,
    subtasks: Array.from({ length: parallelism }, (_, subtask) => ({
      subtask,
      file: `chk-1/${name}-${subtask}.state`,
      keyGroups: undefined,
      size: 1,
      finished: false,
    })),
    inputs: inputs.map(([edge, partitioner]) => ({ edge, partitioner })),
    outputs: outputs.map(([edge, partitioner]) => ({ edge, partitioner })),
  });
  const none: TaskSnapshot = { operators: {}, channels: { inputs: [], outputs: [[]] } };
  const all: Record<string, TaskSnapshot> = {};
  for (let i = 0; i < srcP; i++) all[`chk-1/src-${i}.state`] = none;
  for (const f of ["chk-1/mid-0.state", "chk-1/mid-1.state", "chk-1/sink-0.state", "chk-1/sink-1.state"])
    all[f] = none;
  Object.assign(all, files);
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
    tasks: {
      src: entry("src", srcP, [], [["src->mid", "rebalance"]]),
      mid: entry("mid", 2, [["src->mid", "rebalance"]], [["mid->sink", "hash"]]),
      sink: entry("sink", 2, [["mid->sink", "hash"]], []),
    },
  };
  return {
    root: "/mem",
    path: "/mem/chk-1",
    metadata,
    async read(rel) {
      const f = all[rel];
      if (f === undefined) throw new Error(`no file ${rel}`);
      return f;
    },
    location: (rel) => `/mem/${rel}`,
    exists: async (rel) => rel in all,
  };
}

/** mid's layout in the new job: src at `srcP`, mid and sink at 2 as before. */
function midLayout(srcP: number): InFlightLayout {
  return {
    operators: ["mid"],
    parallelism: 2,
    inputs: [
      {
        edge: "src->mid",
        description: "'src' -> 'mid'",
        member: 0,
        inputIndex: 0,
        partitioner: { kind: "rebalance" },
        serializer,
        producerParallelism: srcP,
        consumerParallelism: 2,
        maxParallelism: 128,
        channels: { first: 0, producers: Array.from({ length: srcP }, (_, i) => i) },
      },
    ],
    outputs: [
      {
        edge: "mid->sink",
        partitioner: "hash",
        producerParallelism: 2,
        consumerParallelism: 2,
        maxParallelism: 128,
        subpartitions: [0, 1],
      },
    ],
  };
}

describe("a task in the middle of the job: its input and its output in flight", () => {
  it("at the same parallelism: both parts come back as buffers, the output per subpartition, without empty ones", async () => {
    const [a] = encode(["1/0/0:x"]);
    const [b] = encode(["0/1/0:y"]);
    const cp = pipeline(2, {
      // mid-0 had not processed `a` from src-1 (its input channel 1) and not sent `b` to sink-1.
      "chk-1/mid-0.state": { operators: {}, channels: { inputs: [[1, 0, [a!]]], outputs: [[[], [b!]]] } },
    });
    assert.deepEqual(await loadInFlight(cp, midLayout(2), 0), {
      inputs: [[1, 0, [a!]]],
      outputs: [[0, 1, [b!]]],
      records: [],
    });
    assert.equal(await loadInFlight(cp, midLayout(2), 1), undefined);
  });

  it("its input edge rescaled (src 1 -> 2): the input as records, the output still as buffers", async () => {
    const [b] = encode(["0/1/0:y"]);
    const cp = pipeline(1, {
      "chk-1/mid-1.state": {
        operators: {},
        channels: { inputs: [[0, 0, encode(["0/1/0:a", "0/1/1:b"])]], outputs: [[[b!], []]] },
      },
    });
    const r = await loadInFlight(cp, midLayout(2), 1);
    assert.deepEqual(r?.inputs, []);
    assert.deepEqual(r?.outputs, [[0, 0, [b!]]]);
    // Old channel 0 -> 1 is the second old channel: round robin to new subtask 1 of 2.
    assert.deepEqual(
      r?.records.map((x) => x.values),
      [["0/1/0:a", "0/1/1:b"]],
    );
  });
});

describe("more shapes at another parallelism", () => {
  it("a two-input task (a rebalanced and a forward input) rescaled 2 -> 3: each edge's records at its own input", async () => {
    // b (p=1) -> rebalance -> dst (p=2) is dst's first input, a (p=2) -> forward -> dst its second:
    // dst-1's input channels are [b-0, a-1]. Restored with a and dst at p=3.
    const B = ["0/1/0:b", "0/1/1:b"];
    const A = ["1/1/0:a", "1/1/1:a", "1/1/2:a"];
    const task = (
      name: string,
      parallelism: number,
      inputs: Array<[string, PartitionerKind]>,
      outputs: Array<[string, PartitionerKind]>,
    ): TaskStateEntry => ({
      operators: [name],
      parallelism,
      maxParallelism: 128,
      subtasks: Array.from({ length: parallelism }, (_, subtask) => ({
        subtask,
        file: `chk-1/${name}-${subtask}.state`,
        keyGroups: undefined,
        size: 1,
        finished: false,
      })),
      inputs: inputs.map(([edge, partitioner]) => ({ edge, partitioner })),
      outputs: outputs.map(([edge, partitioner]) => ({ edge, partitioner })),
    });
    const none: TaskSnapshot = { operators: {}, channels: { inputs: [], outputs: [[]] } };
    const files: Record<string, TaskSnapshot> = {
      "chk-1/b-0.state": none,
      "chk-1/a-0.state": none,
      "chk-1/a-1.state": none,
      "chk-1/dst-0.state": none,
      "chk-1/dst-1.state": {
        operators: {},
        channels: {
          inputs: [
            [0, 0, encode(B)],
            [1, 0, encode(A)],
          ],
          outputs: [],
        },
      },
    };
    const cp: LoadedCheckpoint = {
      root: "/mem",
      path: "/mem/chk-1",
      metadata: {
        format: "weir-checkpoint",
        version: 1,
        checkpointId: 1,
        savepoint: false,
        jobName: "j",
        jobId: "job",
        timestamp: 0,
        inFlightData: true,
        enumerators: {},
        tasks: {
          b: task("b", 1, [], [["b->dst", "rebalance"]]),
          a: task("a", 2, [], [["a->dst", "forward"]]),
          dst: task(
            "dst",
            2,
            [
              ["b->dst", "rebalance"],
              ["a->dst", "forward"],
            ],
            [],
          ),
        },
      },
      async read(rel) {
        const f = files[rel];
        if (f === undefined) throw new Error(`no file ${rel}`);
        return f;
      },
      location: (rel) => `/mem/${rel}`,
      exists: async (rel) => rel in files,
    };
    const layout = (c: number): InFlightLayout => ({
      operators: ["dst"],
      parallelism: 3,
      inputs: [
        {
          edge: "b->dst",
          description: "'b' -> 'dst'",
          member: 0,
          inputIndex: 0,
          partitioner: { kind: "rebalance" },
          serializer,
          producerParallelism: 1,
          consumerParallelism: 3,
          maxParallelism: 128,
          channels: { first: 0, producers: [0] },
        },
        {
          edge: "a->dst",
          description: "'a' -> 'dst'",
          member: 0,
          inputIndex: 1,
          partitioner: { kind: "forward" },
          serializer,
          producerParallelism: 3,
          consumerParallelism: 3,
          maxParallelism: 128,
          channels: { first: 1, producers: [c] },
        },
      ],
      outputs: [],
    });
    // Old channel 1 of each edge (b-0 -> dst-1, a-1 -> dst-1) goes to new subtask 1.
    const r = await loadInFlight(cp, layout(1), 1);
    assert.deepEqual(
      r?.records.map((x) => [x.inputIndex, x.values]),
      [
        [0, B],
        [1, A],
      ],
    );
    assert.equal(await loadInFlight(cp, layout(0), 0), undefined);
    assert.equal(await loadInFlight(cp, layout(2), 2), undefined);
  });

  it("an old consumer that had finished (no state file): the others' records still restored", async () => {
    const edge: Edge = { kind: "hash", producers: 1, oldConsumers: 2, maxParallelism: 4 };
    const keys = keysPerGroup(4, 1);
    // Old consumer 0 owns groups 0..1; consumer 1 (groups 2..3) had finished: nothing in flight to it.
    const records: ChannelRecords = (i, j) =>
      j === 0 ? keys.slice(0, 2).map((k, n) => `${i}/${j}/${n}:${k}`) : [];
    const cp = checkpoint(edge, records);
    const finished = cp.metadata.tasks.dst!.subtasks[1]!;
    cp.metadata.tasks.dst!.subtasks[1] = { ...finished, file: undefined, finished: true };
    const spec: PartitionerSpec = { kind: "hash", keySelector: (v: string) => keyOf(v) };
    const got = await restoreAt(cp, edge, spec, 3);
    const all = allRecords(edge, records);
    for (let c = 0; c < 3; c++) {
      const expected = all.map((ch) =>
        ch.filter((v) => operatorIndexForKeyGroup(4, 3, assignToKeyGroup(keyOf(v), 4)) === c),
      );
      assertSameRecordsInChannelOrder(got[c]!, expected, `new subtask ${c}`);
    }
  });
});
