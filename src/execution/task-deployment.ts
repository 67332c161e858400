// Turns the subtasks of an ExecutionGraph that one thread hosts into running tasks: operators
// created and chained, record writers and input gates wired to local or remote channels.

import type { MessagePort } from "node:worker_threads";
import type { Accumulator } from "../core/functions.ts";
import { keyGroupRangeFor } from "../core/key-groups.ts";
import type { SourceReader } from "../core/source.ts";
import type { NetworkBufferPool } from "../network/buffer-pool.ts";
import { InputChannel, InputGate } from "../network/input-gate.ts";
import { RecordWriter } from "../network/record-writer.ts";
import { type ChannelRouter, RemoteReturner, RemoteSender } from "../network/remote-channel.ts";
import { ResultSubpartition } from "../network/result-subpartition.ts";
import type { ElementContext, KeyedContext, StreamOperator } from "../runtime/operators/stream-operator.ts";
import { ChainedTarget, type RecordTarget, RoutingOutput, WriterTarget } from "../runtime/outputs.ts";
import { createChannelSelector, describePartitioner } from "../runtime/partitioners.ts";
import { RuntimeContextImpl, type SubtaskIdentity } from "../runtime/runtime-context.ts";
import { TaskMetricGroup } from "../runtime/metrics/task-metric-group.ts";
import { type ChainMember, StreamTask } from "../runtime/stream-task.ts";
import type { CheckpointStorage } from "../checkpoint/checkpoint-storage.ts";
import type { LoadedCheckpoint, SubtaskStateHandle } from "../checkpoint/fs-storage.ts";
import { isFinishedOnRestore, loadTaskRestore } from "../checkpoint/restore.ts";
import { type InFlightLayout, loadInFlight, readingOnce } from "../checkpoint/in-flight-restore.ts";
import { encodeKeyGroupFile } from "../checkpoint/indexed-state-file.ts";
import { encodeKeyedState, forEachKeyGroup, streamTaskSnapshot } from "../checkpoint/snapshot-writer.ts";
import { crc32, type StreamedStateFile } from "../checkpoint/state-file.ts";
import { type CheckpointResponder, releaseKeyedState, type TaskSnapshot } from "../runtime/snapshot.ts";
import { SourceOutput } from "../runtime/source-output.ts";
import type { TaskExecutor } from "../runtime/task-executor.ts";
import type { Clock } from "../runtime/time/clock.ts";
import { ProcessingTimeService } from "../runtime/time/processing-time-service.ts";
import { type StateBackendKind, createKeyedStateBackend } from "../state/index.ts";
import type { ExecutionGraph, ExecutionSubtask } from "../graph/execution-graph.ts";
import type { JobVertex } from "../graph/job-graph.ts";
import { type StreamEdge, type StreamNode, edgeId } from "../graph/stream-graph.ts";

/**
 * The most records a poll of an in-memory source reader emits in a task without network outputs
 * (its chain ends in sinks): the task's per-poll work is spread over more records; a poll still
 * shrinks when it takes longer than a millisecond (SplitQueueReader).
 */
const CHAINED_MAX_RECORDS_PER_POLL = 1024;
/** Shared files of an incremental checkpoint a task writes at once (each holds one key group). */
const SHARED_WRITES_IN_FLIGHT = 4;

export interface NetworkOptions {
  bufferSize: number;
  /** ms; 0 flushes at the end of every step, -1 only when full. */
  bufferTimeout: number;
  creditsPerChannel: number;
}

export interface SourceGateway {
  /** A reader came up in this thread. */
  registerReader(sourceNodeId: number, subtask: number, reader: SourceReader<unknown, unknown>): void;
  requestSplit(sourceNodeId: number, subtask: number): void;
}

export interface TimeOptions {
  clock: Clock;
  /** ms between periodic watermark emissions. */
  autoWatermarkInterval: number;
  /** ms between latency markers from each source subtask (0 or absent: off, Flink's default). */
  latencyTrackingInterval?: number;
}

/** What deployed tasks report about checkpoints (to the coordinator, possibly in another thread). */
export interface CheckpointHooks {
  acknowledge(vertexId: number, subtask: number, checkpointId: number, handle: SubtaskStateHandle): void;
  decline(checkpointId: number, reason: string): void;
  /** The task finished; `error`: its final state could not be written (`handle` holds no state). */
  finished(vertexId: number, subtask: number, handle: SubtaskStateHandle, error?: string): void;
}

