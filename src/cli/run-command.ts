// `weir run`: run a job module on the local MiniCluster, print its summary; Ctrl-C cancels it, or
// with --savepoint-dir stops it with a savepoint.

import { type ClusterJobClient, submitJob } from "../cluster/mini-cluster.ts";
import { JobCancelledError, errorMessage } from "../core/errors.ts";
import { parseArgs } from "./args.ts";
import { checkAgainstJob, checkRestorePoint, faultToleranceOptions } from "./checkpoint-options.ts";
import { CliUsageError, JobLoadError, oneLine } from "./cli-errors.ts";
import { RUN, commandHelp } from "./commands.ts";
import { buildJob, configFromArgs, importJob, resolveJobFile, shownPath } from "./job-file.ts";
import {
  type CliIO,
  EXIT_INTERRUPTED,
  EXIT_OK,
  accumulatorLines,
  formatSeconds,
  reportError,
  summaryLine,
  verboseBreakdown,
} from "./report.ts";

export async function runCommand(args: string[], io: CliIO): Promise<number> {
  const verbose = args.includes("--verbose");
  try {
    const parsed = parseArgs("run", args, RUN.options);
    if (parsed.flags.has("help")) {
      io.out(commandHelp(RUN));
      return EXIT_OK;
    }
    if (parsed.positionals.length > 1) {
      throw new CliUsageError(
        `unexpected argument '${parsed.positionals[1]}' for 'weir run'`,
        "give one job file, e.g. weir run examples/wordcount.ts -p 2",
      );
    }
    const ft = faultToleranceOptions("run", parsed.values, parsed.flags);
    const config = { ...configFromArgs("run", parsed.values), ...ft.config };
    const path = resolveJobFile("run", parsed.positionals[0]);
    const shown = shownPath(path);
    // Load and build the job here first: its mistakes are reported before any thread starts.
    const def = await importJob(path, shown);
    const { job } = await buildJob(def, config, path, shown);
    checkAgainstJob(ft, job);
    await checkRestorePoint(ft, job);
    const unbounded = job.streamGraph.nodes.some((n) => n.source?.boundedness === "unbounded");

    const client = await submitJob({ job: path, ...config });
    if (unbounded) {
      const stop =
        ft.savepointDir !== undefined
          ? `press Ctrl-C to stop it with a savepoint in '${ft.savepointDir}'`
          : "press Ctrl-C to cancel it";
      io.err(
        `weir: job '${client.jobName}' is running on ${job.executionGraph.numSlots} worker thread(s); its source is unbounded: ${stop}`,
      );
    }
    return await waitWithCancel(client, io, verbose, ft.savepointDir);
  } catch (e) {
    return reportError(e, io, verbose);
  }
}

/**
 * Wait for the job. The first SIGINT cancels it, or with `savepointDir` stops it with a savepoint
 * there (exit 0 either way); a second one exits at once (130).
 */
async function waitWithCancel(
  client: ClusterJobClient,
  io: CliIO,
  verbose: boolean,
  savepointDir: string | undefined,
): Promise<number> {
  const started = performance.now();
  let interrupts = 0;
  let stopping: Promise<{ path: string } | { error: unknown }> | undefined;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts > 1) {
      io.err("weir: interrupted again; exiting without waiting for the job to stop");
      process.exit(EXIT_INTERRUPTED);
    }
    if (savepointDir === undefined) {
      void client.cancel();
      return;
    }
    io.err(
      `weir: taking a savepoint of job '${client.jobName}' in '${savepointDir}', then stopping it (Ctrl-C again exits at once)`,
    );
    stopping = client.stopWithSavepoint(savepointDir).then(
      (path) => ({ path }),
      async (error: unknown) => {
        // No savepoint: stop the job all the same, as Ctrl-C asked.
        await client.cancel();
        return { error };
      },
    );
  };
  process.on("SIGINT", onInterrupt);
  try {
    const result = await client.wait().catch(async (e: unknown) => {
      if (!(e instanceof JobCancelledError) || interrupts === 0) throw e;
      return undefined;
    });
    const stopped = await stopping;
    if (result !== undefined) {
      if (stopped !== undefined && "error" in stopped) {
        io.err(`weir: no savepoint taken: job '${client.jobName}' finished first`);
      }
      if (verbose) for (const line of verboseBreakdown(result)) io.out(line);
      io.out(summaryLine(result));
      for (const line of accumulatorLines(result)) io.out(line);
      return EXIT_OK;
    }
    if (stopped !== undefined && "error" in stopped) {
      throw new JobLoadError(
        `job '${client.jobName}' could not take a savepoint, and was cancelled instead: ${oneLine(errorMessage(stopped.error))}`,
        "no savepoint was written: fix the reason named here and run the job again",
        stopped.error,
      );
    }
    // On a terminal, end a progress line the job may have left open (`\r...`).
    const lead = process.stdout.isTTY ? "\n" : "";
    io.out(
      stopped !== undefined
        ? `${lead}Job '${client.jobName}' stopped with savepoint at ${shownPath(stopped.path)}`
        : `${lead}Job '${client.jobName}' cancelled after ${formatSeconds(performance.now() - started)} (Ctrl-C)`,
    );
    return EXIT_OK;
  } finally {
    process.off("SIGINT", onInterrupt);
  }
}
