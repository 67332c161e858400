// The watermark doctor: "why doesn't my window fire?". From the latest metric snapshots of a job's
// subtasks (each names its input channels' or source splits' watermarks), it finds every subtask
// whose watermark lags behind the furthest watermark any source reached, follows the input holding
// it back (the channel with the lowest watermark, to its producer, and so on) down to the source
// split at the root, and says why that split holds it: no data and no idleness configured, no
// split at all, a split slower than its siblings, or a split whose events are older. Where a chain
// has an assignTimestampsAndWatermarks operator, the watermark starts there, not at the source: the
// same questions are asked of that operator's subtask (no records, slower or older than its
// siblings).

import type { JobVertexInfo } from "./job-metrics.ts";
import type {
  AssignerWatermarkInfo,
  SplitWatermarkInfo,
  TaskMetricsSnapshot,
} from "./task-metrics-snapshot.ts";

export type WatermarkCause =
  /** A split without data, and the strategy has no idle timeout: it holds the watermark forever. */
  | "no-data-no-idleness"
  /** A split without data so far; it goes idle once the strategy's idle timeout has passed. */
  | "no-data-idleness-pending"
  /** A reader without any split (more source subtasks than splits), and no idle timeout. */
  | "no-split-no-idleness"
  /** A split reading fewer records per second than its siblings. */
  | "slow-split"
  /** A split reading as fast as its siblings, but its events are older (its event time is behind). */
  | "old-timestamps"
  /** The source has no WatermarkStrategy: it emits no watermarks at all. */
  | "no-watermark-strategy"
  /** Only one input: the subtask's own source is at that event time (nothing holds it back). */
  | "source-behind";

/** One hop from a lagging subtask towards the cause: the input with the lowest watermark. */
export interface WatermarkHop {
  vertexId: number;
  vertexName: string;
  subtask: number;
  /** The channel (from a producer subtask) or split holding this subtask's watermark. */
  input:
    | { kind: "channel"; producerVertexId: number; producerName: string; producerSubtask: number }
    | { kind: "split"; splitId: string };
  /** Its watermark (null: none yet). */
  watermark: number | null;
  /** The highest watermark of the other active inputs (null: none, or none has one). */
  othersWatermark: number | null;
  /** How far it holds the subtask back behind the others, ms (null: unbounded, it has none). */
  behindMs: number | null;
}

export interface WatermarkFinding {
  vertexId: number;
  vertexName: string;
  subtask: number;
  /** The subtask's input watermark (null: none yet). */
  watermark: number | null;
  /** Behind the furthest source watermark, ms (null: it has no watermark at all). */
  lagMs: number | null;
  /** Event-time timers (windows) of its operators waiting for the watermark. */
  pendingEventTimeTimers: number;
  /** From this subtask to the root cause. */
  path: WatermarkHop[];
  cause: WatermarkCause | undefined;
  /** The diagnosis in a sentence: where, by how much, why, what to do. */
  message: string;
}

export interface WatermarkDiagnosis {
  /** The furthest watermark any source subtask reached (null: none has one). */
  frontier: number | null;
  findings: WatermarkFinding[];
}

export interface DoctorOptions {
  /** A subtask lags when its watermark is further than this behind the frontier (default 1000 ms). */
  minLagMs?: number;
}

/** A slow split reads less than this share of its siblings' median rate. */
const SLOW_SHARE = 0.5;
const MAX_HOPS = 64;