export interface TaskCheckpointing {
  exactlyOnce: boolean;
  unaligned: boolean;
  alignedTimeout: number;
  /** Write key groups to shared files, reusing those unchanged since the previous checkpoint. */
  incremental: boolean;
  storage: CheckpointStorage;
  hooks: CheckpointHooks;
}

export interface StateBackendOptions {
  kind: StateBackendKind;
  /** Where the embedded backend keeps its stores (default: the OS temp directory). */
  directory?: string;
  /** Each embedded backend's share of the job's managed memory, bytes. */
  managedMemoryBytes?: number;
}

export interface DeploymentContext {
  time: TimeOptions;
  stateBackend?: StateBackendOptions;
  /** Execution attempt (0, then +1 per restart). */
  attempt: number;
  checkpointing?: TaskCheckpointing;
  /** Restore every task from this checkpoint before it opens. */
  restore?: LoadedCheckpoint;
  jobId: string;
  jobName: string;
  network: NetworkOptions;
  pool: NetworkBufferPool;
  executor: TaskExecutor;
  /** The subtasks this thread hosts. */
  hosted: ExecutionSubtask[];
  /** The port to the thread hosting slot `slot` (only for slots not hosted here). */
  portToSlot?: (slot: number) => MessagePort;
  router?: ChannelRouter;
  sources: SourceGateway;
}

export function edgeName(e: StreamEdge): string {
  const side = e.tagId !== undefined ? ` side output '${e.tagId}'` : "";
  return `'${e.source.name}' -> '${e.target.name}' (${describePartitioner(e.partitioner)}${side})`;
}

/**
 * Whether every network edge into input `input` of vertex `v` is a hash edge with key selector `ks`
 * and max parallelism `maxParallelism`: then a key group sent with a record (by the writer of such
 * an edge) is the key group of the record's key for the head operator's keyed state.
 */
function keyGroupsSentFor(v: JobVertex, input: number, ks: unknown, maxParallelism: number): boolean {
  let any = false;
  for (const je of v.inputs) {
    const e = je.streamEdge;
    if (e.inputIndex !== input) continue;
    if (e.partitioner.kind !== "hash" || e.partitioner.keySelector !== ks) return false;
    if (je.target.maxParallelism !== maxParallelism) return false;
    any = true;
  }
  return any;
}

