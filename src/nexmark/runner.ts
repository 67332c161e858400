// Running one Nexmark query on the MiniCluster (worker threads) and measuring it: events/s, and events
// per second of CPU time ("per busy core"). Shared by `weir nexmark run` and the benchmark.
//
// CPU time is process.cpuUsage(): getrusage(RUSAGE_SELF), which counts every thread of the process, the
// worker threads that run the subtasks included (checked: the same loop costs the same process CPU
// time on the main thread and on a worker). Startup (workers loading and compiling the job) is kept
// apart: the measured phase runs from the first source reader's first poll to the job's end.
//
// Checkpoints: with checkpointInterval the job takes exactly-once checkpoints into checkpointDir (or a
// temporary directory removed afterwards), and results go through the exactly-once file sink.

import { randomUUID } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { BroadcastChannel } from "node:worker_threads";
import { InvalidArgumentError, RestartStrategies } from "../index.ts";
import { type RunJobOptions, runJob } from "../cluster/index.ts";
import { NEXMARK_JOB_MODULE, nexmarkJobArguments } from "./job.ts";
import { type NexmarkJobParams, type NexmarkProgress, RESULTS_COUNTER } from "./pipeline.ts";
import { nexmarkQuery } from "./queries/index.ts";

export interface NexmarkRunOptions {
  query: string;
  /** Generate this many events (with `seed`), or read `input`. */
  events?: number;
  seed?: number;
  /** Generator: events per second of event time (default 10,000). */
  rate?: number;
  /** Generator: event-time timelines (default 1; the parallelism gives each instance its own, as Flink's). */
  timelines?: number;
  input?: string;
  parallelism: number;
  /** Write the results to this file, one JSON object per line. */
  out?: string;
  /** Take exactly-once checkpoints every this many ms (absent: no checkpoints). */
  checkpointInterval?: number;
  /** Checkpoint storage directory (default: a temporary directory, removed after the run). */
  checkpointDir?: string;
  /** State backend: "heap" (default) or "embedded" (see NEXMARK_STATE_BACKENDS). */
  stateBackend?: string;
  /** q13's side input file (CSV key,value lines). */
  sideInput?: string;
  /** With checkpoints: restarts from the latest checkpoint allowed after a failure (default 3). */
  restartAttempts?: number;
  /** Called about once a second while the job runs (events read so far over all readers). */
  onProgress?: (eventsSoFar: number, elapsedMs: number) => void;
  /** Told of every failed attempt as it happens, with the delay before the restart (if any). */
  onAttemptFailed?: RunJobOptions["onAttemptFailed"];
}

export interface NexmarkRunReport {
  query: string;
  parallelism: number;
  /** Events the sources read. */
  events: number;
  results: number;
  /** From runJob's call to its result. */
  wallMs: number;
  /** From the first source poll to the job's end (the processing phase). */
  processingMs: number;
  /** Process CPU time (all threads) over the processing phase. */
  cpuMs: number;
  /** Process CPU time over the whole run, startup included. */
  totalCpuMs: number;
  eventsPerSecond: number;
  /** events / CPU seconds of the processing phase. */
  eventsPerCoreSecond: number;
  /** Checkpoints completed (0 without checkpointing). */
  checkpoints: number;
  /** Times the job restarted from a checkpoint. */
  restarts: number;
}

/** The state backends `weir nexmark run --state-backend` knows, and whether Weir has them yet. */
export const NEXMARK_STATE_BACKENDS: Readonly<Record<string, boolean>> = { heap: true, embedded: true };

/** Refuses a state backend that does not exist, or that Weir does not have yet. */
export function checkStateBackend(name: string): void {
  if (!Object.hasOwn(NEXMARK_STATE_BACKENDS, name)) {
    throw new InvalidArgumentError(`--state-backend must be 'heap' or 'embedded', got '${name}'`);
  }
  if (!NEXMARK_STATE_BACKENDS[name]) {
    throw new InvalidArgumentError(
      `--state-backend ${name}: not available yet: the engine has no ${name} state backend (no setStateBackend in the environment API); run with --state-backend heap (the default)`,
    );
  }
}

