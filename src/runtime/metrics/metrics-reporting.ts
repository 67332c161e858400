// A worker thread's side of metric reporting: every interval, from a timer (an event-loop turn
// between the executor's rounds, never inside the record loop), snapshot every task of the thread
// and hand the plain data to `send`; once more when reporting stops, so the last counts arrive.

import type { StreamTask } from "../stream-task.ts";
import { type TaskMetricsSnapshot, snapshotTask } from "./task-metrics-snapshot.ts";

/** How often worker threads send their tasks' metrics to the coordinator. */
export const METRICS_REPORT_INTERVAL_MS = 1000;

export interface MetricsReporting {
  /** Send a last snapshot and stop. */
  stop(): void;
}

export function startMetricsReporting(
  tasks: readonly StreamTask[],
  send: (snapshots: TaskMetricsSnapshot[]) => void,
  intervalMs: number = METRICS_REPORT_INTERVAL_MS,
): MetricsReporting {
  const report = () => send(tasks.map((t) => snapshotTask(t)));
  const timer = setInterval(report, intervalMs);
  timer.unref();
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