export function deployTasks(eg: ExecutionGraph, ctx: DeploymentContext): StreamTask[] {
  const slotOf = new Map(eg.subtasks.map((s) => [`${s.vertex.id}/${s.index}`, s.slot]));
  const subpartitions = new Map<number, ResultSubpartition>();
  const inputChannels = new Map<number, InputChannel>();
  const tasks: StreamTask[] = [];
  const finishedOnRestore = ctx.restore === undefined ? undefined : finishedVertices(eg, ctx.restore);

  for (const st of ctx.hosted) {
    const v = st.vertex;
    const identity: SubtaskIdentity = {
      jobId: ctx.jobId,
      jobName: ctx.jobName,
      subtaskIndex: st.index,
      parallelism: v.parallelism,
      maxParallelism: v.maxParallelism,
      attemptNumber: ctx.attempt,
      attemptTag: `${ctx.jobId.slice(0, 8)}-${ctx.attempt}`,
    };
    const element: ElementContext = { timestamp: Number.NaN, keyGroup: -1 };
    const processingTime = new ProcessingTimeService(ctx.time.clock);
    const disposables: Array<() => void> = [];
    // The task exists only after its operators are set up; mail sent before that waits here.
    let taskRef: StreamTask | undefined;
    const early: Array<() => void> = [];
    const mailbox = {
      execute: (action: () => void) =>
        taskRef === undefined ? early.push(action) : taskRef.mailbox.execute(action),
      drain: () => taskRef?.drainMailbox(),
    };
    const accumulators = new Map<string, Accumulator<unknown>>();
    const metrics = new TaskMetricGroup(
      {
        jobId: ctx.jobId,
        jobName: ctx.jobName,
        taskName: v.name,
        vertexId: v.id,
        subtaskIndex: st.index,
        attempt: ctx.attempt,
      },
      ctx.network.creditsPerChannel,
    );
    const wakeup = ctx.executor.wake;

    // Writers: one per network edge leaving the chain.
    const writerOfEdge = new Map<StreamEdge, RecordWriter<unknown>>();
    for (const je of v.outputs) {
      const e = je.streamEdge;
      const channels = eg.channels.filter((c) => c.edge === je && c.producer === st.index);
      const sps = channels.map((c) => {
        const sp = new ResultSubpartition(ctx.pool, ctx.network.creditsPerChannel, wakeup);
        subpartitions.set(c.id, sp);
        return sp;
      });
      const name = edgeName(e);
      const selector = createChannelSelector(
        e.partitioner,
        sps.length,
        st.index,
        je.target.maxParallelism,
        () => name,
      );
      writerOfEdge.set(
        e,
        new RecordWriter(
          sps,
          selector,
          e.type.createSerializer(),
          ctx.network.bufferSize,
          name,
          ctx.network.bufferTimeout,
        ),
      );
    }

    // Operators, created before outputs so that chained targets can point at them.
    const operators = new Map<StreamNode, StreamOperator>();
    for (const n of v.nodes) if (n.factory !== undefined) operators.set(n, n.factory());

    const chain: ChainMember[] = v.nodes.map((n) => {
      const main: RecordTarget[] = [];
      const sides = new Map<string, RecordTarget[]>();
      for (const e of n.outEdges) {
        const writer = writerOfEdge.get(e);
        const target: RecordTarget =
          writer !== undefined
            ? new WriterTarget(writer, element)
            : new ChainedTarget(
                operators.get(e.target)!,
                e.inputIndex,
                { name: e.target.name, uid: e.target.uid },
                element,
              );
        if (e.tagId === undefined) main.push(target);
        else {
          const list = sides.get(e.tagId) ?? [];
          list.push(target);
          sides.set(e.tagId, list);
        }
      }
      const output = new RoutingOutput(main, sides);
      const op = operators.get(n);
      if (op !== undefined) {
        const backend = n.keySelectors.some((k) => k !== undefined)
          ? createKeyedStateBackend(
              ctx.stateBackend?.kind ?? "heap",
              keyGroupRangeFor(n.maxParallelism, n.parallelism, st.index),
              {
                localDirectory: ctx.stateBackend?.directory,
                managedMemoryBytes: ctx.stateBackend?.managedMemoryBytes,
                maxParallelism: n.maxParallelism,
              },
            )
          : undefined;
        if (backend !== undefined) disposables.push(() => backend.dispose());
        const keyed: Array<KeyedContext | undefined> = n.keySelectors.map((ks, input) =>
          ks === undefined || backend === undefined
            ? undefined
            : {
                keySelector: ks,
                backend,
                maxParallelism: n.maxParallelism,
                keyGroupFromRecord: n === v.head && keyGroupsSentFor(v, input, ks, n.maxParallelism),
              },
        );
        const runtime = new RuntimeContextImpl(identity, n.name, n.uid, accumulators, backend, metrics);
        op.setup({
          runtime,
          output,
          element,
          keyed,
          processingTime,
          autoWatermarkInterval: ctx.time.autoWatermarkInterval,
          mailbox,
          checkpointing: ctx.checkpointing !== undefined,
        });
      }
      return { info: { name: n.name, uid: n.uid }, operator: op, output };
    });

    // Input gate: every channel into this subtask.
    let gate: InputGate | undefined;
    const channelProducers: Array<{ vertexId: number; subtask: number }> = [];
    if (v.inputs.length > 0) {
      const channels: InputChannel[] = [];
      for (const je of v.inputs) {
        for (const c of eg.channels) {
          if (c.edge !== je || c.consumer !== st.index) continue;
          const ch = new InputChannel(
            channels.length,
            je.streamEdge.inputIndex,
            je.streamEdge.type.createSerializer(),
            edgeName(je.streamEdge),
            wakeup,
          );
          // Its producer sends even unaligned barriers in order (see RecordWriter).
          ch.alignedBarriers = je.streamEdge.partitioner.kind === "broadcast";
          inputChannels.set(c.id, ch);
          channels.push(ch);
          channelProducers.push({ vertexId: je.source.id, subtask: c.producer });
        }
      }
      gate = new InputGate(channels);
    }

    // Source reader.
    let reader: SourceReader<unknown, unknown> | undefined;
    let sourceOutput: SourceOutput<unknown> | undefined;
    const receivedSplitIds = new Set<string>();
    const head = v.head;
    if (head.source !== undefined) {
      const runtime = new RuntimeContextImpl(identity, head.name, head.uid, accumulators, undefined, metrics);
      reader = head.source.createReader({
        runtime,
        subtaskIndex: st.index,
        parallelism: v.parallelism,
        sendSplitRequest: () => ctx.sources.requestSplit(head.id, st.index),
        // A chain that ends in sinks here writes no network buffer a large poll could overdraw.
        maxRecordsPerPoll: v.outputs.length === 0 ? CHAINED_MAX_RECORDS_PER_POLL : undefined,
      });
      const inner = reader;
      // Splits received are remembered: a restore must not assign them again from the enumerator.
      ctx.sources.registerReader(head.id, st.index, {
        ...inner,
        start: () => inner.start(),
        pollNext: (o) => inner.pollNext(o),
        isAvailable: () => inner.isAvailable(),
        snapshotState: inner.snapshotState === undefined ? undefined : (id) => inner.snapshotState!(id),
        close: () => inner.close(),
        addSplits: (splits) => {
          for (const s of splits) receivedSplitIds.add(JSON.stringify(s));
          inner.addSplits(splits);
        },
        notifyNoMoreSplits: () => inner.notifyNoMoreSplits(),
      });
      sourceOutput = new SourceOutput(
        head.watermarkStrategy,
        chain[0]!.output,
        element,
        processingTime,
        head.name,
      );
    }

    const numInputs =
      head.source !== undefined ? 0 : Math.max(1, ...v.inputs.map((e) => e.streamEdge.inputIndex + 1));
    const task = new StreamTask(
      {
        name: `${v.name} (${st.index + 1}/${v.parallelism})`,
        vertexId: v.id,
        identity,
        chain,
        element,
        gate,
        channelProducers,
        reader,
        writers: [...writerOfEdge.values()],
        accumulators,
        metrics,
        numInputs,
        processingTime,
        sourceOutput,
        autoWatermarkInterval: ctx.time.autoWatermarkInterval,
        latencyTrackingInterval: ctx.time.latencyTrackingInterval ?? 0,
        receivedSplitIds,
        disposables,
        checkpointing:
          ctx.checkpointing === undefined
            ? undefined
            : {
                exactlyOnce: ctx.checkpointing.exactlyOnce,
                unaligned: ctx.checkpointing.unaligned,
                alignedTimeout: ctx.checkpointing.alignedTimeout,
                responder: checkpointResponder(ctx.checkpointing, v.id, st.index, ctx.attempt),
              },
        restore:
          ctx.restore === undefined
            ? undefined
            : (() => {
                const cp = ctx.restore;
                const uids = v.nodes.map((n) => n.uid);
                const finished = finishedOnRestore!.has(v.id);
                return async () => {
                  const reading = readingOnce(cp);
                  return {
                    ...(await loadTaskRestore(reading, uids, st.index, v.parallelism, v.maxParallelism)),
                    inFlight: await loadInFlight(reading, inFlightLayout(eg, v, st.index), st.index),
                    finished,
                  };
                };
              })(),
      },
      wakeup,
    );
    taskRef = task;
    for (const a of early) task.mailbox.execute(a);
    tasks.push(task);
  }

  // Wire channels: local when both ends are here, otherwise through the other thread's port.
  for (const c of eg.channels) {
    const sp = subpartitions.get(c.id);
    const ch = inputChannels.get(c.id);
    if (sp !== undefined && ch !== undefined) {
      sp.receiver = ch;
      ch.returner = sp;
    } else if (sp !== undefined) {
      const slot = slotOf.get(`${c.edge.target.id}/${c.consumer}`)!;
      sp.receiver = new RemoteSender(ctx.portToSlot!(slot), c.id);
      ctx.router!.registerOutput(c.id, sp);
    } else if (ch !== undefined) {
      const slot = slotOf.get(`${c.edge.source.id}/${c.producer}`)!;
      ch.returner = new RemoteReturner(ctx.portToSlot!(slot), c.id);
      ctx.router!.registerInput(c.id, ch);
    }
  }
  return tasks;
}

