// Running one Nexmark query on the MiniCluster (worker threads) and measuring it: events/s, and events
// per second of CPU time ("per busy core"). Shared by `weir nexmark run` and the benchmark.
//
// CPU time is process.cpuUsage(): getrusage(RUSAGE_SELF), which counts every thread of the process, the
// worker threads that run the subtasks included (checked: the same loop costs the same process CPU
// time on the main thread and on a worker). Startup (workers loading and compiling the job) is kept
// apart: the measured phase runs from the first source reader's first poll to the job's end.

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
import { dirname, join, resolve } from "node:path";
import { BroadcastChannel } from "node:worker_threads";
import { InvalidArgumentError, runJob } from "../../index.ts";
import { NEXMARK_JOB_ENV, NEXMARK_JOB_MODULE } from "./job.ts";
import { type NexmarkJobParams, type NexmarkProgress, RESULTS_COUNTER } from "./pipeline.ts";
import { nexmarkQuery } from "./queries/index.ts";

export interface NexmarkRunOptions {
  query: string;
  /** Generate this many events (with `seed`), or read `input`. */
  events?: number;
  seed?: number;
  input?: string;
  parallelism: number;
  /** Write the results to this file, one JSON object per line. */
  out?: string;
  /** Called about once a second while the job runs (events read so far over all readers). */
  onProgress?: (eventsSoFar: number, elapsedMs: number) => void;
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
}

function cpuNow(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

/** Runs the query on worker threads (one slot per subtask) and reports its throughput. */
export async function runNexmark(options: NexmarkRunOptions): Promise<NexmarkRunReport> {
  const query = nexmarkQuery(options.query); // a clear error before any thread starts
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
      : { generator: { numEvents: options.events ?? 0, seed: options.seed ?? 0 } }),
    ...(outDir !== undefined ? { outDir } : {}),
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

  const previous = process.env[NEXMARK_JOB_ENV];
  process.env[NEXMARK_JOB_ENV] = JSON.stringify(params);
  try {
    const result = await runJob({
      job: NEXMARK_JOB_MODULE,
      parallelism: options.parallelism,
      jobName: `nexmark ${query.name}`,
    });
    const endWall = performance.now();
    const endCpu = cpuNow();
    if (Number.isNaN(phaseWall)) {
      phaseWall = startWall;
      phaseCpu = startCpu;
    }
    const source = result.vertices.find((v) => v.name.startsWith("Nexmark")) ?? result.vertices[0];
    const events = source?.recordsIn ?? 0;
    const results = Number(result.getAccumulatorResult<number>(RESULTS_COUNTER) ?? 0);
    if (outDir !== undefined) concatParts(outDir, resolve(options.out!));
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
    };
  } finally {
    if (previous === undefined) delete process.env[NEXMARK_JOB_ENV];
    else process.env[NEXMARK_JOB_ENV] = previous;
    if (ticker !== undefined) clearInterval(ticker);
    channel.close();
    if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
  }
}

/** Writes the part files of `dir` (part-0, part-1, ... in subtask order) one after another into `file`. */
function concatParts(dir: string, file: string): void {
  const parts = readdirSync(dir)
    .map((name) => /^part-(\d+)\.jsonl$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => join(dir, m[0]));
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
        }
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    closeSync(out);
  }
}
