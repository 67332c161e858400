// Cluster benchmarks (`npm run bench -- cluster`): the same job on the MiniCluster at p=2 (worker
// threads of this process) and on a cluster of processes on this machine (a JobManager and two
// TaskManagers of one slot, `weir jobmanager` / `weir taskmanager` children, exchanging data over
// TCP on loopback), interleaved in one run; the MiniCluster is each section's baseline, so
// "vs loop" reads "cluster / MiniCluster".
// - cluster-wordcount: the word count of bench/jobs/wordcount.ts;
// - cluster-exchange: a source and a sink in two slot sharing groups, so that every record crosses
//   from one slot to the other: the exchange between worker threads vs over TCP;
// - cluster-q5, cluster-q8: Nexmark q5 and q8;
// - cluster-recovery: 1M keys of state, then the thread (MiniCluster) or the TaskManager process
//   (kill -9; a spare TaskManager stands by) of slot 0 killed after a checkpoint; from the kill
//   to the first record of the restarted attempt.
// `cleanUpClusterBenchmarks()` stops the cluster (bench/run.ts calls it).

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { JobResult } from "../src/api/job-result.ts";
import { ClusterClient } from "../src/cluster/cluster-client.ts";
import { runJob, submitJob } from "../src/cluster/mini-cluster.ts";
import { RESULTS_COUNTER } from "../src/nexmark/index.ts";
import { NEXMARK_JOB_MODULE, nexmarkJobArguments } from "../src/nexmark/job.ts";
import { type Proc, type TestCluster, startCluster } from "../test/cluster/process-cluster.ts";
import { WRONG_COUNTS } from "./jobs/cluster-jobs.ts";
import { WORDS_PER_LINE } from "./jobs/wordcount.ts";
import { sinkFigures } from "./lib/counting-sink.ts";
import type { Run, Section, Variant } from "./lib/harness.ts";
import { fixed, formatTable } from "./lib/table.ts";
import { epochMs, median } from "./lib/timing.ts";

const JOB = fileURLToPath(new URL("./jobs/cluster-jobs.ts", import.meta.url));
const MINI = "MiniCluster p=2 (2 worker threads)";
const CLUSTER = "cluster: 2 TaskManager processes x 1 slot (TCP)";

interface Cluster {
  cluster: TestCluster;
  client: ClusterClient;
  /** The live TaskManagers by id. */
  taskManagers: Map<string, Proc>;
  spares: number;
}

let running: Promise<Cluster> | undefined;

function theCluster(): Promise<Cluster> {
  running ??= (async () => {
    // A loaded machine must not lose TaskManagers to missed heartbeats (a restart would be timed).
    const cluster = await startCluster({
      taskManagers: 2,
      slots: 1,
      heartbeatIntervalMs: 1_000,
      heartbeatTimeoutMs: 60_000,
    });
    const client = new ClusterClient(cluster.address, "");
    const taskManagers = new Map(cluster.taskManagers.map((p, i) => [`tm-${i}`, p]));
    return { cluster, client, taskManagers, spares: 0 };
  })();
  return running;
}

export async function cleanUpClusterBenchmarks(): Promise<void> {
  if (running === undefined) return;
  const c = await running.catch(() => undefined);
  running = undefined;
  c?.client.close();
  await c?.cluster.stop();
}

type Result = JobResult & { runtimeMs: number };

async function onCluster(
  args: string[],
  parallelism = 2,
  config: { creditsPerChannel?: number } = {},
): Promise<{ jobId: string; result: Result }> {
  const { client } = await theCluster();
  const job = await client.submit(JOB, { parallelism, jobArguments: args, ...config }, { follow: true });
  const end = await job.ended;
  if (end.status !== "FINISHED" || end.result === undefined)
    throw new Error(`cluster job ${job.jobId} ${end.status}: ${end.error?.message}`);
  return {
    jobId: job.jobId,
    result: Object.assign(Object.create(JobResult.prototype) as Result, end.result),
  };
}