/** The edges of subtask `index` of `v`, for the restore of in-flight data (see in-flight-restore.ts). */
function inFlightLayout(eg: ExecutionGraph, v: JobVertex, index: number): InFlightLayout {
  // The channels of the input gate and the writers' subpartitions, in the order deployTasks makes them.
  const network = new Map<StreamEdge, { first: number; producers: number[] }>();
  let first = 0;
  for (const je of v.inputs) {
    const producers = eg.channels.filter((c) => c.edge === je && c.consumer === index).map((c) => c.producer);
    network.set(je.streamEdge, { first, producers });
    first += producers.length;
  }
  return {
    operators: v.nodes.map((n) => n.uid),
    parallelism: v.parallelism,
    inputs: v.nodes.flatMap((n, member) =>
      n.inEdges.map((e) => ({
        edge: edgeId(e),
        description: edgeName(e),
        member,
        inputIndex: e.inputIndex,
        partitioner: e.partitioner,
        serializer: e.type.createSerializer(),
        producerParallelism: e.source.parallelism,
        consumerParallelism: e.target.parallelism,
        maxParallelism: e.target.maxParallelism,
        channels: network.get(e),
      })),
    ),
    outputs: v.outputs.map((je) => ({
      edge: edgeId(je.streamEdge),
      partitioner: je.streamEdge.partitioner.kind,
      producerParallelism: v.parallelism,
      consumerParallelism: je.target.parallelism,
      maxParallelism: je.target.maxParallelism,
      subpartitions: eg.channels.filter((c) => c.edge === je && c.producer === index).map((c) => c.consumer),
    })),
  };
}

