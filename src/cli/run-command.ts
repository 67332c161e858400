// `weir run`: run a job module on the local MiniCluster, print its failures as they happen and its
// summary. Ctrl-C or SIGTERM cancels it, or with --savepoint-dir stops it with a savepoint; a
// closed stdout (`weir run job.ts | head`) cancels it quietly. Arguments after `--` are the job's.

import { StopWithSavepointError } from "../checkpoint/savepoint.ts";
import { type ClusterJobClient, submitJob } from "../cluster/mini-cluster.ts";
import { JobCancelledError, WeirError, errorMessage } from "../core/errors.ts";
import { parseArgs } from "./args.ts";
import { checkAgainstJob, checkRestorePoint, faultToleranceOptions } from "./checkpoint-options.ts";
import { CliUsageError, JobLoadError, oneLine } from "./cli-errors.ts";
import { RUN, commandHelp } from "./commands.ts";
import { FailureReporter } from "./failure-lines.ts";
import { memoryLines, memoryOptions } from "./memory-options.ts";
import { statusLine } from "./status-line.ts";
import { diagnoseWatermarks, windowsNeverFiredLines } from "../runtime/metrics/watermark-doctor.ts";
import type { JobControl } from "../web/job-operations.ts";
import {
  type RunObservability,
  latencyOptions,
  startObservability,
  statusIntervalMs,
} from "./rest-options.ts";
import { buildJob, configFromArgs, importJob, resolveJobFile, shownPath } from "./job-file.ts";
import {
  type CliIO,
  EXIT_OK,
  accumulatorLines,
  countsLine,
  formatSeconds,
  reportError,
  summaryLine,
  verboseBreakdown,
} from "./report.ts";

/** `weir run job.ts -p 2 -- --input x`: Weir's options before the first `--`, the job's after it. */
export function splitJobArguments(args: readonly string[]): { own: string[]; job: string[] } {
  const i = args.indexOf("--");
  return i < 0 ? { own: [...args], job: [] } : { own: args.slice(0, i), job: args.slice(i + 1) };
}

