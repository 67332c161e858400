// Restoring the in-flight data of an unaligned checkpoint, edge by edge, at any parallelism.
//
// The checkpoint's metadata names the network edges of every old task (in the order of its input
// channels and record writers), so each old channel — producer subtask i to consumer subtask j of
// an edge — is found again: its data is what j had received but not processed (in j's input
// state) followed by what i had not sent yet (in i's output state); an element may span the two.
//
// - An edge whose producer and consumer keep their parallelism and partitioner gets its buffers
//   back as they were: the input part in front of the same input channel, the output part in
//   front of the same subpartition (the channel's deserializer joins a spanning element).
// - Any other edge is restored as records, at its consumer: each old channel's data is decoded
//   whole (input part, then output part), and each new consumer subtask keeps its share — the
//   records whose key group it owns on a keyed edge; whole old channels round robin on the other
//   edges (old channel k to new subtask k mod p); every record of old consumer 0 to each subtask
//   on a broadcast edge (its broadcast state comes from old subtask 0 as well). The records are
//   processed before any new input, so nothing is lost or duplicated. Watermarks in the data are
//   dropped: after a restore they start again from the sources.

import { WeirError, errorMessage } from "../core/errors.ts";
import { assignToKeyGroup, keyGroupRangeFor, operatorIndexForKeyGroup } from "../core/key-groups.ts";
import type { TypeSerializer } from "../core/types/type-info.ts";
import { readInFlightRecords } from "../network/in-flight-records.ts";
import {
  type PartitionerKind,
  type PartitionerSpec,
  consumersOf,
  describePartitioner,
} from "../runtime/partitioners.ts";
import type { ChannelState, RestoredInFlight, RestoredRecords, TaskSnapshot } from "../runtime/snapshot.ts";
import type { LoadedCheckpoint, TaskStateEntry } from "./fs-storage.ts";
import { CorruptStateError } from "./state-file.ts";

/** An edge into an operator of a new task's chain (a network edge into its head, or a chained one). */
export interface InFlightInput {
  /** See edgeId (src/graph/stream-graph.ts). */
  edge: string;
  /** Names the edge in errors. */
  description: string;
  /** The target operator's index in the chain (0: the head), and which of its inputs. */
  member: number;
  inputIndex: number;
  partitioner: PartitionerSpec;
  serializer: TypeSerializer<unknown>;
  producerParallelism: number;
  consumerParallelism: number;
  /** Of the target: the key groups of a keyed edge. */
  maxParallelism: number;
  /**
   * A network edge: where its channels start among the task's input channels, and the producer
   * subtask of each channel. Undefined for a chained edge.
   */
  channels: { first: number; producers: number[] } | undefined;
}

/** A record writer of a new task (one per network edge leaving the chain). */
export interface InFlightOutput {
  edge: string;
  partitioner: PartitionerKind;
  producerParallelism: number;
  consumerParallelism: number;
  maxParallelism: number;
  /** The consumer subtask of each subpartition. */
  subpartitions: number[];
}

/** A new task's edges, as the restore of in-flight data needs them. */
export interface InFlightLayout {
  /** The chain's operators (uids), head first. */
  operators: string[];
  parallelism: number;
  inputs: InFlightInput[];
  outputs: InFlightOutput[];
}

/** A LoadedCheckpoint that reads each file once (a task's restore reads the same files twice). */
export function readingOnce(cp: LoadedCheckpoint): LoadedCheckpoint {
  const files = new Map<string, Promise<unknown>>();
  return {
    ...cp,
    read(relPath) {
      let r = files.get(relPath);
      if (r === undefined) {
        r = cp.read(relPath);
        files.set(relPath, r);
      }
      return r;
    },
  };
}

/** The in-flight data one new subtask restores, or undefined when the checkpoint holds none for it. */
export async function loadInFlight(
  cp: LoadedCheckpoint,
  layout: InFlightLayout,
  subtask: number,
): Promise<RestoredInFlight | undefined> {
  if (!mayHoldInFlightData(cp)) return undefined;
  const old = new OldEdges(cp);
  if (!old.described) return loadUndescribed(cp, old, layout, subtask);
  const restored: RestoredInFlight = { inputs: [], outputs: [], records: [] };
  for (const input of layout.inputs) {
    const e = old.edges.get(input.edge);
    if (e === undefined) continue; // chained before, or new: nothing was in flight on it
    if (input.channels !== undefined && sameChannels(e, input)) {
      await restoreInputBuffers(old, e, input.channels, subtask, restored);
    } else {
      const r = await restoreRecords(old, e, input, subtask);
      if (r.values.length > 0) restored.records.push(r);
    }
  }
  for (const [w, output] of layout.outputs.entries()) {
    const e = old.edges.get(output.edge);
    // Otherwise the consumers restore this edge's output state as records.
    if (e !== undefined && sameChannels(e, output))
      await restoreOutputBuffers(old, e, w, output, subtask, restored);
  }
  const empty = restored.inputs.length + restored.outputs.length + restored.records.length === 0;
  return empty ? undefined : restored;
}

