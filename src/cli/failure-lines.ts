// What `weir run` says about failures while the job runs: one line on stderr per failed attempt,
// as it happens (operator, uid, subtask, the cause's first line, attempt, delay before the
// restart), a call-out when the same failure repeats, and the last cause for the summary.

import type { RestartStrategyConfig } from "../checkpoint/restart-strategy.ts";
import { JobExecutionError, errorMessage } from "../core/errors.ts";
import type { AttemptFailure } from "../execution/job-master.ts";
import { formatSeconds } from "./report.ts";

/** Where a failure happened and the first line of its cause. */
export interface FailureCause {
  /** "operator 'Sink' (uid sink), subtask 1/2", or undefined when no operator is known. */
  where: string | undefined;
  /** "Error: the first line of the message". */
  cause: string;
}

/** The operator and subtask of a failure, and its cause's first line (never a stack). */
export function failureCause(e: unknown): FailureCause {
  if (e instanceof JobExecutionError && e.location !== undefined) {
    const l = e.location;
    const inner = e.cause instanceof Error ? `${e.cause.name}: ${firstLine(e.cause.message)}` : undefined;
    return {
      where: `operator '${l.operatorName}' (uid ${l.operatorUid}), subtask ${l.subtaskIndex + 1}/${l.parallelism}`,
      cause: inner ?? firstLine(e.message),
    };
  }
  const message = firstLine(errorMessage(e)).replace(/^job '[^']*' failed: /, "");
  return { where: undefined, cause: message };
}

function firstLine(s: string): string {
  const line = s.split("\n", 1)[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/** How the restart strategy goes on, in a few words, for the failure line. */
export function describeStrategy(s: RestartStrategyConfig): string {
  switch (s.kind) {
    case "none":
      return "restart strategy none";
    case "fixed-delay":
      return `fixed delay, ${Number.isFinite(s.attempts) ? `at most ${s.attempts} restart${s.attempts === 1 ? "" : "s"}` : "unlimited restarts"}`;
    case "exponential-delay":
      return `exponential backoff: x${s.multiplier} per failure, up to ${formatSeconds(s.maxDelayMs)}`;
    case "failure-rate":
      return `failure rate: at most ${s.maxFailures} failures in ${formatSeconds(s.intervalMs)}`;
  }
}

/** Turns attempt failures into stderr lines; remembers the last one for the summary. */
export class FailureReporter {
  private last: { key: string; cause: FailureCause; attempt: number } | undefined;
  private repeats = 0;
  /** When the restart after the last failure is due (0: no restart pending). */
  private restartAt = 0;

  constructor(
    private readonly jobName: string,
    /** Named in each line; undefined when the caller does not know it. */
    private readonly strategy: RestartStrategyConfig | undefined,
    private readonly err: (line: string) => void,
    /** --verbose: the user code's stack follows each line. */
    private readonly verbose = false,
  ) {}

  /** Print the line of a failed attempt that is followed by a restart (the final failure is reported by the error). */
  onAttemptFailed(f: AttemptFailure): void {
    const cause = failureCause(f.error);
    const key = `${cause.where ?? ""}\n${cause.cause}`;
    this.repeats = this.last?.key === key ? this.repeats + 1 : 1;
    this.last = { key, cause, attempt: f.attempt };
    if (f.restartDelayMs === undefined) return;
    this.restartAt = Date.now() + f.restartDelayMs;
    const again = this.repeats > 1 ? ` (the same failure ${this.repeats} times in a row)` : "";
    this.err(
      `weir: job '${this.jobName}' failed (attempt ${f.attempt + 1}): ${describe(cause)}${again}; restarting in ${formatSeconds(f.restartDelayMs)}${this.strategy !== undefined ? ` (${describeStrategy(this.strategy)})` : ""}`,
    );
    if (this.verbose) {
      const e = f.error;
      const stack =
        e instanceof JobExecutionError && e.userStack !== undefined ? e.userStack : (e as Error)?.stack;
      if (stack !== undefined) this.err(`Caused by:\n${stack}`);
    }
  }

  /** The job is waiting for the delay before its next attempt (no task runs: no savepoint can be taken). */
  waitingToRestart(now = Date.now()): boolean {
    return now < this.restartAt;
  }

  /** Failures seen so far. */
  get seen(): boolean {
    return this.last !== undefined;
  }

  /** "Last failure (attempt 3, the same failure 3 times in a row): operator ...: Error: ...". */
  lastFailureLine(): string | undefined {
    if (this.last === undefined) return undefined;
    const again = this.repeats > 1 ? `, the same failure ${this.repeats} times in a row` : "";
    return `Last failure (attempt ${this.last.attempt + 1}${again}): ${describe(this.last.cause)}`;
  }

  /** How many times in a row the last failure happened (for the final error). */
  get sameInARow(): number {
    return this.repeats;
  }
}

function describe(c: FailureCause): string {
  return c.where !== undefined ? `${c.where}: ${c.cause}` : c.cause;
}