/** Diagnose the job's lagging watermarks from its subtasks' latest snapshots. */
export function diagnoseWatermarks(
  vertices: readonly JobVertexInfo[],
  tasks: readonly TaskMetricsSnapshot[],
  options: DoctorOptions = {},
): WatermarkDiagnosis {
  const minLag = options.minLagMs ?? 1000;
  const names = new Map(vertices.map((v) => [v.id, v.name]));
  const byId = new Map(tasks.map((t) => [`${t.vertexId}/${t.subtask}`, t]));
  const frontier = furthestWatermark(tasks);
  const findings: WatermarkFinding[] = [];
  for (const t of tasks) {
    const info = t.watermarks;
    if (info === undefined || t.state === "finished") continue;
    // An assigner in the chain makes the task's watermark, whatever its input's or its source's:
    // that is the watermark the diagnosis (trace) judges, so it is the one shown and measured.
    const w = info.assigner?.watermark ?? t.metrics.currentInputWatermark ?? Number.NEGATIVE_INFINITY;
    if (w === Number.POSITIVE_INFINITY) continue;
    const timers = info.pendingTimers.reduce((s, p) => s + p.eventTimeTimers, 0);
    const noFrontier = frontier === Number.NEGATIVE_INFINITY;
    // Without any source watermark, only subtasks waiting on event time are worth a word.
    if (noFrontier ? timers === 0 : Number.isFinite(w) && frontier - w <= minLag) continue;
    const path: WatermarkHop[] = [];
    const cause = trace(t, byId, names, path);
    const vertexName = names.get(t.vertexId) ?? t.taskName;
    findings.push({
      vertexId: t.vertexId,
      vertexName,
      subtask: t.subtask,
      watermark: Number.isFinite(w) ? w : null,
      lagMs: noFrontier || !Number.isFinite(w) ? null : frontier - w,
      pendingEventTimeTimers: timers,
      path,
      cause: cause?.cause,
      message: describe(vertexName, t.subtask, w, frontier, timers, path, cause),
    });
  }
  return { frontier: Number.isFinite(frontier) ? frontier : null, findings };
}

/**
 * The furthest watermark the job reached: over the source splits, and over every operator's output
 * (watermarks are often assigned by an operator chained after the source, or further down, by
 * assignTimestampsAndWatermarks: the source itself then has none). The end of time (a finished
 * input) does not count.
 */
function furthestWatermark(tasks: readonly TaskMetricsSnapshot[]): number {
  let frontier = Number.NEGATIVE_INFINITY;
  const consider = (w: number | undefined) => {
    if (w !== undefined && Number.isFinite(w) && w > frontier) frontier = w;
  };
  for (const t of tasks) {
    consider(t.metrics.currentInputWatermark);
    consider(t.metrics.currentOutputWatermark);
    for (const o of t.operators) consider(o.metrics.currentOutputWatermark);
    for (const s of t.watermarks?.source?.splits ?? []) consider(s.watermark);
  }
  return frontier;
}

interface Cause {
  cause: WatermarkCause;
  detail: string;
}

/** Follow the lowest input from `t` down to a source; fills `path`, returns the root cause. */
function trace(
  start: TaskMetricsSnapshot,
  byId: Map<string, TaskMetricsSnapshot>,
  names: Map<number, string>,
  path: WatermarkHop[],
): Cause | undefined {
  let t: TaskMetricsSnapshot | undefined = start;
  while (t !== undefined && path.length < MAX_HOPS) {
    const info = t.watermarks;
    if (info === undefined) return undefined;
    const vertexName = names.get(t.vertexId) ?? t.taskName;
    // An assigner in the chain makes the watermark itself: what comes before it does not count.
    if (info.assigner !== undefined) return assignerCause(t, info.assigner, byId);
    if (info.source !== undefined) return sourceCause(t, vertexName, info.source, path);
    const active = (info.channels ?? []).filter((c) => !c.idle && !c.ended);
    if (active.length === 0) return undefined;
    let low = active[0]!;
    for (const c of active) if (c.watermark < low.watermark) low = c;
    const others = active.filter((c) => c !== low).map((c) => c.watermark);
    path.push({
      vertexId: t.vertexId,
      vertexName,
      subtask: t.subtask,
      input: {
        kind: "channel",
        producerVertexId: low.producerVertexId,
        producerName: names.get(low.producerVertexId) ?? `vertex ${low.producerVertexId}`,
        producerSubtask: low.producerSubtask,
      },
      ...behind(low.watermark, others),
    });
    t = byId.get(`${low.producerVertexId}/${low.producerSubtask}`);
  }
  return undefined;
}