/**
 * Before a restore: refuse in-flight data the new job cannot take — on an edge it no longer has,
 * or on an edge that was broadcast and is not any more (every consumer held its own copy of the
 * data: as records they would be duplicated) — and, in a checkpoint without edge names (older
 * versions), any at another parallelism. `edges`: every edge of the new job by id (see edgeId);
 * `parallelism`: of every operator of the new job, by uid.
 */
export async function validateInFlight(
  cp: LoadedCheckpoint,
  edges: Map<string, PartitionerKind>,
  parallelism: Map<string, number>,
): Promise<void> {
  if (!mayHoldInFlightData(cp)) return;
  const old = new OldEdges(cp);
  if (!old.described) {
    for (const task of Object.values(cp.metadata.tasks)) {
      const p = parallelism.get(task.operators[0] ?? "");
      if (p === undefined || p === task.parallelism) continue;
      for (const h of task.subtasks) {
        if (hasData(await old.channels(task, h.subtask))) {
          throw new WeirError(
            "INVALID_JOB",
            `the checkpoint at '${cp.path}' holds in-flight data of an unaligned checkpoint for operator '${task.operators[0]}', written by an older Weir that does not name its edges; it can only be restored at the same parallelism (${task.parallelism}); to rescale, restore from a savepoint or an aligned checkpoint`,
          );
        }
      }
    }
    return;
  }
  for (const e of old.edges.values()) {
    const now = edges.get(e.id);
    let problem: string | undefined;
    if (now === undefined) problem = "which this job no longer has";
    else if (e.kind === "broadcast" && now !== "broadcast") {
      problem = `which was BROADCAST and is ${describePartitioner({ kind: now } as PartitionerSpec)} now: every consumer held its own copy of that data, so it cannot be shared out`;
    }
    if (problem === undefined || !(await old.edgeHasData(e))) continue;
    throw new WeirError(
      "INVALID_JOB",
      `the checkpoint at '${cp.path}' holds in-flight data (of an unaligned checkpoint) on edge '${e.id}', ${problem}; restore this checkpoint with that edge as it was, or restore from a savepoint or an aligned checkpoint (they hold no in-flight data)`,
    );
  }
}

/** Savepoints and checkpoints taken without unaligned checkpoints hold none (nothing to read). */
function mayHoldInFlightData(cp: LoadedCheckpoint): boolean {
  return !cp.metadata.savepoint && cp.metadata.inFlightData !== false;
}

/** An edge of the checkpoint's job: its partitioner and the tasks at its ends. */
interface OldEdge {
  id: string;
  kind: PartitionerKind;
  source: TaskStateEntry;
  /** The producer's record writer of this edge. */
  writer: number;
  target: TaskStateEntry;
}

/** The edges of a checkpoint's job, and its tasks' channel state (read on demand). */
class OldEdges {
  readonly edges = new Map<string, OldEdge>();
  /** False for checkpoints of older versions, whose metadata does not name the edges. */
  readonly described: boolean;
  private readonly channelIndex = new Map<string, Array<[string, number]>>();
  private readonly cp: LoadedCheckpoint;

  constructor(cp: LoadedCheckpoint) {
    this.cp = readingOnce(cp);
    const tasks = Object.values(cp.metadata.tasks);
    this.described = tasks.every((t) => t.inputs !== undefined && t.outputs !== undefined);
    if (!this.described) return;
    const sources = new Map<string, [TaskStateEntry, number, PartitionerKind]>();
    for (const t of tasks) {
      t.outputs!.forEach((o, w) => {
        sources.set(o.edge, [t, w, o.partitioner]);
      });
    }
    for (const t of tasks) {
      for (const i of t.inputs!) {
        const s = sources.get(i.edge);
        if (s === undefined) {
          throw new CorruptStateError(
            `${cp.path}/_metadata`,
            `names edge '${i.edge}' as an input of '${t.operators[0]}', but no task as its producer`,
          );
        }
        this.edges.set(i.edge, { id: i.edge, kind: s[2], source: s[0], writer: s[1], target: t });
      }
    }
  }

  /** The channel state of one old subtask (undefined when it has none). */
  async channels(task: TaskStateEntry, subtask: number): Promise<ChannelState | undefined> {
    const h = task.subtasks.find((s) => s.subtask === subtask);
    if (h?.file === undefined) return undefined;
    return ((await this.cp.read(h.file)) as TaskSnapshot).channels;
  }

