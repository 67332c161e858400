// `weir run`'s observability options: the REST server (Flink-shaped JSON and Prometheus /metrics,
// src/web/) and the JSON-lines metrics file. Both are off unless asked for.

import { startJsonLinesReporter } from "../runtime/metrics/json-lines-reporter.ts";
import type { JobMetrics } from "../runtime/metrics/job-metrics.ts";
import type { JobControl } from "../web/job-operations.ts";
import { FLINK_REST_PORT, RestServerError, startRestServer } from "../web/rest-server.ts";
import { type OptionSpec, integerOption } from "./args.ts";
import { CliUsageError } from "./cli-errors.ts";

export const REST_PORT: OptionSpec = {
  name: "rest-port",
  value: "N",
  help: `serve the REST API and Prometheus /metrics on this port (${FLINK_REST_PORT} as in Flink; 0 picks a free one); off when not given`,
  example: String(FLINK_REST_PORT),
};
export const REST_ADDRESS: OptionSpec = {
  name: "rest-address",
  value: "host",
  help: "address the REST server listens on (default 127.0.0.1; any other needs --rest-token)",
  example: "127.0.0.1",
};
export const REST_TOKEN: OptionSpec = {
  name: "rest-token",
  value: "secret",
  help: "a token every REST request must carry as 'Authorization: Bearer <token>' (default: $WEIR_REST_TOKEN)",
};
export const METRICS_FILE: OptionSpec = {
  name: "metrics-file",
  value: "path",
  help: "append the job's metrics to this file as JSON lines, every 10 s and when it ends",
  example: "metrics.jsonl",
};
export const STATUS_INTERVAL: OptionSpec = {
  name: "status-interval",
  value: "s",
  help: "seconds between status lines when stderr is not a terminal (default 10; 0: none; a terminal's line is redrawn every second)",
  example: "10",
};
export const LATENCY_INTERVAL: OptionSpec = {
  name: "latency-interval",
  value: "ms",
  help: "sources emit a latency marker every ms; every operator then reports its source-to-operator `latency` histograms (Flink's metrics.latency.interval; default: off)",
  example: "1000",
};
export const FLAMEGRAPH: OptionSpec = {
  name: "flamegraph",
  help: "with --rest-port: serve CPU flame graphs of vertices at /jobs/:jid/vertices/:vid/flamegraph (Flink's rest.flamegraph.enabled; default off)",
};
export const OBSERVABILITY_OPTIONS: readonly OptionSpec[] = [
  REST_PORT,
  REST_ADDRESS,
  REST_TOKEN,
  METRICS_FILE,
  STATUS_INTERVAL,
  LATENCY_INTERVAL,
  FLAMEGRAPH,
];

/** --latency-interval as engine config (absent: the job's own setting, off by default). */
export function latencyOptions(
  command: string,
  values: ReadonlyMap<string, string>,
): { latencyTrackingInterval?: number } {
  const ms = integerOption(command, LATENCY_INTERVAL, values.get(LATENCY_INTERVAL.name), 0, 86_400_000);
  return ms === undefined ? {} : { latencyTrackingInterval: ms };
}

/** --status-interval in ms, when given. */
export function statusIntervalMs(command: string, values: ReadonlyMap<string, string>): number | undefined {
  const s = integerOption(command, STATUS_INTERVAL, values.get(STATUS_INTERVAL.name), 0, 86_400);
  return s === undefined ? undefined : s * 1000;
}

export interface RunObservability {
  /**
   * The job whose metrics to serve and report, once it is submitted, and what the REST API may do
   * to it (cancel, savepoints, stop).
   */
  attach(job: JobMetrics, control?: JobControl): void;
  stop(): Promise<void>;
}

/** Start what the options ask for (before the job, so that a port in use stops the run early). */
export async function startObservability(
  command: string,
  values: ReadonlyMap<string, string>,
  announce: (line: string) => void,
  flags: ReadonlySet<string> = new Set(),
): Promise<RunObservability> {
  const jobs: JobMetrics[] = [];
  const controls = new Map<string, JobControl>();
  const port = integerOption(command, REST_PORT, values.get(REST_PORT.name), 0, 65_535);
  const address = values.get(REST_ADDRESS.name);
  const token = values.get(REST_TOKEN.name);
  if (port === undefined && (address !== undefined || token !== undefined)) {
    throw new CliUsageError(
      `--rest-address and --rest-token of 'weir ${command}' need --rest-port`,
      `e.g. --rest-port ${FLINK_REST_PORT}`,
    );
  }
  if (port === undefined && flags.has(FLAMEGRAPH.name)) {
    throw new CliUsageError(
      `--flamegraph of 'weir ${command}' needs --rest-port (flame graphs are served by the REST API)`,
      `e.g. --rest-port ${FLINK_REST_PORT} --flamegraph`,
    );
  }
  let server: Awaited<ReturnType<typeof startRestServer>> | undefined;
  if (port !== undefined) {
    try {
      server = await startRestServer({
        port,
        address,
        token,
        jobs: () => jobs,
        control: (id) => controls.get(id),
        flameGraph: flags.has(FLAMEGRAPH.name),
      });
    } catch (e) {
      if (e instanceof RestServerError) throw new CliUsageError(e.message, `see 'weir ${command} --help'`);
      throw e;
    }
    announce(
      `weir: REST API at ${server.url} (web dashboard at ${server.url}/, Prometheus metrics at ${server.url}/metrics)`,
    );
  }
  const file = values.get(METRICS_FILE.name);
  const reporter = file === undefined ? undefined : startJsonLinesReporter(() => jobs, file);
  return {
    attach(job, control) {
      jobs.push(job);
      if (control !== undefined) controls.set(job.jobId, control);
    },
    async stop() {
      reporter?.stop();
      await server?.close();
    },
  };
}