/** The sink's active window, the job's run time, the bytes written to channels. */
function toRun(result: Parameters<typeof sinkFigures>[0] & Result, records: number): Run {
  const f = sinkFigures(result);
  return {
    records,
    ms: f.activeMs,
    wallMs: result.runtimeMs,
    bytes: result.vertices.reduce((s, v) => s + v.bytesOut, 0),
    check: `${f.records}/${f.checksum}, restarts=${result.restarts}`,
  };
}

function jobSection(
  id: string,
  title: string,
  description: string,
  records: (scale: number) => number,
  args: (scale: number) => string[],
  /** Also run both with this many credits per channel (default 4). */
  moreCredits?: number,
): Section {
  const variants = (credits: number | undefined): Variant[] => {
    const config = credits === undefined ? {} : { creditsPerChannel: credits };
    const suffix = credits === undefined ? "" : `, ${credits} credits per channel`;
    return [
      {
        name: MINI + suffix,
        baseline: credits === undefined,
        async run(scale) {
          const result = await runJob({ job: JOB, parallelism: 2, jobArguments: args(scale), ...config });
          return toRun(result as unknown as Result, records(scale));
        },
      },
      {
        name: CLUSTER + suffix,
        async run(scale) {
          return toRun((await onCluster(args(scale), 2, config)).result, records(scale));
        },
      },
    ];
  };
  return {
    id,
    title,
    description,
    variants: [...variants(undefined), ...(moreCredits === undefined ? [] : variants(moreCredits))],
    warmups: 1,
    rounds: 3,
  };
}

// ---- Nexmark ------------------------------------------------------------------------------------

function nexmarkSection(query: "q5" | "q8", events: number): Section {
  const args = (scale: number) =>
    nexmarkJobArguments({ query, generator: { numEvents: Math.round(events * scale), seed: 0 } });
  const toNexmarkRun = (result: Result): Run => {
    const source = result.vertices.find((v) => v.name.startsWith("Nexmark")) ?? result.vertices[0]!;
    return {
      records: source.recordsIn,
      ms: result.runtimeMs,
      check: `results=${result.getAccumulatorResult<number>(RESULTS_COUNTER) ?? 0}, restarts=${result.restarts}`,
    };
  };
  return {
    id: `cluster-${query}`,
    title: `Nexmark ${query}, ${events.toLocaleString("en-US")} events: MiniCluster vs two TaskManagers`,
    description: `Nexmark ${query} (generated events, seed 0, heap state, no checkpoints) at p=2. Rate = events / the job's run time (deployment included, the same measure for both: the JobMaster's clock).`,
    variants: [
      {
        name: MINI,
        baseline: true,
        async run(scale) {
          const r = await runJob({ job: NEXMARK_JOB_MODULE, parallelism: 2, jobArguments: args(scale) });
          return toNexmarkRun(r as unknown as Result);
        },
      },
      {
        name: CLUSTER,
        async run(scale) {
          const { client } = await theCluster();
          const job = await client.submit(
            NEXMARK_JOB_MODULE,
            { parallelism: 2, jobArguments: args(scale) },
            { follow: true },
          );
          const end = await job.ended;
          if (end.status !== "FINISHED" || end.result === undefined)
            throw new Error(`nexmark ${query} on the cluster ${end.status}: ${end.error?.message}`);
          return toNexmarkRun(Object.assign(Object.create(JobResult.prototype) as Result, end.result));
        },
      },
    ],
    warmups: 1,
    rounds: 3,
  };
}

// ---- Recovery -----------------------------------------------------------------------------------

const RECOVERY_KEYS = 1_000_000;

interface RecoveryRun {
  scale: number;
  recoveryMs: number;
  restarts: number;
  wrong: number;
}