  /** Where the state file of one old subtask is (for errors). */
  pathOf(task: TaskStateEntry, subtask: number): string {
    const file = task.subtasks.find((s) => s.subtask === subtask)?.file;
    return file === undefined ? this.cp.path : this.cp.location(file);
  }

  /** The input channels of subtask `j` of an old task: [edge, producer subtask] by channel index. */
  channelsOf(task: TaskStateEntry, j: number): Array<[string, number]> {
    const key = `${task.operators[0]}/${j}`;
    let list = this.channelIndex.get(key);
    if (list === undefined) {
      list = [];
      for (const input of task.inputs!) {
        const e = this.edges.get(input.edge)!;
        const producers = e.source.parallelism;
        for (let i = 0; i < producers; i++) {
          if (consumersOf(e.kind, i, producers, task.parallelism).includes(j)) list.push([e.id, i]);
        }
      }
      this.channelIndex.set(key, list);
    }
    return list;
  }

  /** The data of old channel i -> j of `e` (s: j's subpartition at i): input part, then output part. */
  async channelData(
    e: OldEdge,
    i: number,
    s: number,
    j: number,
  ): Promise<{ partial: number; chunks: Uint8Array[] } | undefined> {
    const chunks: Uint8Array[] = [];
    let partial = 0;
    const inputs = (await this.channels(e.target, j))?.inputs;
    if (inputs !== undefined) {
      const at = this.channelsOf(e.target, j).findIndex(([id, p]) => id === e.id && p === i);
      const entry = inputs.find(([index]) => index === at);
      if (entry !== undefined) {
        partial = entry[1];
        chunks.push(...entry[2]);
      }
    }
    const out = (await this.channels(e.source, i))?.outputs[e.writer]?.[s];
    if (out !== undefined) chunks.push(...out);
    return chunks.length === 0 ? undefined : { partial, chunks };
  }

  async edgeHasData(e: OldEdge): Promise<boolean> {
    const p = e.source.parallelism;
    for (let i = 0; i < p; i++) {
      const consumers = consumersOf(e.kind, i, p, e.target.parallelism);
      for (let s = 0; s < consumers.length; s++) {
        const data = await this.channelData(e, i, s, consumers[s]!);
        if (data?.chunks.some((c) => c.length > 0)) return true;
      }
    }
    return false;
  }
}

/** The edge's channels are the same as at the checkpoint: same partitioner, parallelism and key groups. */
function sameChannels(
  e: OldEdge,
  now: {
    partitioner: PartitionerSpec | PartitionerKind;
    producerParallelism: number;
    consumerParallelism: number;
    maxParallelism: number;
  },
): boolean {
  const kind = typeof now.partitioner === "string" ? now.partitioner : now.partitioner.kind;
  return (
    e.kind === kind &&
    e.source.parallelism === now.producerParallelism &&
    e.target.parallelism === now.consumerParallelism &&
    (kind !== "hash" || e.target.maxParallelism === now.maxParallelism)
  );
}

/** The input part of the same channels, in front of the new channels (the same as the old ones). */
async function restoreInputBuffers(
  old: OldEdges,
  e: OldEdge,
  channels: { first: number; producers: number[] },
  subtask: number,
  restored: RestoredInFlight,
): Promise<void> {
  const inputs = (await old.channels(e.target, subtask))?.inputs ?? [];
  const index = old.channelsOf(e.target, subtask);
  for (const [at, partial, buffers] of inputs) {
    const [id, producer] = index[at] ?? [];
    if (id !== e.id || buffers.length === 0) continue;
    restored.inputs.push([channels.first + channels.producers.indexOf(producer!), partial, buffers]);
  }
}

/** The output part of the same channels, in front of the new subpartitions (the same as the old ones). */
async function restoreOutputBuffers(
  old: OldEdges,
  e: OldEdge,
  writer: number,
  output: InFlightOutput,
  subtask: number,
  restored: RestoredInFlight,
): Promise<void> {
  const outputs = (await old.channels(e.source, subtask))?.outputs[e.writer] ?? [];
  const consumers = consumersOf(e.kind, subtask, e.source.parallelism, e.target.parallelism);
  outputs.forEach((buffers, s) => {
    if (buffers.length === 0) return;
    restored.outputs.push([writer, output.subpartitions.indexOf(consumers[s]!), buffers]);
  });
}

