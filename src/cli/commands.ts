// The commands of `weir` and their options; the help texts are generated from these.

import { HELP_OPTION, type OptionSpec, optionLabel } from "./args.ts";
import {
  CANCEL,
  CLUSTER,
  DETACHED,
  JM_ADDRESS,
  JOBMANAGER,
  LIST,
  TASKMANAGER,
  TLS_OPTIONS,
  TOKEN,
  SAVEPOINT,
  STOP,
} from "./cluster-options.ts";
import { MANAGED_MEMORY, NETWORK_MEMORY, TASK_HEAP_MEMORY } from "./memory-options.ts";
import { OBSERVABILITY_OPTIONS } from "./rest-options.ts";

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
export const QUIET: OptionSpec = {
  name: "quiet",
  help: "no live status line on stderr (on a terminal rewritten every second, otherwise printed every 10 s)",
};
export const DOT: OptionSpec = {
  name: "dot",
  help: "print the graph in Graphviz DOT (pipe it to `dot -Tsvg`)",
};
export const JSON_PLAN: OptionSpec = { name: "json", help: "print the execution plan as JSON" };

// ---- checkpoints, state, savepoints, restarts (weir run) ----------------------------------------

export const CHECKPOINT_INTERVAL: OptionSpec = {
  name: "checkpoint-interval",
  value: "ms",
  example: "1000",
  help: "take a checkpoint every ms milliseconds (default: no checkpoints, unless the job enables them)",
};
export const CHECKPOINTING_MODE: OptionSpec = {
  name: "checkpointing-mode",
  value: "mode",
  example: "at-least-once",
  help: "exactly-once (default: barriers aligned) or at-least-once (not aligned); needs --checkpoint-interval",
};
export const CHECKPOINT_DIR: OptionSpec = {
  name: "checkpoint-dir",
  value: "dir",
  example: ".weir/checkpoints",
  help: "where checkpoints are written, under <dir>/<job id>/: a directory or s3://bucket/prefix (default .weir/checkpoints)",
};
export const STATE_BACKEND: OptionSpec = {
  name: "state-backend",
  value: "name",
  example: "embedded",
  help: "where keyed state lives: heap (default) or embedded (on-disk LMDB stores, for state larger than memory)",
};
export const STATE_DIR: OptionSpec = {
  name: "state-dir",
  value: "dir",
  example: "/var/tmp/weir-state",
  help: "where the embedded backend keeps its stores (default: the OS temp directory)",
};
export const FROM_SAVEPOINT: OptionSpec = {
  name: "from-savepoint",
  value: "path",
  example: "savepoints/savepoint-1a2b3c4d-7",
  help: "start from this savepoint, or from a retained checkpoint (a chk-N directory; s3://… too)",
};
export const ALLOW_NON_RESTORED_STATE: OptionSpec = {
  name: "allow-non-restored-state",
  help: "with --from-savepoint: drop the state of operators (uids) this job no longer has",
};
export const RESTART_STRATEGY: OptionSpec = {
  name: "restart-strategy",
  value: "spec",
  example: "fixed-delay:3:1000",
  help: "what to do when the job fails: see 'Restart strategies' below (default: none; with checkpoints exponential)",
};
export const SAVEPOINT_DIR: OptionSpec = {
  name: "savepoint-dir",
  value: "dir",
  example: "savepoints",
  help: "Ctrl-C stops the job with a savepoint in this directory or s3://bucket/prefix (needs checkpointing) instead of cancelling it",
};

export interface CommandSpec {
  readonly name: string;
  readonly args: string;
  readonly summary: string;
  readonly description: string;
  readonly options: readonly OptionSpec[];
  /** Printed after the options. */
  readonly notes?: string;
}