export async function runCommand(args: string[], terminal: CliIO): Promise<number> {
  // The live status line is rewritten in place on stderr: every other line clears it first.
  let status: StatusTicker | undefined;
  const io: CliIO = {
    out: (s) => {
      status?.clear();
      terminal.out(s);
    },
    err: (s) => {
      status?.clear();
      terminal.err(s);
    },
  };
  const { own, job: jobArguments } = splitJobArguments(args);
  let stdout: StdoutWatch | undefined;
  // Signals before the job can be stopped: exit while it is loaded and built; kept (and acted on
  // by waitForJob) while its workers start.
  let submitting = false;
  const early: Array<"SIGINT" | "SIGTERM"> = [];
  const onEarly = (signal: "SIGINT" | "SIGTERM") => {
    if (submitting) {
      early.push(signal);
      return;
    }
    io.err(`weir: interrupted (${signal === "SIGINT" ? "Ctrl-C" : "SIGTERM"}) before the job started`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  const keepSigint = () => onEarly("SIGINT");
  const keepSigterm = () => onEarly("SIGTERM");
  process.on("SIGINT", keepSigint);
  process.on("SIGTERM", keepSigterm);
  const verbose = own.includes("--verbose");
  let observability: RunObservability | undefined;
  try {
    const parsed = parseArgs("run", own, RUN.options);
    if (parsed.flags.has("help")) {
      io.out(commandHelp(RUN));
      return EXIT_OK;
    }
    if (parsed.values.has("jobmanager")) {
      return await (await import("./cluster-run.ts")).clusterRun(parsed, jobArguments, io, verbose);
    }
    if (parsed.positionals.length > 1) {
      throw new CliUsageError(
        `unexpected argument '${parsed.positionals[1]}' for 'weir run'`,
        "give one job file, e.g. weir run examples/wordcount.ts -p 2 (the job's own arguments go after --)",
      );
    }
    const ft = faultToleranceOptions("run", parsed.values, parsed.flags);
    const plainInterval = statusIntervalMs("run", parsed.values);
    const config = {
      ...configFromArgs("run", parsed.values),
      ...memoryOptions("run", parsed.values),
      ...latencyOptions("run", parsed.values),
      ...ft.config,
      jobArguments,
    };
    const path = resolveJobFile("run", parsed.positionals[0]);
    const shown = shownPath(path);
    // Load and build the job here first: its mistakes are reported before any thread starts.
    const def = await importJob(path, shown);
    const { job } = await buildJob(def, config, path, shown);
    checkAgainstJob(ft, job);
    if (verbose) for (const line of memoryLines(job)) io.err(line);
    await checkRestorePoint(ft, job);
    const unbounded = job.streamGraph.nodes.some((n) => n.source?.boundedness === "unbounded");
    observability = await startObservability("run", parsed.values, io.err, parsed.flags);

    const failures = new FailureReporter(job.jobName, job.restart, io.err, verbose);
    // Watched from before the start: the job's first lines may already find the reader gone.
    stdout = new StdoutWatch();
    // A signal while the workers start is kept, and acted on once the job can be stopped.
    submitting = true;
    const client = await submitJob({
      job: path,
      ...config,
      onAttemptFailed: (f) => failures.onAttemptFailed(f),
    });
    const remote: RemoteStop = {};
    observability.attach(client.metrics, restControl(client, remote, io));
    process.off("SIGINT", keepSigint);
    process.off("SIGTERM", keepSigterm);
    if (unbounded) {
      const stop =
        ft.savepointDir !== undefined
          ? `press Ctrl-C to stop it with a savepoint in '${ft.savepointDir}'`
          : "press Ctrl-C to cancel it";
      io.err(
        `weir: job '${client.jobName}' is running on ${job.executionGraph.numSlots} worker thread(s); its source is unbounded: ${stop}`,
      );
    }
    if (!parsed.flags.has("quiet")) status = startStatusLine(client, job.jobGraph, plainInterval);
    return await waitForJob(client, io, verbose, ft.savepointDir, failures, stdout, early, remote);
  } catch (e) {
    return reportError(e, io, verbose);
  } finally {
    status?.stop();
    await observability?.stop();
    stdout?.release();
    process.off("SIGINT", keepSigint);
    process.off("SIGTERM", keepSigterm);
  }
}

/** The error that closed stdout (its reader went away), once it has. */
let stdoutError: NodeJS.ErrnoException | undefined;
const stdoutWatches = new Set<StdoutWatch>();
let watchingStdout = false;

/**
 * Notices when stdout's reader has gone away (EPIPE): nobody reads what the job prints any more.
 * The process keeps one listener for good: output queued for a slow reader may still fail after
 * the command has returned, and must not crash the process then.
 */
class StdoutWatch {
  private onClose: ((e: NodeJS.ErrnoException) => void) | undefined;

  constructor() {
    if (!watchingStdout) {
      watchingStdout = true;
      process.stdout.on("error", (e: NodeJS.ErrnoException) => {
        if (stdoutError !== undefined) return;
        stdoutError = e;
        for (const w of stdoutWatches) w.onClose?.(e);
      });
    }
    stdoutWatches.add(this);
  }

  get closed(): boolean {
    return stdoutError !== undefined;
  }

  /** Call `f` when stdout closes (at once if it has). */
  whenClosed(f: (e: NodeJS.ErrnoException) => void): void {
    this.onClose = f;
    if (stdoutError !== undefined) f(stdoutError);
  }

  release(): void {
    stdoutWatches.delete(this);
  }
}

type StopReason = "Ctrl-C" | "SIGTERM" | "stdout closed" | "asked through the REST API";
type Stopped = { path: string } | { error: unknown; kept: string | undefined } | undefined;

/** A cancel or stop-with-savepoint asked for through the REST API (not by a signal). */
interface RemoteStop {
  reason?: StopReason;
  stopping?: Promise<Stopped>;
}

/** What the REST API may do to the job: as the client does, noting a stop for waitForJob. */
function restControl(client: ClusterJobClient, remote: RemoteStop, io: CliIO): JobControl {
  const why = "asked through the REST API";
  return {
    getStatus: () => client.getStatus(),
    triggerSavepoint: (dir) => client.triggerSavepoint(dir),
    cancel() {
      remote.reason = why;
      io.err(`weir: cancelling job '${client.jobName}' (${why})`);
      return client.cancel();
    },
    stopWithSavepoint(dir) {
      remote.reason = why;
      io.err(`weir: taking a savepoint of job '${client.jobName}', then stopping it (${why})`);
      const path = client.stopWithSavepoint(dir);
      remote.stopping = path.then(
        (p): Stopped => ({ path: p }),
        () => {
          // Nothing was committed and the job runs on (as in Flink); the REST caller sees why.
          remote.reason = undefined;
          remote.stopping = undefined;
          return undefined;
        },
      );
      return path;
    },
  };
}

/**
 * Wait for the job. The first SIGINT or SIGTERM cancels it, or with `savepointDir` stops it with
 * a savepoint there (exit 0 either way); a second one exits at once (130, or 143 for SIGTERM). A
 * closed stdout cancels it and ends the run without a word.
 */
async function waitForJob(
  client: ClusterJobClient,
  io: CliIO,
  verbose: boolean,
  savepointDir: string | undefined,
  failures: FailureReporter,
  stdout: StdoutWatch,
  earlySignals: ReadonlyArray<"SIGINT" | "SIGTERM">,
  remote: RemoteStop,
): Promise<number> {
  const started = performance.now();
  let reason: StopReason | undefined;
  let stopping: Promise<Stopped> | undefined;
  const out = (s: string) => {
    if (!stdout.closed) io.out(s);
  };

  const stop = (why: StopReason) => {
    reason = why;
    if (savepointDir === undefined || why === "stdout closed") {
      if (why !== "stdout closed") {
        io.err(`weir: cancelling job '${client.jobName}' (${why}; ${why} again exits at once)`);
      }
      void client.cancel();
      return;
    }
    // No savepoint: stop the job all the same, as asked, keeping what a restore needs.
    const cancelInstead = async (error: unknown): Promise<Stopped> => {
      const kept = await client.cancelKeepingLatestCheckpoint();
      // The stop failed, and the job kept running until now: what failed is the savepoint's cause.
      return { error: error instanceof StopWithSavepointError ? (error.cause ?? error) : error, kept };
    };
    if (failures.waitingToRestart()) {
      // No task runs until the restart: waiting for one to take the savepoint could take minutes.
      io.err(
        `weir: job '${client.jobName}' is waiting to restart after a failure, so no savepoint can be taken now; cancelling it (${why}; ${why} again exits at once)`,
      );
      stopping = cancelInstead(new Error("the job was waiting to restart after a failure"));
      return;
    }
    io.err(
      `weir: taking a savepoint of job '${client.jobName}' in '${savepointDir}', then stopping it (${why}; ${why} again exits at once)`,
    );
    stopping = client.stopWithSavepoint(savepointDir).then((path): Stopped => ({ path }), cancelInstead);
  };
  const onSignal = (signal: "SIGINT" | "SIGTERM") => {
    if (reason !== undefined && reason !== "stdout closed") {
      io.err("weir: interrupted again; exiting without waiting for the job to stop");
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
    stop(signal === "SIGINT" ? "Ctrl-C" : "SIGTERM");
  };
  const onSigint = () => onSignal("SIGINT");
  const onSigterm = () => onSignal("SIGTERM");
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);
  for (const signal of earlySignals) onSignal(signal);
  // The reader went away (`| head -1`): cancel the job without a word.
  stdout.whenClosed((e) => {
    if (e.code !== "EPIPE" && e.code !== "ERR_STREAM_DESTROYED") {
      io.err(`weir: cannot write to stdout (${e.code ?? e.message}); cancelling the job`);
    }
    if (reason === undefined) stop("stdout closed");
  });
  try {
    const result = await client.wait().catch(async (e: unknown) => {
      if (!(e instanceof JobCancelledError)) throw e;
      reason ??= remote.reason;
      if (reason === undefined) throw e;
      return undefined;
    });
    const stopped = await (stopping ?? remote.stopping);
    if (stdout.closed) return EXIT_OK;
    const m = client.metrics;
    for (const line of windowsNeverFiredLines(diagnoseWatermarks(m.vertices, m.tasks()))) io.err(line);
    if (result !== undefined) {
      if (stopped !== undefined && "error" in stopped) {
        io.err(`weir: no savepoint taken: job '${client.jobName}' finished first`);
      }
      if (verbose) for (const line of verboseBreakdown(result)) out(line);
      out(summaryLine(result));
      lastFailure(failures, out);
      for (const line of accumulatorLines(result)) out(line);
      return EXIT_OK;
    }
    if (stopped !== undefined && "error" in stopped) {
      const kept =
        stopped.kept !== undefined
          ? `nothing of the savepoint was committed; resume from the latest checkpoint with --from-savepoint ${shownPath(stopped.kept)}`
          : "nothing of the savepoint was committed, and no checkpoint had completed: fix the reason named here and run the job again";
      throw new JobLoadError(
        // What to do is part of the message: a reason that holds "; " would otherwise drop it.
        `job '${client.jobName}' could not take a savepoint, and was cancelled instead: ${oneLine(errorMessage(stopped.error))}; ${kept}`,
        kept,
        stopped.error,
      );
    }
    // On a terminal, end a progress line the job may have left open (`\r...`).
    const lead = process.stdout.isTTY ? "\n" : "";
    out(
      stopped !== undefined
        ? `${lead}Job '${client.jobName}' stopped with savepoint at ${shownPath(stopped.path)}`
        : `${lead}Job '${client.jobName}' cancelled after ${formatSeconds(performance.now() - started)} (${reason})`,
    );
    const partial = client.cancelledResult();
    if (partial !== undefined) {
      if (verbose) for (const line of verboseBreakdown(partial)) out(line);
      out(`Counted until it stopped: ${countsLine(partial)}`);
    } else if (failures.seen) {
      out("Counted until it stopped: nothing (it was waiting to restart)");
    }
    lastFailure(failures, out);
    if (partial !== undefined) for (const line of accumulatorLines(partial)) out(line);
    return EXIT_OK;
  } catch (e) {
    if (stdout.closed && e instanceof JobCancelledError) return EXIT_OK;
    if (e instanceof WeirError) {
      const times = failures.sameInARow;
      if (times > 1 && !e.message.includes("times in a row"))
        e.message += ` (the same failure ${times} times in a row)`;
    }
    throw e;
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigterm);
  }
}

/** After restarts, the summary repeats the cause of the last failure. */
function lastFailure(failures: FailureReporter, out: (s: string) => void): void {
  const line = failures.lastFailureLine();
  if (line !== undefined) out(line);
}

/** How often a status line is printed when stderr is not a terminal (CI logs, pipes). */
const PLAIN_STATUS_INTERVAL_MS = 10_000;

interface StatusTicker {
  /** Take the status line off the terminal (the next tick draws it again). */
  clear(): void;
  stop(): void;
}

/**
 * The live status line on stderr (never stdout, which the job's print() owns): on a terminal one
 * line rewritten in place every second; otherwise a plain line every `plainInterval` ms
 * (--status-interval), or every $WEIR_STATUS_INTERVAL_MS, or every 10 s (0: none).
 */
function startStatusLine(
  client: ClusterJobClient,
  graph: { vertices: ReadonlyArray<{ id: number; name: string; inputs: unknown[]; outputs: unknown[] }> },
  plainInterval: number | undefined,
): StatusTicker {
  const stderr = process.stderr;
  const tty = stderr.isTTY === true;
  const fromEnv = Number(process.env.WEIR_STATUS_INTERVAL_MS);
  const interval = tty
    ? 1000
    : (plainInterval ??
      (process.env.WEIR_STATUS_INTERVAL_MS !== undefined && Number.isSafeInteger(fromEnv) && fromEnv >= 0
        ? fromEnv
        : PLAIN_STATUS_INTERVAL_MS));
  if (interval === 0) return { clear() {}, stop() {} };
  const sourceVertices = new Set(graph.vertices.filter((v) => v.inputs.length === 0).map((v) => v.id));
  const sinkVertices = new Set(graph.vertices.filter((v) => v.outputs.length === 0).map((v) => v.id));
  const vertexNames = new Map(graph.vertices.map((v) => [v.id, v.name]));
  const started = performance.now();
  let shown = false;
  const tick = () => {
    const metrics = client.metrics;
    const job = metrics.jobMetrics();
    const last = metrics.checkpoints.lastCompleted();
    const line = statusLine({
      elapsedMs: performance.now() - started,
      nowMs: Date.now(),
      tasks: metrics.tasks(),
      job,
      lastCheckpointAt: last?.id === job.lastCompletedCheckpointId ? last?.latest_ack_timestamp : undefined,
      sourceVertices,
      sinkVertices,
      vertexNames,
    });
    if (!tty) {
      stderr.write(`${line}\n`);
      return;
    }
    // Never wider than the terminal: a wrapped line could not be rewritten in place.
    const width = Math.max(20, (stderr.columns > 0 ? stderr.columns : 80) - 1);
    stderr.write(`\r${line.slice(0, width)}\x1b[K`);
    shown = true;
  };
  const timer = setInterval(tick, interval);
  timer.unref();
  const clear = () => {
    if (!shown) return;
    stderr.write("\r\x1b[K");
    shown = false;
  };
  return {
    clear,
    stop() {
      clearInterval(timer);
      clear();
    },
  };
}
