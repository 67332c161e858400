// `weir run`: run a job module on the local MiniCluster, print its summary; Ctrl-C cancels it.

import { type ClusterJobClient, submitJob } from "../cluster/mini-cluster.ts";
import { JobCancelledError } from "../core/errors.ts";
import { parseArgs } from "./args.ts";
import { CliUsageError } from "./cli-errors.ts";
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
    const config = configFromArgs("run", parsed.values);
    const path = resolveJobFile("run", parsed.positionals[0]);
    const shown = shownPath(path);
    // Load and build the job here first: its mistakes are reported before any thread starts.
    const def = await importJob(path, shown);
    const { job } = await buildJob(def, config, path, shown);
    const unbounded = job.streamGraph.nodes.some((n) => n.source?.boundedness === "unbounded");

    const client = await submitJob({ job: path, ...config });
    if (unbounded) {
      io.err(
        `weir: job '${client.jobName}' is running on ${job.executionGraph.numSlots} worker thread(s); its source is unbounded: press Ctrl-C to cancel it`,
      );
    }
    return await waitWithCancel(client, io, verbose);
  } catch (e) {
    return reportError(e, io, verbose);
  }
}

/** Wait for the job; the first SIGINT cancels it (exit 0), a second one exits at once (130). */
async function waitWithCancel(client: ClusterJobClient, io: CliIO, verbose: boolean): Promise<number> {
  const started = performance.now();
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts > 1) {
      io.err("weir: interrupted again; exiting without waiting for the job to stop");
      process.exit(EXIT_INTERRUPTED);
    }
    void client.cancel();
  };
  process.on("SIGINT", onInterrupt);
  try {
    const result = await client.wait();
    if (verbose) for (const line of verboseBreakdown(result)) io.out(line);
    io.out(summaryLine(result));
    for (const line of accumulatorLines(result)) io.out(line);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof JobCancelledError && interrupts > 0) {
      // On a terminal, end a progress line the job may have left open (`\r...`).
      const lead = process.stdout.isTTY ? "\n" : "";
      io.out(
        `${lead}Job '${client.jobName}' cancelled after ${formatSeconds(performance.now() - started)} (Ctrl-C)`,
      );
      return EXIT_OK;
    }
    throw e;
  } finally {
    process.off("SIGINT", onInterrupt);
  }
}