/**
 * The responder of one task: encodes the snapshot's keyed state key group by key group (the task
 * runs between slices; the state is copy-on-write), writes it, then acknowledges. Into a local
 * directory the task's file is streamed (format 3, one key group in memory at a time), a finished
 * task's final state too. Incremental: each key group goes to a shared file of its own (format 3,
 * encodeKeyGroupFile), reused while its content is unchanged; it is written as soon as it is
 * encoded, so the task holds a few encoded key groups at a time, not all of them.
 */
export function checkpointResponder(
  cp: TaskCheckpointing,
  vertexId: number,
  subtask: number,
  attempt: number,
): CheckpointResponder {
  /**
   * Incremental: the shared file last written for each operator's key group, with its content's
   * CRC and its write. A later checkpoint that reuses the file waits for that write: if it failed,
   * the later checkpoint is declined too (the file may not exist), and the entry is forgotten.
   */
  const previous = new Map<string, { crc: number; path: string; written: Promise<unknown> }>();
  const name = `${vertexId}-${subtask}`;
  const write = async (id: number, snapshot: TaskSnapshot, final: boolean): Promise<SubtaskStateHandle> => {
    const keyGroups: Record<string, string> = {};
    let size = 0;
    const storage = cp.storage;
    const streamed = final
      ? storage.writeTaskOwnedStreamed &&
        ((file: StreamedStateFile) => storage.writeTaskOwnedStreamed!(`${name}-final-${attempt}`, file))
      : storage.writeTaskStateStreamed &&
        ((file: StreamedStateFile) => storage.writeTaskStateStreamed!(id, name, file));
    if (!cp.incremental && streamed !== undefined) {
      // One key group in memory at a time, not the whole file (see streamTaskSnapshot).
      try {
        const written = await streamed(streamTaskSnapshot(snapshot));
        return { subtask, file: written.path, keyGroups: undefined, size: written.size, finished: final };
      } finally {
        releaseKeyedState(snapshot); // when the file could not even be opened
      }
    }
    if (cp.incremental) {
      // A few writes in flight (each file is synced), each holding its key group until done.
      const inFlight = new Set<Promise<void>>();
      const reused: Array<Promise<unknown>> = [];
      let failure: { error: unknown } | undefined;
      try {
        await forEachKeyGroup(snapshot, async (uid, kg, group) => {
          if (failure !== undefined) throw failure.error;
          const crc = crc32(group);
          const k = `${uid}/${kg}`;
          // By key group and operator: a chain may hold two keyed operators (a keyBy edge between
          // two operators of parallelism 1 is chained), each with its own file for the group.
          const entry = `${kg}/${uid}`;
          const prev = previous.get(k);
          if (prev !== undefined && prev.crc === crc) {
            keyGroups[entry] = prev.path;
            reused.push(prev.written);
            return;
          }
          // Unique per write: a final state is written once per attempt, under the attempt's name.
          const file = `${name}-${safe(uid)}-kg${kg}-${final ? `final-${attempt}` : `chk${id}`}`;
          const path = `shared/${file}.kg`;
          const bytes = encodeKeyGroupFile(uid, kg, group);
          size += bytes.length;
          const written = cp.storage.writeSharedBytes(file, bytes);
          const mine = { crc, path, written };
          previous.set(k, mine);
          keyGroups[entry] = path;
          const done: Promise<void> = written.then(
            () => void inFlight.delete(done),
            (error: unknown) => {
              inFlight.delete(done);
              if (previous.get(k) === mine) previous.delete(k);
              failure ??= { error };
            },
          );
          inFlight.add(done);
          if (inFlight.size >= SHARED_WRITES_IN_FLIGHT) await Promise.race(inFlight);
        });
      } finally {
        // Every write settles before the handle is returned or the failure reported.
        await Promise.all(inFlight);
      }
      if (failure !== undefined) throw (failure as { error: unknown }).error;
      // Files reused from a checkpoint whose writes may still be in flight: if one failed, this
      // checkpoint fails too (it would reference a file that does not exist).
      await Promise.all(reused);
    } else await encodeKeyedState(snapshot);
    const written = final
      ? await cp.storage.writeTaskOwned(`${name}-final-${attempt}`, snapshot)
      : await cp.storage.writeTaskState(id, name, snapshot);
    return {
      subtask,
      file: written.path,
      keyGroups: cp.incremental ? keyGroups : undefined,
      size: size + written.size,
      finished: final,
    };
  };
  // Acknowledgements still being written. The task's final state is reported only after them: the
  // coordinator counts a final state in every checkpoint still waiting for the task, so a final
  // state reported first would stand in for a checkpoint whose barrier the task had already
  // passed, holding what came after it (a source's later position: records lost on restore).
  const acknowledging = new Set<Promise<void>>();
  return {
    acknowledge(id, snapshot) {
      const done = write(id, snapshot, false).then(
        (h) => cp.hooks.acknowledge(vertexId, subtask, id, h),
        (e: Error) => cp.hooks.decline(id, `task ${name} could not write its state: ${e.message}`),
      );
      acknowledging.add(done);
      const settled = () => void acknowledging.delete(done);
      done.then(settled, settled);
    },
    decline(id, reason) {
      cp.hooks.decline(id, reason);
    },
    finished(snapshot) {
      // The final state is written under the attempt's own name: a completed checkpoint of an
      // earlier attempt may still refer to the previous one. If it cannot be written, no later
      // checkpoint can stand for this task (its sinks' end-of-input committables would be lost).
      const written = write(0, snapshot, true);
      Promise.allSettled([...acknowledging])
        .then(() => written)
        .then(
          (h) => cp.hooks.finished(vertexId, subtask, h),
          (e: Error) =>
            cp.hooks.finished(
              vertexId,
              subtask,
              { subtask, file: undefined, keyGroups: undefined, size: 0, finished: true },
              `task ${name} could not write its final state: ${e.message}`,
            ),
        );
    },
  };
}

/**
 * The vertices whose tasks restore as finished: every operator had finished in every subtask at
 * the checkpoint, and so had everything upstream (a task that runs again may still send records).
 */
function finishedVertices(eg: ExecutionGraph, cp: LoadedCheckpoint): Set<number> {
  const memo = new Map<number, boolean>();
  const finished = (v: JobVertex): boolean => {
    let f = memo.get(v.id);
    if (f === undefined) {
      memo.set(v.id, false);
      const uids = v.nodes.map((n) => n.uid);
      f = isFinishedOnRestore(cp, uids) && v.inputs.every((e) => finished(e.source));
      memo.set(v.id, f);
    }
    return f;
  };
  return new Set(eg.jobGraph.vertices.filter(finished).map((v) => v.id));
}

function safe(uid: string): string {
  return uid.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 60);
}
