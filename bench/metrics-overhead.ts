// What observability costs (section ids metrics-*): the same job on worker threads with metrics
// off — no periodic metric snapshots from the workers ($WEIR_METRICS_INTERVAL_MS=0: only the last
// one), no REST server — and on — snapshots every second as by default, the REST server running,
// and a scraper asking it for Prometheus /metrics and the job's details every second (as a
// Prometheus server and an open dashboard would); a third variant scrapes every 100 ms. Interleaved
// rounds of one run, so the machine's drift spreads over every variant. Jobs: word count with a
// keyed exchange (p=2) and Nexmark q5 (p=2). The rate is over the processing phase (word count:
// the sink's first to last record; q5: the readers' first progress report to the result), worker
// start-up left out; the checks (word counts, q5's result count) must agree.
// `node --import tsx --expose-gc bench/metrics-overhead.ts` runs them alone.

import { submitJob } from "../src/cluster/mini-cluster.ts";
import type { RunJobOptions } from "../src/cluster/mini-cluster.ts";
import { RESULTS_COUNTER } from "../src/nexmark/index.ts";
import { NEXMARK_JOB_MODULE, nexmarkJobArguments } from "../src/nexmark/job.ts";
import type { JobMetrics } from "../src/runtime/metrics/job-metrics.ts";
import { METRICS_INTERVAL_ENV } from "../src/runtime/metrics/metrics-reporting.ts";
import { type ManagedJobClient, StreamExecutionEnvironment } from "../src/index.ts";
import { renderPrometheus } from "../src/web/prometheus.ts";
import { answer } from "../src/web/rest-handlers.ts";
import { startRestServer } from "../src/web/rest-server.ts";
import { WORDS_PER_LINE, type WordCountSettings, buildWordCount } from "./jobs/wordcount.ts";
import { sinkFigures } from "./lib/counting-sink.ts";
import { type Section, type Variant, runSection } from "./lib/harness.ts";
import { describeMachine, formatMachine } from "./lib/machine.ts";

const WORDCOUNT_JOB = new URL("./jobs/wordcount.ts", import.meta.url).pathname;

type Monitoring = { metrics: false } | { metrics: true; scrapeEveryMs: number };

interface Monitored {
  result: Awaited<ReturnType<Awaited<ReturnType<typeof submitJob>>["wait"]>>;
  ms: number;
  scrapes: number;
}

/** Submit the job with the monitoring asked for, wait for its result. */
async function runMonitored(options: RunJobOptions, monitoring: Monitoring): Promise<Monitored> {
  if (monitoring.metrics) delete process.env[METRICS_INTERVAL_ENV];
  else process.env[METRICS_INTERVAL_ENV] = "0";
  const jobs: JobMetrics[] = [];
  const server = monitoring.metrics ? await startRestServer({ port: 0, jobs: () => jobs }) : undefined;
  let scrapes = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    const t0 = performance.now();
    const client = await submitJob(options);
    jobs.push(client.metrics);
    if (server !== undefined && monitoring.metrics) {
      let busy = false;
      timer = setInterval(() => {
        if (busy) return;
        busy = true;
        Promise.all([
          fetch(`${server.url}/metrics`).then((r) => r.text()),
          fetch(`${server.url}/jobs/${client.jobId}`).then((r) => r.json()),
        ])
          .then(() => scrapes++)
          .catch(() => {})
          .finally(() => {
            busy = false;
          });
      }, monitoring.scrapeEveryMs);
    }
    const result = await client.wait();
    return { result, ms: performance.now() - t0, scrapes };
  } finally {
    clearInterval(timer);
    await server?.close();
    delete process.env[METRICS_INTERVAL_ENV];
  }
}

const MONITORINGS: Array<{ name: string; monitoring: Monitoring }> = [
  { name: "metrics off, no REST server", monitoring: { metrics: false } },
  { name: "metrics on + REST, scraped every 1 s", monitoring: { metrics: true, scrapeEveryMs: 1000 } },
  { name: "metrics on + REST, scraped every 100 ms", monitoring: { metrics: true, scrapeEveryMs: 100 } },
];

function wordCountSection(lines: number, parallelism: number): Section {
  const variant = (name: string, monitoring: Monitoring): Variant => ({
    name,
    baseline: !monitoring.metrics,
    async run(scale) {
      const s: WordCountSettings = { lines: Math.round(lines * scale), typed: true };
      process.env.WEIR_BENCH_WORDCOUNT = JSON.stringify(s);
      const { result, ms } = await runMonitored({ job: WORDCOUNT_JOB, parallelism }, monitoring);
      const f = sinkFigures(result);
      // The rate over the sink's active time (first to last record): worker start-up left out.
      return {
        records: s.lines * WORDS_PER_LINE,
        ms: f.activeMs,
        wallMs: ms,
        check: `${f.records}/${f.checksum}`,
      };
    },
  });
  return {
    id: "metrics-wordcount",
    title: `Observability overhead: word count, worker threads p=${parallelism}`,
    description: `Word count (typed OBJECT, keyed exchange, ${lines.toLocaleString("en-US")} lines of ${WORDS_PER_LINE} words) with metrics off, and on with the REST server scraped. Rate over the sink's active time. "vs loop" here: vs metrics off.`,
    variants: MONITORINGS.map((m) => variant(m.name, m.monitoring)),
    warmups: 1,
  };
}