export const RUN: CommandSpec = {
  name: "run",
  args: "<job.ts|job.js>",
  summary: "run a job on the local MiniCluster (worker threads), or on a cluster with -m host:port",
  description: [
    "Runs the job module (its default export is defineJob(...)) on the local MiniCluster: one",
    "worker thread per slot, each rebuilding the job from the module. Prints each failure as it",
    "happens, and a summary when the job ends. Ctrl-C or SIGTERM cancels the job, or with",
    "--savepoint-dir stops it with a savepoint that --from-savepoint resumes (a second one exits",
    "at once). See docs/checkpoints.md.",
    "",
    "Arguments after -- are the job's: 'weir run job.ts -p 2 -- --input in.txt --count 10' hands",
    "them to the build function, defineJob((env, params) => ...), as a ParameterTool",
    "(params.get('input'), params.getInt('count', 1), params.getBoolean(...), params.getRequired(...)).",
  ].join("\n"),
  options: [
    PARALLELISM,
    MAX_PARALLELISM,
    BUFFER_TIMEOUT,
    CHECKPOINT_INTERVAL,
    CHECKPOINTING_MODE,
    CHECKPOINT_DIR,
    STATE_BACKEND,
    STATE_DIR,
    MANAGED_MEMORY,
    NETWORK_MEMORY,
    TASK_HEAP_MEMORY,
    SAVEPOINT_DIR,
    FROM_SAVEPOINT,
    ALLOW_NON_RESTORED_STATE,
    RESTART_STRATEGY,
    ...OBSERVABILITY_OPTIONS,
    JM_ADDRESS,
    TOKEN,
    ...TLS_OPTIONS,
    DETACHED,
    QUIET,
    VERBOSE,
    HELP_OPTION,
  ],
  notes: [
    "Restart strategies (--restart-strategy spec); the job restarts from its latest checkpoint, and",
    "each failure is printed on stderr as it happens, with the delay before the restart:",
    "  none                                       fail the job at its first failure",
    "  fixed-delay:<attempts>:<delayMs>           up to <attempts> restarts ('unlimited': no limit),",
    "                                             <delayMs> ms apart",
    "  exponential[:<initialMs>:<maxMs>]          unlimited restarts; the delay starts at <initialMs>",
    "                                             (default 1000) and grows x1.5 per failure up to <maxMs>",
    "                                             (60000), +-10% jitter; it starts over after an hour",
    "                                             without failures",
    "  failure-rate:<max>:<intervalMs>:<delayMs>  restart after <delayMs> ms; fail the job when more",
    "                                             than <max> failures fall within <intervalMs> ms",
    "",
    "Examples:",
    "  weir run job.ts --checkpoint-interval 1000 --savepoint-dir savepoints    # Ctrl-C: savepoint",
    "  weir run job.ts --checkpoint-interval 1000 --from-savepoint savepoints/savepoint-1a2b3c4d-7",
    "  weir run job.ts --checkpoint-interval 5000 --state-backend embedded --restart-strategy none",
  ].join("\n"),
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

export const COMMANDS: readonly CommandSpec[] = [
  RUN,
  PLAN,
  NEXMARK,
  JOBMANAGER,
  TASKMANAGER,
  CLUSTER,
  LIST,
  CANCEL,
  SAVEPOINT,
  STOP,
];

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
    "Exit codes: 0 done (or, on Ctrl-C or SIGTERM, cancelled or stopped with a savepoint; or stdout",
    "closed), 1 job invalid or failed, 2 usage error, 130 (143) interrupted twice by Ctrl-C (SIGTERM).",
  ].join("\n");
}

export function commandHelp(c: CommandSpec): string {
  const labels = c.options.map((o) => `${optionLabel(o).replace("/", ", ")}${o.value ? ` ${o.value}` : ""}`);
  const width = Math.max(...labels.map((l) => l.length));
  return [
    `Usage: weir ${[c.name, c.args].filter((a) => a.length > 0).join(" ")} [options]${c === RUN ? " [-- job arguments]" : ""}`,
    "",
    c.description,
    "",
    "Options:",
    ...c.options.map((o, i) => `  ${labels[i]!.padEnd(width)}  ${o.help}`),
    ...(c.notes !== undefined ? ["", c.notes] : []),
  ].join("\n");
}