function sourceCause(
  t: TaskMetricsSnapshot,
  vertexName: string,
  source: NonNullable<NonNullable<TaskMetricsSnapshot["watermarks"]>["source"]>,
  path: WatermarkHop[],
): Cause {
  if (!source.eventTime) {
    return {
      cause: "no-watermark-strategy",
      detail: `source '${vertexName}' has no WatermarkStrategy, so it emits no watermarks; give it one (fromSource(source, WatermarkStrategy.forBoundedOutOfOrderness(ms)…) or assignTimestampsAndWatermarks)`,
    };
  }
  const active = source.splits.filter((s) => !s.idle);
  if (active.length === 0) {
    return { cause: "source-behind", detail: `every split of source '${vertexName}' is idle` };
  }
  let low: SplitWatermarkInfo = active[0]!;
  // On a tie (at the start, all at none), the split without data is the one to name.
  for (const s of active) {
    if (s.watermark < low.watermark || (s.watermark === low.watermark && s.records < low.records)) low = s;
  }
  const others = active.filter((s) => s !== low);
  const hop = behind(
    low.watermark,
    others.map((s) => s.watermark),
  );
  path.push({
    vertexId: t.vertexId,
    vertexName,
    subtask: t.subtask,
    input: { kind: "split", splitId: low.splitId },
    ...hop,
  });
  const where = `source '${vertexName}' subtask ${t.subtask}`;
  const idleness = source.idleTimeoutMs;
  if (low.records === 0) {
    const noSplit = low.splitId === "(no split)";
    const what = noSplit
      ? `${where} has no split to read`
      : `split '${low.splitId}' of ${where} has had no data`;
    if (idleness === null) {
      return {
        cause: noSplit ? "no-split-no-idleness" : "no-data-no-idleness",
        detail: `${what} and no idleness is configured, so it holds the watermark back for good; add .withIdleness(ms) to the WatermarkStrategy${noSplit ? ", or give the source no more subtasks than splits" : ""}`,
      };
    }
    return {
      cause: "no-data-idleness-pending",
      detail: `${what}; it counts as idle once it has had none for ${formatMs(idleness)} (withIdleness)`,
    };
  }
  if (others.length === 0) {
    return {
      cause: "source-behind",
      detail: `${where} reads one split ('${low.splitId}'), whose event time is at ${formatTime(low.watermark)}`,
    };
  }
  const rates = others.map((s) => s.recordsPerSecond).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  const by = hop.behindMs === null ? "" : ` ${formatMs(hop.behindMs)}`;
  if (median > 0 && low.recordsPerSecond < SLOW_SHARE * median) {
    return {
      cause: "slow-split",
      detail: `split '${low.splitId}' of ${where} is slow: it reads ${Math.round(low.recordsPerSecond)} records/s against ${Math.round(median)} on the others, and is${by} behind them in event time`,
    };
  }
  return {
    cause: "old-timestamps",
    detail: `split '${low.splitId}' of ${where} reads as fast as the others but its events are${by} older (its watermark is ${formatTime(low.watermark)}): a partition with old timestamps (a backlog, or a producer with a late clock)`,
  };
}

/**
 * The chain's assignTimestampsAndWatermarks holds the watermark: it had no records (and no idle
 * timeout), or it is slower or older than the same operator's other subtasks.
 */