function cpuNow(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

/** Runs the query on worker threads (one slot per subtask) and reports its throughput. */
export async function runNexmark(options: NexmarkRunOptions): Promise<NexmarkRunReport> {
  const query = nexmarkQuery(options.query); // a clear error before any thread starts
  if (options.stateBackend !== undefined) checkStateBackend(options.stateBackend);
  const checkpointing = options.checkpointInterval !== undefined;
  if (
    checkpointing &&
    !(Number.isSafeInteger(options.checkpointInterval) && options.checkpointInterval! > 0)
  ) {
    throw new InvalidArgumentError(
      `the checkpoint interval must be a positive number of ms, got ${options.checkpointInterval}`,
    );
  }
  const checkpointDir = !checkpointing
    ? undefined
    : options.checkpointDir !== undefined
      ? resolve(options.checkpointDir)
      : mkdtempSync(join(tmpdir(), "weir-nexmark-checkpoints-"));
  const removeCheckpoints = checkpointing && options.checkpointDir === undefined;
  const channelName = `weir-nexmark-progress-${randomUUID()}`;
  let outDir: string | undefined;
  if (options.out !== undefined) {
    const outFile = resolve(options.out);
    if (!existsSync(dirname(outFile))) {
      throw new InvalidArgumentError(
        `cannot write results to '${outFile}': directory '${dirname(outFile)}' does not exist`,
      );
    }
    outDir = mkdtempSync(join(dirname(outFile), ".nexmark-results-"));
  }
  const params: NexmarkJobParams = {
    query: query.name,
    progressChannel: channelName,
    ...(options.input !== undefined
      ? { input: resolve(options.input) }
      : {
          generator: {
            numEvents: options.events ?? 0,
            seed: options.seed ?? 0,
            ...(options.rate !== undefined ? { firstEventRate: options.rate } : {}),
            ...(options.timelines !== undefined ? { timelines: options.timelines } : {}),
          },
        }),
    ...(outDir !== undefined ? { outDir } : {}),
    ...(checkpointing ? { exactlyOnce: true } : {}),
    ...(options.sideInput !== undefined ? { sideInput: resolve(options.sideInput) } : {}),
  };

  const perSubtask = new Map<number, number>();
  const startWall = performance.now();
  const startCpu = cpuNow();
  let phaseWall = Number.NaN;
  let phaseCpu = Number.NaN;
  const channel = new BroadcastChannel(channelName);
  channel.onmessage = (m: unknown) => {
    const p = (m as { data: NexmarkProgress }).data;
    if (Number.isNaN(phaseWall)) {
      phaseWall = performance.now();
      phaseCpu = cpuNow();
    }
    perSubtask.set(p.subtask, Math.max(p.events, perSubtask.get(p.subtask) ?? 0));
  };
  const ticker =
    options.onProgress === undefined
      ? undefined
      : setInterval(() => {
          let sum = 0;
          for (const v of perSubtask.values()) sum += v;
          options.onProgress!(sum, performance.now() - startWall);
        }, 1000);

  try {
    const result = await runJob({
      job: NEXMARK_JOB_MODULE,
      jobArguments: nexmarkJobArguments(params),
      ...(options.onAttemptFailed !== undefined ? { onAttemptFailed: options.onAttemptFailed } : {}),
      parallelism: options.parallelism,
      jobName: `nexmark ${query.name}`,
      stateBackend: (options.stateBackend ?? "heap") as "heap" | "embedded",
      ...(checkpointing
        ? {
            checkpointInterval: options.checkpointInterval,
            checkpointDirectory: checkpointDir,
            restartStrategy:
              options.restartAttempts === 0
                ? RestartStrategies.noRestart()
                : RestartStrategies.fixedDelay(options.restartAttempts ?? 3, 100),
          }
        : {}),
    });
    const endWall = performance.now();
    const endCpu = cpuNow();
    if (Number.isNaN(phaseWall)) {
      phaseWall = startWall;
      phaseCpu = startCpu;
    }
    const source = result.vertices.find((v) => v.name.startsWith("Nexmark")) ?? result.vertices[0];
    const events = source?.recordsIn ?? 0;
    let results = Number(result.getAccumulatorResult<number>(RESULTS_COUNTER) ?? 0);
    if (outDir !== undefined) {
      const lines = concatParts(outDir, resolve(options.out!));
      if (checkpointing) results = lines;
    }
    const processingMs = Math.max(endWall - phaseWall, 1e-3);
    const cpuMs = Math.max(endCpu - phaseCpu, 1e-3);
    return {
      query: query.name,
      parallelism: options.parallelism,
      events,
      results,
      wallMs: endWall - startWall,
      processingMs,
      cpuMs,
      totalCpuMs: endCpu - startCpu,
      eventsPerSecond: (events / processingMs) * 1000,
      eventsPerCoreSecond: (events / cpuMs) * 1000,
      checkpoints: result.checkpoints?.completed ?? 0,
      restarts: result.restarts ?? 0,
    };
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    channel.close();
    if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
    if (removeCheckpoints && checkpointDir !== undefined)
      rmSync(checkpointDir, { recursive: true, force: true });
  }
}

/**
 * Writes the part files of `dir` one after another into `file`, in subtask order (part-<subtask>.jsonl
 * of the plain sink; part-<subtask>-<attempt>-<seq>.jsonl of the exactly-once one, by attempt and
 * sequence); returns the number of lines written.
 */
function concatParts(dir: string, file: string): number {
  const parts = readdirSync(dir)
    .map((name) => /^part-(\d+)(?:-(.+)-(\d+))?\.jsonl$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort(
      (a, b) =>
        Number(a[1]) - Number(b[1]) ||
        (a[2] ?? "").localeCompare(b[2] ?? "") ||
        Number(a[3] ?? 0) - Number(b[3] ?? 0),
    )
    .map((m) => join(dir, m[0]));
  let lines = 0;
  const out = openSync(file, "w");
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (const part of parts) {
      const fd = openSync(part, "r");
      try {
        for (
          let n = readSync(fd, buf, 0, buf.length, null);
          n > 0;
          n = readSync(fd, buf, 0, buf.length, null)
        ) {
          writeSync(out, buf, 0, n);
          for (let i = 0; i < n; i++) if (buf[i] === 10) lines++;
        }
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    closeSync(out);
  }
  return lines;
}