async function waitFor(cond: () => boolean, what: string, ms = 300_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The highest completed checkpoint of the job (-1: none yet). */
function lastCheckpoint(dir: string, jobId: string): number {
  const d = join(dir, "checkpoints", jobId);
  if (!existsSync(d)) return -1;
  let n = -1;
  for (const name of readdirSync(d)) {
    const m = /^chk-(\d+)$/.exec(name);
    if (m !== null && existsSync(join(d, name, "_metadata"))) n = Math.max(n, Number(m[1]));
  }
  return n;
}

function seen(dir: string): number {
  let n = 0;
  for (const f of ["seen-0", "seen-1"])
    if (existsSync(join(dir, f))) n += Number(readFileSync(join(dir, f), "utf8"));
  return n;
}

/**
 * Run the recovery job until every key has state and a checkpoint taken after that completed; then
 * `kill()` slot 0's thread or process and time until the restarted attempt's first record.
 */
async function recoveryRun(
  keys: number,
  scale: number,
  start: (args: string[]) => Promise<{ jobId: string; kill: () => void; ended: Promise<Result> }>,
  log: RecoveryRun[],
): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), "weir-bench-cluster-recovery-"));
  try {
    const job = await start([
      "--kind",
      "recovery",
      "--keys",
      String(keys),
      "--rate",
      String(keys / 2),
      "--dir",
      dir,
    ]);
    let over = false;
    const ended = job.ended.finally(() => {
      over = true;
    });
    ended.catch(() => {}); // awaited below; a failure before that must not go unhandled
    /** `cond`, failing at once when the job ended first. */
    const whileRunning = (cond: () => boolean, what: string) => () => {
      if (cond()) return true;
      if (over) throw new Error(`the recovery job ended before ${what}`);
      return false;
    };
    await waitFor(
      whileRunning(() => seen(dir) >= keys, "every key had state"),
      `${keys} records`,
    );
    // A checkpoint triggered after every key had state: two after the one completed now.
    const after = lastCheckpoint(dir, job.jobId) + 2;
    await waitFor(
      whileRunning(() => lastCheckpoint(dir, job.jobId) >= after, `checkpoint ${after}`),
      `checkpoint ${after}`,
    );
    const restartedFile = join(dir, "restarted");
    if (existsSync(restartedFile)) throw new Error("the recovery job restarted before the kill");
    const killAt = epochMs();
    job.kill();
    await waitFor(
      whileRunning(
        () => existsSync(restartedFile) && readFileSync(restartedFile, "utf8").length > 0,
        "a restart",
      ),
      "the restarted job's first record",
    );
    const recoveryMs = Number(readFileSync(restartedFile, "utf8")) - killAt;
    const result = await ended;
    const wrong = result.getAccumulatorResult<number>(WRONG_COUNTS) ?? 0;
    if (wrong > 0) throw new Error(`${wrong} record(s) saw a wrong count after the restore`);
    log.push({ scale, recoveryMs, restarts: result.restarts, wrong });
    return { records: keys, ms: recoveryMs, check: `wrong counts=${wrong}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function recoverySection(): Section {
  const logs = { mini: [] as RecoveryRun[], cluster: [] as RecoveryRun[] };
  const keysAt = (scale: number) => 2 * Math.round((RECOVERY_KEYS * scale) / 2);
  const stat = (runs: RecoveryRun[]) => {
    const top = Math.max(...runs.map((r) => r.scale));
    const vs = runs.filter((r) => r.scale === top).map((r) => r.recoveryMs);
    return vs.length === 0
      ? "–"
      : `${fixed(median(vs), 0)} [${fixed(Math.min(...vs), 0)}..${fixed(Math.max(...vs), 0)}]`;
  };
  return {
    id: "cluster-recovery",
    title: "Recovery with 1M keys of state: a killed worker thread vs a killed TaskManager process",
    get description(): string {
      return [
        `${RECOVERY_KEYS.toLocaleString("en-US")} keys counted in heap ValueState at p=2 (4 records per key, generator at ${(RECOVERY_KEYS / 2).toLocaleString("en-US")} rec/s, checkpoints every 1 s, fixedDelay(3, 0 ms)); once every key has state and a checkpoint taken after that completed, slot 0 is killed: its worker thread on the MiniCluster, its TaskManager process (kill -9) on the cluster, where a spare TaskManager of 1 slot stands by. Recovery = kill -> first record of the restarted attempt at the sink (epoch ms written to a file). Every record checks its count. "M rec/s" here = keys / recovery time: read the ms below.`,
        formatTable(
          ["variant", "recovery ms, median [min..max]"],
          [
            [MINI, stat(logs.mini)],
            [`${CLUSTER} + 1 spare`, stat(logs.cluster)],
          ],
        ),
      ].join("\n");
    },
    variants: [
      {
        name: `${MINI}: worker killed`,
        baseline: true,
        run: (scale) =>
          recoveryRun(
            keysAt(scale),
            scale,
            async (args) => {
              const client = await submitJob({ job: JOB, parallelism: 2, jobArguments: args });
              return {
                jobId: client.jobId,
                kill: () => client.killWorker(0),
                ended: client.wait() as unknown as Promise<Result>,
              };
            },
            logs.mini,
          ),
      },
      {
        name: `${CLUSTER}: TaskManager kill -9`,
        run: (scale) =>
          recoveryRun(
            keysAt(scale),
            scale,
            async (args) => {
              const c = await theCluster();
              const spare = `tm-spare-${++c.spares}`;
              c.taskManagers.set(spare, await c.cluster.addTaskManager(spare, 1));
              const job = await c.client.submit(
                JOB,
                { parallelism: 2, jobArguments: args },
                { follow: true },
              );
              const placed = new RegExp(`job ${job.jobId}: deployment \\d+ slots: (.*)`);
              let host = "";
              await waitFor(() => {
                const m = placed.exec(c.cluster.jobManager.err());
                host = m === null ? "" : (/(\S+) \[0[\],]/.exec(m[1]!)?.[1] ?? "");
                return host !== "";
              }, "the job's deployment");
              return {
                jobId: job.jobId,
                kill: () => {
                  c.taskManagers.get(host)!.child.kill("SIGKILL");
                  c.taskManagers.delete(host);
                },
                ended: job.ended.then((end) => {
                  if (end.status !== "FINISHED" || end.result === undefined)
                    throw new Error(`recovery job ${end.status}: ${end.error?.message}`);
                  return Object.assign(Object.create(JobResult.prototype) as Result, end.result);
                }),
              };
            },
            logs.cluster,
          ),
      },
    ],
    warmups: 0,
    rounds: 2,
  };
}

// ---- sections -----------------------------------------------------------------------------------

const WORDCOUNT_LINES = 200_000;
const EXCHANGE_RECORDS = 4_000_000;

export const clusterSections: Section[] = [
  jobSection(
    "cluster-wordcount",
    "Word count at p=2: MiniCluster vs two TaskManager processes",
    "Generated lines -> flatMap {word, count: 1} -> keyBy(word) -> sum(count) -> counting sink, typed records, at p=2: half the keyed records cross to the other slot (another thread, or the other TaskManager over TCP). Records = words; rates over the sink's active window. MB/s = bytes written to channels.",
    (scale) => Math.round(WORDCOUNT_LINES * scale) * WORDS_PER_LINE,
    (scale) => ["--kind", "wordcount", "--lines", String(Math.round(WORDCOUNT_LINES * scale))],
  ),
  jobSection(
    "cluster-exchange",
    "Exchange throughput: every record from one slot to another (threads vs TCP)",
    "A generator (p=1) and a counting sink (p=1) in two slot sharing groups: two slots, every {word, count} record (typed) crosses between them: from one worker thread to another on the MiniCluster, from one TaskManager to the other over TCP on the cluster. Rates over the sink's active window; MB/s = bytes written to the channel. Also with 16 credits per channel instead of 4 (on the cluster a credit's round trip crosses two more threads, the TaskManagers' relays).",
    (scale) => Math.round(EXCHANGE_RECORDS * scale),
    (scale) => ["--kind", "exchange", "--records", String(Math.round(EXCHANGE_RECORDS * scale))],
    16,
  ),
  nexmarkSection("q5", 1_000_000),
  nexmarkSection("q8", 1_000_000),
  recoverySection(),
];
