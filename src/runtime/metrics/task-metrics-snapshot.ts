// A subtask's metrics read out as plain data (Flink's task and operator metric names), between
// steps, from the executor's thread: the record counters are read where they are kept, the rates
// are computed from them now, never per record.

import { Counter } from "../../core/functions.ts";
import { HeapKeyedStateBackend } from "../../state/heap-keyed-state-backend.ts";
import { type AccumulatorReport, reportAccumulators } from "../accumulators.ts";
import type { StreamTask } from "../stream-task.ts";
import type { SourceLatency } from "./latency-stats.ts";
import type { MetricValue } from "./metric-value.ts";
import type { SubtaskCheckpointStats } from "./subtask-checkpoint-stats.ts";

export interface OperatorMetricsSnapshot {
  uid: string;
  name: string;
  /** numRecordsIn, numRecordsOut, their PerSecond rates, watermarks, numLateRecordsDropped. */
  metrics: Record<string, number>;
  /** Metrics registered by the user's function through its runtime context. */
  user: MetricValue[];
  /** A source operator's splits (assigned and not finished): `watermark.currentWatermark`, idle time. */
  splits?: Array<{ splitId: string; metrics: Record<string, number> }>;
  /** Latency from each source whose markers reached this operator (only with latency tracking). */
  latency?: SourceLatency[];
}

/** One input channel's watermark, and the producer subtask it comes from. */
export interface ChannelWatermarkInfo {
  producerVertexId: number;
  producerSubtask: number;
  watermark: number;
  idle: boolean;
  ended: boolean;
}

/** A source split's (or a reader's output without a split) watermark, for the watermark doctor. */
export interface SplitWatermarkInfo {
  splitId: string;
  watermark: number;
  idle: boolean;
  /** Records it emitted with event time, and their rate. */
  records: number;
  recordsPerSecond: number;
}

/** An assignTimestampsAndWatermarks operator's watermark, for the watermark doctor. */
export interface AssignerWatermarkInfo {
  uid: string;
  name: string;
  watermark: number;
  idle: boolean;
  idleTimeoutMs: number | null;
  /** Records it assigned a timestamp to, and their rate. */
  records: number;
  recordsPerSecond: number;
}

/** What a task's watermark is the minimum of, and what waits for it (for the watermark doctor). */
export interface TaskWatermarkInfo {
  /** A task reading from the network: its input channels. */
  channels?: ChannelWatermarkInfo[];
  /** A source task: whether its source has event time, its idle timeout, and its splits. */
  source?: { eventTime: boolean; idleTimeoutMs: number | null; splits: SplitWatermarkInfo[] };
  /**
   * The chain's last assignTimestampsAndWatermarks operator, if it has one: the task's output
   * watermark is this operator's, whatever its inputs' or its source's are.
   */
  assigner?: AssignerWatermarkInfo;
  /** Operators of the chain with event-time timers (windows) waiting for the watermark. */
  pendingTimers: Array<{ uid: string; name: string; eventTimeTimers: number }>;
}

export interface TaskMetricsSnapshot {
  vertexId: number;
  subtask: number;
  /** The execution attempt (0 for the first run): counts restart from 0 in every attempt. */
  attempt: number;
  taskName: string;
  state: string;
  /** Wall-clock time of the snapshot (ms since the epoch). */
  timestamp: number;
  metrics: Record<string, number>;
  operators: OperatorMetricsSnapshot[];
  /** Where the task's watermark comes from (absent from snapshots of older senders). */
  watermarks?: TaskWatermarkInfo;
  /** The last checkpoints the subtask acknowledged, oldest first (absent from older senders). */
  checkpoints?: SubtaskCheckpointStats[];
  /** The subtask's accumulators now (absent from older senders). */
  accumulators?: AccumulatorReport[];
}

