// A reporter for jobs without a scraper: every interval, one JSON line per job appended to a file
// (job metrics, and every subtask's metrics with counters as job totals); a last line when it
// stops, so a bounded job's final counts are in the file.

import { appendFileSync } from "node:fs";
import type { JobMetrics } from "./job-metrics.ts";

export const DEFAULT_JSON_LINES_INTERVAL_MS = 10_000;

export interface JsonLinesReporter {
  stop(): void;
}

/** One line of the file: plain data, watermarks with no value as null. */
export function jsonLine(job: JobMetrics): string {
  return JSON.stringify({
    timestamp: Date.now(),
    job_id: job.jobId,
    job_name: job.jobName,
    status: job.status,
    job: job.jobMetrics(),
    tasks: job.totals(),
  });
}

export function startJsonLinesReporter(
  jobs: () => readonly JobMetrics[],
  path: string,
  intervalMs: number = DEFAULT_JSON_LINES_INTERVAL_MS,
): JsonLinesReporter {
  const report = () => {
    const lines = jobs().map(jsonLine);
    if (lines.length > 0) appendFileSync(path, `${lines.join("\n")}\n`);
  };
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
