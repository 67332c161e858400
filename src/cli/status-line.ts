// `weir run`'s live status line: a pure function from a snapshot of the job's metrics (the
// coordinator's JobMetrics, read by run-command.ts's timer) to one line of text. Nothing here
// writes or keeps time.

import type { TaskMetricsSnapshot } from "../runtime/metrics/task-metrics-snapshot.ts";
import { formatCount } from "./report.ts";

/** What one status line is made of, read from the job's metrics at one moment. */
export interface StatusSnapshot {
  /** Time since the job was submitted (ms). */
  elapsedMs: number;
  /** Wall-clock time now (ms since the epoch): for the watermark's lag and the checkpoint's age. */
  nowMs: number;
  /** The latest snapshot of every running subtask (job totals or the current attempt's). */
  tasks: readonly TaskMetricsSnapshot[];
  /** Job-scope metrics (`JobMetrics.jobMetrics()`): numRestarts, lastCompletedCheckpointId, ... */
  job: Readonly<Record<string, number>>;
  /** When the last completed checkpoint was seen to complete (ms since the epoch), if known. */
  lastCheckpointAt: number | undefined;
  /** Vertices without inputs (the sources) and without outputs (the sinks). */
  sourceVertices: ReadonlySet<number>;
  sinkVertices: ReadonlySet<number>;
  /** Vertex names, to say which ones are backpressured. */
  vertexNames: ReadonlyMap<number, string>;
}

/** Watermarks between these look like epoch milliseconds (2001 to 5138): shown as a time. */
const EPOCH_MS_MIN = 1e12;
const EPOCH_MS_MAX = 1e14;

/**
 * One line, e.g. `weir: 1m05s | in 2,000/s | out 1,998/s | watermark 14:59:01Z (lag 1.2s) |
 * checkpoint 7 (3s ago) | restarts 0 | no backpressure`.
 */
export function statusLine(s: StatusSnapshot): string {
  const parts = [`weir: ${formatElapsed(s.elapsedMs)}`];
  if (s.tasks.length === 0) {
    parts.push("starting tasks");
  } else {
    let inRate = 0;
    let outRate = 0;
    let watermark = Number.POSITIVE_INFINITY;
    for (const t of s.tasks) {
      if (s.sourceVertices.has(t.vertexId)) inRate += t.metrics.numRecordsInPerSecond ?? 0;
      if (s.sinkVertices.has(t.vertexId)) {
        // The sink is the chain's last operator: what reaches it leaves the job.
        const sink = t.operators[t.operators.length - 1];
        outRate += sink?.metrics.numRecordsInPerSecond ?? t.metrics.numRecordsInPerSecond ?? 0;
        const wm = sink?.metrics.currentInputWatermark ?? t.metrics.currentInputWatermark;
        watermark = Math.min(watermark, wm ?? Number.NEGATIVE_INFINITY);
      }
    }
    parts.push(`in ${formatRate(inRate)}`, `out ${formatRate(outRate)}`);
    parts.push(formatWatermark(watermark, s.nowMs));
  }
  parts.push(formatCheckpoint(s));
  parts.push(`restarts ${s.job.numRestarts ?? 0}`);
  parts.push(formatBackpressure(s));
  return parts.join(" | ");
}

/** `45s`, `3m05s`, `2h04m`. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

function formatRate(perSecond: number): string {
  const r = perSecond < 10 ? Math.round(perSecond * 10) / 10 : Math.round(perSecond);
  return `${formatCount(r)}/s`;
}

function formatWatermark(wm: number, nowMs: number): string {
  // No sink task (yet), or one of them has seen no watermark: the sinks have none.
  if (wm === Number.NEGATIVE_INFINITY || Number.isNaN(wm)) return "no watermark";
  if (wm === Number.POSITIVE_INFINITY) return "watermark end of input";
  if (wm >= EPOCH_MS_MIN && wm < EPOCH_MS_MAX) {
    const time = `${new Date(wm).toISOString().slice(11, 19)}Z`;
    return `watermark ${time} (lag ${formatLag(nowMs - wm)})`;
  }
  return `watermark ${formatCount(wm)}`;
}

function formatLag(ms: number): string {
  if (ms < 0) return "0s";
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : formatElapsed(ms);
}

function formatCheckpoint(s: StatusSnapshot): string {
  const id = s.job.lastCompletedCheckpointId;
  // No checkpoint metrics at all: the job does not checkpoint.
  if (id === undefined) return "checkpoints off";
  if (id <= 0) return "no checkpoint yet";
  const age = s.lastCheckpointAt === undefined ? "" : ` (${formatElapsed(s.nowMs - s.lastCheckpointAt)} ago)`;
  return `checkpoint ${id}${age}`;
}

function formatBackpressure(s: StatusSnapshot): string {
  const names: string[] = [];
  for (const t of s.tasks) {
    if (t.metrics.isBackPressured !== 1) continue;
    const name = s.vertexNames.get(t.vertexId) ?? t.taskName;
    if (!names.includes(name)) names.push(name);
  }
  return names.length === 0 ? "no backpressure" : `backpressured: ${names.join(", ")}`;
}