/** Read a task's metrics now. */
export function snapshotTask(task: StreamTask, nowMs: number = performance.now()): TaskMetricsSnapshot {
  const setup = task.setup;
  const m = task.metrics;
  const wallNow = Date.now();
  let recordsOut = 0;
  let bytesOut = 0;
  let outstanding = 0;
  let outCapacity = 0;
  for (const w of setup.writers) {
    recordsOut += w.recordsOut;
    bytesOut += w.bytesOut;
    for (const sp of w.subpartitions) {
      outstanding += sp.outstanding;
      outCapacity += sp.initialCredits + 2;
    }
  }
  let bytesIn = 0;
  let queued = 0;
  let inCapacity = 0;
  for (const c of setup.gate?.channels ?? []) {
    bytesIn += c.bytesIn;
    queued += c.queue.length;
    inCapacity += m.inputCredits;
  }
  const recordsIn = task.numRecordsIn;
  const last = setup.chain[setup.chain.length - 1]!;
  const metrics: Record<string, number> = {
    numRecordsIn: recordsIn,
    numRecordsOut: recordsOut,
    numRecordsInPerSecond: m.rate("numRecordsIn", recordsIn, nowMs),
    numRecordsOutPerSecond: m.rate("numRecordsOut", recordsOut, nowMs),
    numBytesIn: bytesIn,
    numBytesOut: bytesOut,
    numBytesInPerSecond: m.rate("numBytesIn", bytesIn, nowMs),
    numBytesOutPerSecond: m.rate("numBytesOut", bytesOut, nowMs),
    busyTimeMsPerSecond: Math.min(1000, m.rate("busy", m.busyMs, nowMs)),
    backPressuredTimeMsPerSecond: Math.min(1000, m.rate("backPressured", m.backPressuredMs, nowMs)),
    idleTimeMsPerSecond: Math.min(1000, m.rate("idle", m.idleMs, nowMs)),
    accumulatedBusyTimeMs: m.busyMs,
    accumulatedBackPressuredTimeMs: m.backPressuredMs,
    accumulatedIdleTimeMs: m.idleMs,
    isBackPressured: m.backPressured && task.state === "running" ? 1 : 0,
    mailboxQueueSize: task.mailboxSize,
    checkpointAlignmentTime: Math.round(task.lastAlignmentMs * 1e6),
    checkpointStartDelayNanos: Math.round(m.checkpoints.lastStartDelayNanos),
    currentInputWatermark: task.inputWatermark,
    currentOutputWatermark: last.output.lastWatermark,
    inPoolUsage: inCapacity === 0 ? 0 : Math.min(1, queued / inCapacity),
    outPoolUsage: outCapacity === 0 ? 0 : Math.min(1, outstanding / outCapacity),
  };
  const operators: OperatorMetricsSnapshot[] = setup.chain.map((member, i) => {
    const op = member.operator;
    const uid = member.info.uid;
    const opIn = op === undefined ? recordsIn : op.numRecordsIn;
    const opOut = member.output.numRecordsOut;
    const user: MetricValue[] = [];
    m.operators.get(uid)?.collect(user, nowMs);
    const latency = op?.latency?.snapshot();
    return {
      ...(latency === undefined ? {} : { latency }),
      uid,
      name: member.info.name,
      metrics: {
        numRecordsIn: opIn,
        numRecordsOut: opOut,
        numRecordsInPerSecond: m.rate(`${i}.in`, opIn, nowMs),
        numRecordsOutPerSecond: m.rate(`${i}.out`, opOut, nowMs),
        currentInputWatermark: op === undefined ? task.inputWatermark : op.inputWatermark,
        currentOutputWatermark: member.output.lastWatermark,
        numLateRecordsDropped: lateRecordsDropped(op),
        ...stateEntries(op),
      },
      user,
    };
  });
  const sourceOutput = setup.sourceOutput;
  if (sourceOutput !== undefined) {
    operators[0]!.splits = sourceOutput.splitStates().map((s) => {
      const idleMs = m.splitIdleMs(s.splitId, s.idle, nowMs);
      const metrics: Record<string, number> = {
        "watermark.currentWatermark": s.watermark,
        isIdle: s.idle ? 1 : 0,
        accumulatedIdleTimeMs: idleMs,
        idleTimeMsPerSecond: Math.min(1000, m.rate(`split:${s.splitId}:idle`, idleMs, nowMs)),
      };
      // As Flink's: wall-clock time now less the event time of the last record the split emitted.
      if (!Number.isNaN(s.lastTimestamp)) metrics.currentEmitEventTimeLag = wallNow - s.lastTimestamp;
      return { splitId: s.splitId, metrics };
    });
  }
  return {
    watermarks: watermarkInfo(task, nowMs),
    checkpoints: m.checkpoints.recent(),
    accumulators: reportAccumulators(setup.accumulators),
    vertexId: setup.vertexId,
    subtask: setup.identity.subtaskIndex,
    attempt: setup.identity.attemptNumber,
    taskName: m.scope.taskName,
    state: task.state,
    timestamp: wallNow,
    metrics,
    operators,
  };
}

