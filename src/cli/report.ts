// What the CLI prints about a job and about errors: the summary line, the verbose breakdown,
// accumulator results, and the one-line error (with stacks only when asked for).

import type { JobResult } from "../api/job-result.ts";
import { JobExecutionError, WeirError, errorMessage } from "../core/errors.ts";
import { CliUsageError, JobLoadError, oneLine } from "./cli-errors.ts";

export interface CliIO {
  out(s: string): void;
  err(s: string): void;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

const count = new Intl.NumberFormat("en-US");

export function formatCount(n: number): string {
  return count.format(n);
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? `${s.toFixed(2)}s` : s < 100 ? `${s.toFixed(1)}s` : `${Math.round(s)}s`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

function plural(n: number, what: string): string {
  return `${formatCount(n)} ${what}${n === 1 ? "" : "s"}`;
}

/**
 * One line: job name, run time, the records that entered each vertex (chain), and, when the job
 * checkpoints (or restarted), its completed checkpoints and restarts.
 */
export function summaryLine(result: JobResult): string {
  return `Job '${result.jobName}' finished in ${formatSeconds(result.runtimeMs)} · ${countsLine(result)}`;
}

/**
 * The records that entered each vertex, completed checkpoints and restarts. Records and
 * accumulators are counted by the last attempt: after a restart the summary says so.
 */
export function countsLine(result: JobResult): string {
  const parts = result.vertices.map(
    (v) => `${v.name} (p=${v.parallelism}): ${formatCount(v.recordsIn)} records`,
  );
  const cp = result.checkpoints;
  if (cp !== undefined) {
    parts.push(
      `${plural(cp.completed, "checkpoint")}${cp.failed > 0 ? ` (${formatCount(cp.failed)} failed)` : ""}`,
    );
  }
  if (result.restarts > 0) {
    parts.push(
      `${plural(result.restarts, "restart")} (records and accumulators counted since the last restart)`,
    );
  } else if (cp !== undefined) parts.push(plural(result.restarts, "restart"));
  return parts.join(" · ");
}

/** Per-vertex and per-operator counts, and buffer pool use (for --verbose). */
export function verboseBreakdown(result: JobResult): string[] {
  const lines = [`Job '${result.jobName}' (id ${result.jobId})`];
  for (const v of result.vertices) {
    lines.push(
      `  [${v.id}] ${v.name}  p=${v.parallelism}  in ${formatCount(v.recordsIn)}  sent ${formatCount(v.recordsOut)} (${formatBytes(v.bytesOut)})`,
    );
    for (const op of v.operators) {
      lines.push(`        ${op.name}  in ${formatCount(op.recordsIn)}  out ${formatCount(op.recordsOut)}`);
    }
  }
  const cp = result.checkpoints;
  if (cp !== undefined) {
    const last =
      cp.completed > 0 ? `; the last took ${cp.lastDurationMs} ms, ${formatBytes(cp.lastSizeBytes)}` : "";
    lines.push(
      `  checkpoints: ${formatCount(cp.completed)} completed, ${formatCount(cp.failed)} failed${last}`,
    );
  }
  if (cp !== undefined || result.failures > 0) {
    lines.push(`  failures: ${formatCount(result.failures)}, restarts: ${formatCount(result.restarts)}`);
  }
  const pools = result.bufferPools;
  if (pools.length > 0) {
    const json = JSON.stringify(pools);
    lines.push(`  network buffer pools: ${json.length > 300 ? `${pools.length} pools` : json}`);
  }
  return lines;
}

/** `Accumulator results:` and one line per accumulator, as Flink's CLI prints them; none when empty. */
export function accumulatorLines(result: JobResult): string[] {
  const names = Object.keys(result.accumulators).sort();
  if (names.length === 0) return [];
  return ["Accumulator results:", ...names.map((n) => `  ${n}: ${formatValue(result.accumulators[n])}`)];
}

function formatValue(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? formatCount(v) : String(v);
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number")) return v.join(", ");
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** Print an error as one line `weir: <what>; <what to do>` (plus stacks with --verbose); returns the exit code. */
export function reportError(e: unknown, io: CliIO, verbose: boolean): number {
  if (e instanceof CliUsageError) {
    io.err(`weir: ${e.message}; ${e.hint}`);
    return EXIT_USAGE;
  }
  const stackHint = verbose ? "the stack trace follows" : "run with --verbose for the stack trace";
  if (e instanceof JobLoadError) {
    io.err(`weir: ${withHint(e.message, verbose ? stackHint : e.hint)}`);
    if (verbose) printStack(e.cause, io);
    return EXIT_FAILED;
  }
  if (e instanceof JobExecutionError) {
    io.err(
      `weir: ${oneLine(e.message)}; ${verbose ? stackHint : "fix the operator named here, or run with --verbose for the stack trace"}`,
    );
    if (verbose) {
      printStack(e, io);
      if (e.userStack !== undefined) io.err(`Caused by (user code):\n${e.userStack}`);
    }
    return EXIT_FAILED;
  }
  if (e instanceof WeirError) {
    io.err(`weir: ${withHint(oneLine(e.message), stackHint)}`);
    if (verbose) printStack(e, io);
    return EXIT_FAILED;
  }
  io.err(`weir: unexpected error: ${oneLine(errorMessage(e))}; ${stackHint}, and please report it`);
  if (verbose) printStack(e, io);
  return EXIT_FAILED;
}

/** Weir's own messages often say what to do already ("...; raise maxParallelism"): keep theirs. */
function withHint(message: string, hint: string): string {
  return message.includes("; ") ? message : `${message}; ${hint}`;
}

function printStack(e: unknown, io: CliIO): void {
  if (e instanceof Error && e.stack !== undefined) io.err(e.stack);
  else if (e !== undefined) io.err(String(e));
}