function assignerCause(
  t: TaskMetricsSnapshot,
  a: AssignerWatermarkInfo,
  byId: Map<string, TaskMetricsSnapshot>,
): Cause {
  const where = `'${a.name}' (assignTimestampsAndWatermarks) subtask ${t.subtask}`;
  if (a.records === 0) {
    if (a.idleTimeoutMs === null) {
      return {
        cause: "no-data-no-idleness",
        detail: `${where} has had no records and its WatermarkStrategy has no idleness, so it holds the watermark back for good; add .withIdleness(ms) to the WatermarkStrategy, or give the operator no more subtasks than its input has partitions with data`,
      };
    }
    return {
      cause: "no-data-idleness-pending",
      detail: `${where} has had no records; it counts as idle once it has had none for ${formatMs(a.idleTimeoutMs)} (withIdleness)`,
    };
  }
  const others: AssignerWatermarkInfo[] = [];
  for (let i = 0; ; i++) {
    const sibling = byId.get(`${t.vertexId}/${i}`);
    if (sibling === undefined) break;
    const o = sibling.watermarks?.assigner;
    if (i !== t.subtask && o !== undefined && !o.idle && o.uid === a.uid) others.push(o);
  }
  const hop = behind(
    a.watermark,
    others.map((o) => o.watermark),
  );
  // Not behind: no other subtask has a watermark, or none is ahead of this one.
  if (hop.othersWatermark === null || (hop.behindMs !== null && hop.behindMs <= 0)) {
    return {
      cause: "source-behind",
      detail: `${where} is not behind the operator's other subtasks; its watermark is at ${formatTime(a.watermark)}`,
    };
  }
  const by = hop.behindMs === null ? "" : ` ${formatMs(hop.behindMs)}`;
  const rates = others.map((o) => o.recordsPerSecond).sort((x, y) => x - y);
  const median = rates[Math.floor(rates.length / 2)]!;
  if (median > 0 && a.recordsPerSecond < SLOW_SHARE * median) {
    return {
      cause: "slow-split",
      detail: `${where} is slow: it assigns ${Math.round(a.recordsPerSecond)} records/s against ${Math.round(median)} on the other subtasks, and is${by} behind them in event time`,
    };
  }
  return {
    cause: "old-timestamps",
    detail: `${where} assigns as many records as the others but their events are${by} older (its watermark is ${formatTime(a.watermark)}): an input partition with old timestamps (a backlog, or a producer with a late clock)`,
  };
}

function behind(
  watermark: number,
  others: number[],
): Pick<WatermarkHop, "watermark" | "othersWatermark" | "behindMs"> {
  const max = others.length === 0 ? Number.NEGATIVE_INFINITY : Math.max(...others);
  return {
    watermark: Number.isFinite(watermark) ? watermark : null,
    othersWatermark: Number.isFinite(max) ? max : null,
    behindMs: Number.isFinite(max) && Number.isFinite(watermark) ? max - watermark : null,
  };
}

function describe(
  vertexName: string,
  subtask: number,
  w: number,
  frontier: number,
  timers: number,
  path: WatermarkHop[],
  cause: Cause | undefined,
): string {
  const at = Number.isFinite(w) ? `at ${formatTime(w)}` : "without a watermark";
  const lag =
    Number.isFinite(frontier) && Number.isFinite(w)
      ? `, ${formatMs(frontier - w)} behind the furthest source`
      : "";
  const waiting = timers > 0 ? `; ${timers} event-time timer(s) (windows) wait for it` : "";
  const hops = path.map((h) => {
    const from =
      h.input.kind === "channel"
        ? `the channel from '${h.input.producerName}' subtask ${h.input.producerSubtask}`
        : `split '${h.input.splitId}'`;
    const by =
      h.behindMs !== null
        ? ` (${formatMs(h.behindMs)} behind the other inputs)`
        : h.watermark === null && h.othersWatermark !== null
          ? " (no watermark, the other inputs have one)"
          : "";
    return `${from}${by}`;
  });
  const held = hops.length === 0 ? "" : `; held back by ${hops.join(", in turn held by ")}`;
  const why = cause === undefined ? "" : `: ${cause.detail}`;
  return `'${vertexName}' subtask ${subtask} is ${at}${lag}${waiting}${held}${why}`;
}

/**
 * What `weir run` prints when a job ends with windows that never fired: the findings of subtasks
 * with event-time timers still waiting (none when every window fired, or none waits on a lag).
 */
export function windowsNeverFiredLines(diagnosis: WatermarkDiagnosis): string[] {
  const waiting = diagnosis.findings.filter((f) => f.pendingEventTimeTimers > 0);
  if (waiting.length === 0) return [];
  return [
    "weir: the job ended with windows that never fired; the watermark doctor says:",
    ...waiting.map((f) => `  ${f.message}`),
  ];
}

function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function formatTime(t: number): string {
  if (!Number.isFinite(t)) return t > 0 ? "the end of time" : "no watermark";
  // Epoch-ms event times read as dates; small ones (tests, offsets) as numbers.
  return t > 946_684_800_000 && t < 4_102_444_800_000 ? new Date(t).toISOString() : String(t);
}