function watermarkInfo(task: StreamTask, nowMs: number): TaskWatermarkInfo {
  const setup = task.setup;
  const m = task.metrics;
  const pendingTimers: TaskWatermarkInfo["pendingTimers"] = [];
  for (const member of setup.chain) {
    const n = eventTimeTimers(member.operator);
    if (n > 0) pendingTimers.push({ uid: member.info.uid, name: member.info.name, eventTimeTimers: n });
  }
  const info: TaskWatermarkInfo = { pendingTimers };
  for (const member of setup.chain) {
    const a = assignment(member.operator);
    if (a === undefined) continue;
    info.assigner = {
      uid: member.info.uid,
      name: member.info.name,
      ...a,
      recordsPerSecond: m.rate(`assigner:${member.info.uid}:records`, a.records, nowMs),
    };
  }
  const gate = setup.gate;
  if (gate !== undefined) {
    info.channels = gate.channels.map((c, i) => {
      const p = setup.channelProducers?.[i];
      return {
        producerVertexId: p?.vertexId ?? -1,
        producerSubtask: p?.subtask ?? -1,
        watermark: c.watermark,
        idle: c.idle,
        ended: c.endOfPartition,
      };
    });
  }
  const out = setup.sourceOutput;
  if (out !== undefined) {
    const w = out.watermarking;
    info.source = {
      eventTime: w.eventTime,
      idleTimeoutMs: w.idleTimeoutMs ?? null,
      splits: out.watermarkInputs().map((s) => ({
        splitId: s.splitId,
        watermark: s.watermark,
        idle: s.idle,
        records: s.records,
        recordsPerSecond: m.rate(`split:${s.splitId}:records`, s.records, nowMs),
      })),
    };
  }
  return info;
}

/**
 * The operator's keyed state size, as the number of (key, namespace) entries over its states, on
 * the heap backend (counting them is cheap there; the embedded store would need a scan).
 */
function stateEntries(op: unknown): { stateEntries?: number } {
  const backend = (op as { keyedBackend?: () => unknown } | undefined)?.keyedBackend?.call(op);
  if (!(backend instanceof HeapKeyedStateBackend)) return {};
  let n = 0;
  for (const name of backend.stateNames()) n += backend.size(name);
  return { stateEntries: n };
}

/** An assignTimestampsAndWatermarks operator's watermark state; undefined for any other operator. */
function assignment(
  op: unknown,
): Omit<AssignerWatermarkInfo, "uid" | "name" | "recordsPerSecond"> | undefined {
  const f = (op as { watermarkAssignment?: unknown } | undefined)?.watermarkAssignment;
  return typeof f === "function" ? f.call(op) : undefined;
}

/** Event-time timers registered with an operator (windows, process functions); 0 without any. */
function eventTimeTimers(op: unknown): number {
  const f = (op as { numTimers?: unknown } | undefined)?.numTimers;
  return typeof f === "function" ? (f as (d: "event") => number).call(op, "event") : 0;
}

/**
 * Operators that drop late records (windows, interval joins) count them in a `lateDropped`
 * accumulator of their own; every other operator drops none.
 */
function lateRecordsDropped(op: unknown): number {
  const c = (op as { lateDropped?: unknown } | undefined)?.lateDropped;
  return c instanceof Counter ? c.getLocalValue() : 0;
}
