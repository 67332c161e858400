// A worker thread's side of metric reporting: every interval, from a timer (an event-loop turn
// between the executor's rounds, never inside the record loop), snapshot every task of the thread
// and hand the plain data to `send`; once more when reporting stops, so the last counts arrive.

import type { StreamTask } from "../stream-task.ts";
import { type TaskMetricsSnapshot, snapshotTask } from "./task-metrics-snapshot.ts";

/** How often worker threads send their tasks' metrics to the coordinator. */
export const METRICS_REPORT_INTERVAL_MS = 1000;
/** Overrides it (ms; 0: no periodic reports, only the last one): what the overhead benchmark turns off. */
export const METRICS_INTERVAL_ENV = "WEIR_METRICS_INTERVAL_MS";

/** The report interval: $WEIR_METRICS_INTERVAL_MS when it is a whole number >= 0, else 1 s. */
export function metricsReportInterval(): number {
  const raw = process.env[METRICS_INTERVAL_ENV];
  const n = raw === undefined || raw.trim() === "" ? Number.NaN : Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : METRICS_REPORT_INTERVAL_MS;
}

export interface MetricsReporting {
  /** Send a last snapshot and stop. */
  stop(): void;
}

export function startMetricsReporting(
  tasks: readonly StreamTask[],
  send: (snapshots: TaskMetricsSnapshot[]) => void,
  intervalMs: number = metricsReportInterval(),
): MetricsReporting {
  const report = () => send(tasks.map((t) => snapshotTask(t)));
  const timer = intervalMs > 0 ? setInterval(report, intervalMs) : undefined;
  timer?.unref();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      report();
    },
  };
}
