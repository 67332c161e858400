// The commands of `weir` and their options; the help texts are generated from these.

import { HELP_OPTION, type OptionSpec, optionLabel } from "./args.ts";

export const PARALLELISM: OptionSpec = {
  name: "parallelism",
  short: "p",
  value: "N",
  help: "default parallelism of the job's operators (default: the number of cores)",
};
export const MAX_PARALLELISM: OptionSpec = {
  name: "max-parallelism",
  value: "N",
  help: "number of key groups: the upper bound of keyed parallelism (default 128)",
};
export const BUFFER_TIMEOUT: OptionSpec = {
  name: "buffer-timeout",
  value: "ms",
  help: "how long a partly filled network buffer may wait before it is sent (default 100; 0 = every record; -1 = only full buffers)",
};
export const VERBOSE: OptionSpec = {
  name: "verbose",
  help: "print per-operator counts, and stack traces on errors",
};
export const DOT: OptionSpec = {
  name: "dot",
  help: "print the graph in Graphviz DOT (pipe it to `dot -Tsvg`)",
};
export const JSON_PLAN: OptionSpec = { name: "json", help: "print the execution plan as JSON" };

export interface CommandSpec {
  readonly name: string;
  readonly args: string;
  readonly summary: string;
  readonly description: string;
  readonly options: readonly OptionSpec[];
}

export const RUN: CommandSpec = {
  name: "run",
  args: "<job.ts|job.js>",
  summary: "run a job on the local MiniCluster (worker threads)",
  description: [
    "Runs the job module (its default export is defineJob(...)) on the local MiniCluster: one",
    "worker thread per slot, each rebuilding the job from the module. Prints a summary when the",
    "job finishes. Ctrl-C cancels the job (a second Ctrl-C exits at once).",
  ].join("\n"),
  options: [PARALLELISM, MAX_PARALLELISM, BUFFER_TIMEOUT, VERBOSE, HELP_OPTION],
};

export const PLAN: CommandSpec = {
  name: "plan",
  args: "<job.ts|job.js>",
  summary: "print the job graph (chained tasks) without running it",
  description: [
    "Builds the job from its module and prints its job graph: one entry per chain of operators",
    "(a task), with parallelism, uids and the partitioner of each input.",
  ].join("\n"),
  options: [PARALLELISM, MAX_PARALLELISM, DOT, JSON_PLAN, VERBOSE, HELP_OPTION],
};

export const NEXMARK: CommandSpec = {
  name: "nexmark",
  args: "[options]",
  summary: "run the Nexmark benchmark queries",
  description: "Runs Nexmark queries on generated events; see 'weir nexmark --help'.",
  options: [],
};

export const COMMANDS: readonly CommandSpec[] = [RUN, PLAN, NEXMARK];

export function mainHelp(version: string): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `weir ${version}: a stream processing engine for TypeScript`,
    "",
    "Usage: weir <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Options:",
    "  -h, --help     show help (also: weir <command> --help)",
    "  --version      print the version",
    "",
    "Examples:",
    "  weir run examples/wordcount.ts -p 2",
    "  weir run examples/generated-data.ts        # runs until Ctrl-C",
    "  weir plan examples/wordcount.ts --dot | dot -Tsvg > plan.svg",
    "",
    "Exit codes: 0 done (or cancelled with Ctrl-C), 1 job invalid or failed, 2 usage error,",
    "130 interrupted twice.",
  ].join("\n");
}

export function commandHelp(c: CommandSpec): string {
  const labels = c.options.map((o) => `${optionLabel(o).replace("/", ", ")}${o.value ? ` ${o.value}` : ""}`);
  const width = Math.max(...labels.map((l) => l.length));
  return [
    `Usage: weir ${c.name} ${c.args} [options]`,
    "",
    c.description,
    "",
    "Options:",
    ...c.options.map((o, i) => `  ${labels[i]!.padEnd(width)}  ${o.help}`),
  ].join("\n");
}