function nexmarkSection(events: number, parallelism: number): Section {
  const variant = (name: string, monitoring: Monitoring): Variant => ({
    name,
    baseline: !monitoring.metrics,
    async run(scale) {
      const n = Math.round(events * scale);
      // The readers post their progress here: the first post starts the processing phase.
      const progressChannel = `weir-bench-metrics-q5-${process.pid}-${performance.now()}`;
      const channel = new BroadcastChannel(progressChannel);
      let firstAt = Number.NaN;
      channel.onmessage = () => {
        if (Number.isNaN(firstAt)) firstAt = performance.now();
      };
      try {
        const { result, ms } = await runMonitored(
          {
            job: NEXMARK_JOB_MODULE,
            jobArguments: nexmarkJobArguments({
              query: "q5",
              generator: { numEvents: n, seed: 0 },
              progressChannel,
            }),
            parallelism,
            jobName: "nexmark q5",
          },
          monitoring,
        );
        const end = performance.now();
        const results = Number(result.getAccumulatorResult<number>(RESULTS_COUNTER) ?? 0);
        const active = Number.isNaN(firstAt) ? ms : end - firstAt;
        return { records: n, ms: active, wallMs: ms, check: results };
      } finally {
        channel.close();
      }
    },
  });
  return {
    id: "metrics-nexmark-q5",
    title: `Observability overhead: Nexmark q5, worker threads p=${parallelism}`,
    description: `Nexmark q5 (hot items, sliding windows) over ${events.toLocaleString("en-US")} generated events with metrics off, and on with the REST server scraped. Records = events; rate from the readers' first progress report to the result. "vs loop" here: vs metrics off.`,
    variants: MONITORINGS.map((m) => variant(m.name, m.monitoring)),
    warmups: 1,
  };
}

/**
 * The cost of each piece, per call, on a running in-thread word count (p=2: 4 subtasks): a
 * snapshot of every subtask (what a worker thread does every second), the Prometheus text and
 * the job-details answer (what one scrape costs the coordinator). Records = calls; a CPU cost per
 * call (process CPU time) that load on the machine distorts far less than an end-to-end rate.
 */
function costSection(): Section {
  const variant = (name: string, calls: number, call: (job: ManagedJobClient) => unknown): Variant => ({
    name,
    async run(scale) {
      const env = new StreamExecutionEnvironment({ parallelism: 2 });
      buildWordCount(env, { lines: 1e12, typed: true });
      const job = await env.executeAsync("metrics-cost");
      try {
        while ((job.metrics.tasks()[0]?.metrics.numRecordsOut ?? 0) === 0) await sleep(5);
        const n = Math.max(10, Math.round(calls * scale));
        // CPU time of the process (this thread does the calls; the job runs only between them):
        // on a loaded machine it tells the cost far better than the wall clock.
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < n; i++) await call(job);
        const wallMs = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        return { records: n, ms: (cpu.user + cpu.system) / 1000, wallMs, check: job.metrics.tasks().length };
      } finally {
        await job.cancel();
      }
    },
  });
  return {
    id: "metrics-cost",
    title: "Observability: the cost of a metrics snapshot and of a scrape (word count, p=2, 4 subtasks)",
    description:
      'Calls per second ("M rec/s" = millions of calls/s; ns/rec = ns per call) of process CPU time (wall: of the clock) on a running in-thread job: snapshot = every subtask\'s metrics read out (a worker thread does it once a second); Prometheus = the text of GET /metrics; details = the answer to GET /jobs/:id. Check = subtasks.',
    variants: [
      variant("snapshot of the 4 subtasks", 2000, (job) => job.metrics.tasks()),
      variant("Prometheus /metrics text", 200, (job) => renderPrometheus([job.metrics])),
      variant("GET /jobs/:id answer", 2000, (job) =>
        answer([job.metrics], `/jobs/${job.jobId}`, new URLSearchParams()),
      ),
    ],
    warmups: 1,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const metricsOverheadSections: Section[] = [
  costSection(),
  wordCountSection(375_000, 2),
  nexmarkSection(1_000_000, 2),
];

/** Run alone: `node --import tsx --expose-gc bench/metrics-overhead.ts [--rounds N] [--scale X]`. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const at = (flag: string) => {
    const i = argv.indexOf(flag);
    return i < 0 ? undefined : Number(argv[i + 1]);
  };
  console.log(`# Weir observability overhead\n${formatMachine(describeMachine())}`);
  const only = argv.filter((a, i) => !a.startsWith("--") && !argv[i - 1]?.startsWith("--"));
  for (const s of metricsOverheadSections) {
    if (only.length > 0 && !only.includes(s.id)) continue;
    await runSection(s, { scale: at("--scale") ?? 1, rounds: at("--rounds"), log: console.log });
  }
}