/** The records of edge `e` that new consumer subtask `c` processes (see the top of this file). */
async function restoreRecords(
  old: OldEdges,
  e: OldEdge,
  input: InFlightInput,
  c: number,
): Promise<RestoredRecords> {
  const spec = input.partitioner;
  const n = input.consumerParallelism;
  if (e.kind === "broadcast" && spec.kind !== "broadcast") {
    // validateInFlight refuses such a restore before any task starts; this is the task's own check.
    throw new WeirError(
      "INVALID_JOB",
      `edge ${input.description} was BROADCAST when the checkpoint was taken, and its in-flight data cannot be shared out; restore from a savepoint or an aligned checkpoint`,
    );
  }
  const owner = ownerOf(spec, input, n);
  // On a keyed edge that was keyed the same way, only old consumers whose key groups overlap ours hold our records.
  const mine = keyGroupRangeFor(input.maxParallelism, n, c);
  const sameKeyGroups =
    e.kind === "hash" && spec.kind === "hash" && e.target.maxParallelism === input.maxParallelism;
  const wanted = (k: number, j: number): boolean => {
    switch (spec.kind) {
      case "hash": {
        if (!sameKeyGroups) return true;
        const theirs = keyGroupRangeFor(e.target.maxParallelism, e.target.parallelism, j);
        return theirs.start <= mine.end && mine.start <= theirs.end;
      }
      case "custom":
        return true;
      case "broadcast":
        return e.kind !== "broadcast" || j === 0;
      case "global":
        return c === 0;
      default:
        return k % n === c;
    }
  };
  const r: RestoredRecords = {
    member: input.member,
    inputIndex: input.inputIndex,
    values: [],
    timestamps: [],
  };
  const p = e.source.parallelism;
  let k = 0;
  for (let i = 0; i < p; i++) {
    const consumers = consumersOf(e.kind, i, p, e.target.parallelism);
    for (let s = 0; s < consumers.length; s++, k++) {
      const j = consumers[s]!;
      if (!wanted(k, j)) continue;
      const data = await old.channelData(e, i, s, j);
      if (data === undefined) continue;
      try {
        readInFlightRecords(data.partial, data.chunks, input.serializer, (value, timestamp) => {
          if (owner !== undefined && owner(value) !== c) return;
          r.values.push(value);
          r.timestamps.push(timestamp);
        });
      } catch (err) {
        if (err instanceof WeirError) throw err;
        throw new CorruptStateError(
          old.pathOf(e.target, j),
          `holds in-flight data of edge ${input.description} (from producer subtask ${i}, whose unsent part is in '${old.pathOf(e.source, i)}') that cannot be read as its records: ${errorMessage(err)}; did the edge's record type change since the checkpoint?`,
        );
      }
    }
  }
  return r;
}

/** Which new consumer subtask a record of a keyed edge goes to (undefined: not keyed). */
function ownerOf(
  spec: PartitionerSpec,
  input: InFlightInput,
  n: number,
): ((value: unknown) => number) | undefined {
  if (spec.kind === "hash") {
    const max = input.maxParallelism;
    return (value) => {
      let kg: number;
      try {
        kg = assignToKeyGroup(spec.keySelector(value), max);
      } catch (e) {
        throw new WeirError(
          "INVALID_ARGUMENT",
          `restoring in-flight data: the key selector of edge ${input.description} returned an unusable key: ${errorMessage(e)}`,
        );
      }
      return operatorIndexForKeyGroup(max, n, kg);
    };
  }
  if (spec.kind === "custom") {
    return (value) => {
      const p = spec.partitioner(spec.keySelector(value), n);
      if (!Number.isInteger(p) || p < 0 || p >= n) {
        throw new WeirError(
          "INVALID_ARGUMENT",
          `restoring in-flight data: the custom partitioner of edge ${input.description} returned ${p}; it must return an integer in 0..${n - 1}`,
        );
      }
      return p;
    };
  }
  return undefined;
}

/**
 * A checkpoint of an older version, whose metadata does not name the edges: its in-flight data
 * is restored as it was, where the chain (by its head) has the same parallelism (validateInFlight
 * refuses the others).
 */
async function loadUndescribed(
  cp: LoadedCheckpoint,
  old: OldEdges,
  layout: InFlightLayout,
  subtask: number,
): Promise<RestoredInFlight | undefined> {
  const task = Object.values(cp.metadata.tasks).find((t) => t.operators[0] === layout.operators[0]);
  if (task === undefined || task.parallelism !== layout.parallelism) return undefined;
  const channels = await old.channels(task, subtask);
  if (channels === undefined || !hasData(channels)) return undefined;
  const outputs: RestoredInFlight["outputs"] = [];
  channels.outputs.forEach((perSubpartition, w) => {
    perSubpartition.forEach((buffers, s) => {
      if (buffers.length > 0) outputs.push([w, s, buffers]);
    });
  });
  return { inputs: channels.inputs.filter(([, , b]) => b.length > 0), outputs, records: [] };
}

function hasData(c: ChannelState | undefined): boolean {
  if (c === undefined) return false;
  return c.inputs.some(([, , b]) => b.length > 0) || c.outputs.some((w) => w.some((b) => b.length > 0));
}
