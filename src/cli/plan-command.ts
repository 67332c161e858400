// `weir plan`: build the job from its module and print its job graph, without running it.

import { executionPlan, planToDot, planToText } from "../graph/plan.ts";
import { parseArgs } from "./args.ts";
import { CliUsageError } from "./cli-errors.ts";
import { PLAN, commandHelp } from "./commands.ts";
import { buildJob, configFromArgs, importJob, resolveJobFile, shownPath } from "./job-file.ts";
import { type CliIO, EXIT_OK, reportError } from "./report.ts";

export async function planCommand(args: string[], io: CliIO): Promise<number> {
  const verbose = args.includes("--verbose");
  try {
    const parsed = parseArgs("plan", args, PLAN.options);
    if (parsed.flags.has("help")) {
      io.out(commandHelp(PLAN));
      return EXIT_OK;
    }
    if (parsed.positionals.length > 1) {
      throw new CliUsageError(
        `unexpected argument '${parsed.positionals[1]}' for 'weir plan'`,
        "give one job file, e.g. weir plan examples/wordcount.ts",
      );
    }
    if (parsed.flags.has("dot") && parsed.flags.has("json")) {
      throw new CliUsageError("--dot and --json cannot be combined", "choose one output format");
    }
    const config = configFromArgs("plan", parsed.values);
    const path = resolveJobFile("plan", parsed.positionals[0]);
    const shown = shownPath(path);
    const { job } = await buildJob(await importJob(path, shown), config, path, shown);
    const plan = executionPlan(job.jobGraph);
    if (parsed.flags.has("dot")) io.out(planToDot(plan));
    else if (parsed.flags.has("json")) io.out(JSON.stringify(plan, null, 2));
    else io.out(planToText(plan));
    return EXIT_OK;
  } catch (e) {
    return reportError(e, io, verbose);
  }
}
