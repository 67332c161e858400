// `weir run -m host:restPort job.ts`: build the job here (its mistakes are reported before anything
// is sent), bundle its module, upload it to the cluster's JobManager over its REST API and run it,
// print its failures as they happen and the same summary as a local run when it ends. Ctrl-C or
// SIGTERM cancels it on the cluster. --detached returns once it is submitted.

import { resolve } from "node:path";
import { ClusterClient } from "../cluster/cluster-client.ts";
import { JobCancelledError } from "../core/errors.ts";
import type { ParsedArgs } from "./args.ts";
import { checkAgainstJob, checkRestorePoint, faultToleranceOptions } from "./checkpoint-options.ts";
import { CliUsageError } from "./cli-errors.ts";
import { clusterTls, clusterToken } from "./cluster-commands.ts";
import { FailureReporter } from "./failure-lines.ts";
import { buildJob, configFromArgs, importJob, resolveJobFile, shownPath } from "./job-file.ts";
import { latencyOptions } from "./rest-options.ts";
import {
  type CliIO,
  EXIT_OK,
  accumulatorLines,
  formatSeconds,
  summaryLine,
  verboseBreakdown,
} from "./report.ts";

/** Options of a local run that mean nothing on a cluster. */
const LOCAL_ONLY = ["savepoint-dir", "rest-port", "rest-address", "rest-token", "metrics-file"];

export async function clusterRun(
  parsed: ParsedArgs,
  jobArguments: string[],
  io: CliIO,
  verbose: boolean,
): Promise<number> {
  for (const o of LOCAL_ONLY) {
    if (parsed.values.has(o)) {
      throw new CliUsageError(
        `--${o} applies to local runs, not to 'weir run -m'`,
        "leave it out; a cluster job's REST API and savepoints are the JobManager's",
      );
    }
  }
  const ft = faultToleranceOptions("run", parsed.values, parsed.flags);
  const config = {
    ...configFromArgs("run", parsed.values),
    ...latencyOptions("run", parsed.values),
    ...ft.config,
    jobArguments,
  };
  // Paths as the JobManager and TaskManagers see them: absolute (a file system they share).
  if (config.checkpointDirectory !== undefined)
    config.checkpointDirectory = resolve(config.checkpointDirectory);
  if (config.stateDirectory !== undefined) config.stateDirectory = resolve(config.stateDirectory);
  if (config.restorePath !== undefined) config.restorePath = resolve(config.restorePath);
  const path = resolveJobFile("run", parsed.positionals[0]);
  const shown = shownPath(path);
  const def = await importJob(path, shown);
  const { job } = await buildJob(def, config, path, shown);
  checkAgainstJob(ft, job);
  await checkRestorePoint(ft, job);

  const address = parsed.values.get("jobmanager")!;
  const detached = parsed.flags.has("detached");
  const client = new ClusterClient(
    address,
    clusterToken(parsed.values),
    clusterTls("run", parsed.values, false),
  );
  const failures = new FailureReporter(job.jobName, job.restart, io.err, verbose);
  let cancelling: string | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (cancelling !== undefined) {
      io.err("weir: interrupted again; exiting without waiting for the job to stop");
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
    cancelling = signal === "SIGINT" ? "Ctrl-C" : "SIGTERM";
    if (submittedId !== undefined) {
      io.err(
        `weir: cancelling job '${job.jobName}' on the cluster (${cancelling}; ${cancelling} again exits at once)`,
      );
      void client.cancel(submittedId).catch(() => {});
    }
  };
  let submittedId: string | undefined;
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const started = performance.now();
  try {
    const submitted = await client.submit(path, config, {
      follow: !detached,
      onAttemptFailed: (f) => failures.onAttemptFailed(f),
    });
    submittedId = submitted.jobId;
    if (detached) {
      io.out(`Job has been submitted with JobID ${submitted.jobId}`);
      return EXIT_OK;
    }
    io.err(
      `weir: job '${submitted.jobName}' (${submitted.jobId}) is running on ${submitted.slots} slot(s) of the cluster at ${address}`,
    );
    if (cancelling !== undefined) void client.cancel(submitted.jobId).catch(() => {});
    const end = await submitted.ended;
    if (end.status === "FINISHED" && end.result !== undefined) {
      if (verbose) for (const line of verboseBreakdown(end.result)) io.out(line);
      io.out(summaryLine(end.result));
      const last = failures.lastFailureLine();
      if (last !== undefined) io.out(last);
      for (const line of accumulatorLines(end.result)) io.out(line);
      return EXIT_OK;
    }
    if (end.status === "CANCELED" || end.error instanceof JobCancelledError) {
      io.out(
        `Job '${submitted.jobName}' cancelled after ${formatSeconds(performance.now() - started)}${cancelling !== undefined ? ` (${cancelling})` : ""}`,
      );
      return EXIT_OK;
    }
    throw end.error ?? new Error(`job '${submitted.jobName}' ended ${end.status}`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    client.close();
  }
}
