// The options and help of the cluster's commands (jobmanager, taskmanager, cluster, list, cancel,
// run -m): kept apart from the commands themselves so that help answers without loading them.

import { HELP_OPTION, type OptionSpec } from "./args.ts";
import type { CommandSpec } from "./commands.ts";

/** Flink's JobManager RPC port. */
export const JOBMANAGER_PORT = 6123;

/** Read when --token is not given. */
export const CLUSTER_TOKEN_ENV = "WEIR_CLUSTER_TOKEN";

export const ADDRESS: OptionSpec = {
  name: "address",
  value: "host",
  example: "127.0.0.1",
  help: "address to listen on (default 127.0.0.1; any other needs --token)",
};
export const TOKEN: OptionSpec = {
  name: "token",
  value: "secret",
  help: `the cluster token every TaskManager and client must present (default: $${CLUSTER_TOKEN_ENV})`,
};
export const JM_ADDRESS: OptionSpec = {
  name: "jobmanager",
  short: "m",
  value: "host:port",
  example: "127.0.0.1:6123",
  help: `the JobManager's RPC address (port default ${JOBMANAGER_PORT}); with weir run: run the job on that cluster`,
};
export const PORT: OptionSpec = {
  name: "port",
  value: "N",
  example: String(JOBMANAGER_PORT),
  help: `RPC port (default ${JOBMANAGER_PORT}; 0 picks a free one)`,
};
export const REST_PORT: OptionSpec = {
  name: "rest-port",
  value: "N",
  example: "8081",
  help: "port of the REST API (jobs, /taskmanagers, /metrics) on --address (default 8081; 0 picks a free one)",
};
export const APPLICATION_JOB: OptionSpec = {
  name: "job",
  value: "job.ts",
  help: "application mode: run this job on the cluster, print its summary, then stop the cluster (TaskManagers too) and exit with the job",
};
export const CHECKPOINT_DIR: OptionSpec = {
  name: "checkpoint-dir",
  value: "dir",
  help: "checkpoints of jobs that name no directory go here (a directory every host shares)",
};
export const HEARTBEAT_INTERVAL: OptionSpec = {
  name: "heartbeat-interval",
  value: "ms",
  example: "1000",
  help: "how often the JobManager and TaskManagers send each other heartbeats (default 1000)",
};
export const HEARTBEAT_TIMEOUT: OptionSpec = {
  name: "heartbeat-timeout",
  value: "ms",
  example: "10000",
  help: "a TaskManager (or JobManager) not heard from for this long is lost (default 10000)",
};
export const SLOT_TIMEOUT: OptionSpec = {
  name: "slot-timeout",
  value: "ms",
  example: "30000",
  help: "how long an attempt waits for free slots before it fails (default 30000)",
};
export const SLOT_PLACEMENT: OptionSpec = {
  name: "slot-placement",
  value: "pack|spread",
  example: "spread",
  help: "where a job's slots go: pack fills one TaskManager before the next (default), spread evens them out over the TaskManagers (Flink's cluster.evenly-spread-out-slots)",
};
export const SLOTS: OptionSpec = {
  name: "slots",
  value: "N",
  example: "2",
  help: "slots offered (default 1)",
};
export const DATA_PORT: OptionSpec = {
  name: "data-port",
  value: "N",
  help: "port of the data exchange with other TaskManagers (default 0: a free one)",
};
export const ID: OptionSpec = {
  name: "id",
  value: "name",
  help: "the TaskManager's id (default: a random one)",
};
export const TASKMANAGERS: OptionSpec = {
  name: "taskmanagers",
  value: "N",
  example: "2",
  help: "TaskManagers to start (default 1)",
};
export const PID_DIR: OptionSpec = {
  name: "pid-dir",
  value: "dir",
  help: "where the local cluster's pid file and logs go (default .weir/cluster)",
};

export const JOBMANAGER: CommandSpec = {
  name: "jobmanager",
  args: "",
  summary: "start a JobManager: the cluster's coordinator (runs until SIGTERM or Ctrl-C)",
  description: [
    "Starts a JobManager process: TaskManagers register with it and offer slots, clients submit",
    "jobs to it (weir run -m host:port job.ts), and it runs each job's checkpoints and failover.",
    "See docs/cluster.md.",
  ].join("\n"),
  options: [
    ADDRESS,
    PORT,
    REST_PORT,
    TOKEN,
    CHECKPOINT_DIR,
    APPLICATION_JOB,
    { name: "parallelism", short: "p", value: "N", help: "with --job: the job's default parallelism" },
    HEARTBEAT_INTERVAL,
    HEARTBEAT_TIMEOUT,
    SLOT_TIMEOUT,
    SLOT_PLACEMENT,
    HELP_OPTION,
  ],
};

export const TASKMANAGER: CommandSpec = {
  name: "taskmanager",
  args: "",
  summary: "start a TaskManager offering slots to a JobManager (runs until SIGTERM or Ctrl-C)",
  description: [
    "Starts a TaskManager process: it registers with the JobManager and runs the tasks deployed to",
    "its slots, one worker thread per slot. What the tasks print goes to its stdout.",
  ].join("\n"),
  options: [JM_ADDRESS, SLOTS, ADDRESS, DATA_PORT, TOKEN, ID, HELP_OPTION],
};

export const CLUSTER: CommandSpec = {
  name: "cluster",
  args: "start|stop",
  summary: "start or stop a local cluster (a JobManager and TaskManagers in the background)",
  description: [
    "weir cluster start starts a JobManager and --taskmanagers TaskManagers of --slots slots on",
    "this machine, in the background, with their logs and a pid file in --pid-dir; weir cluster",
    "stop stops them.",
  ].join("\n"),
  options: [TASKMANAGERS, SLOTS, SLOT_PLACEMENT, PORT, REST_PORT, TOKEN, PID_DIR, HELP_OPTION],
};

export const LIST: CommandSpec = {
  name: "list",
  args: "",
  summary: "list the jobs of a cluster (-m host:port)",
  description: "Lists the jobs of the JobManager at -m host:port, with their status.",
  options: [JM_ADDRESS, TOKEN, HELP_OPTION],
};

export const CANCEL: CommandSpec = {
  name: "cancel",
  args: "<jobId>",
  summary: "cancel a job running on a cluster (-m host:port)",
  description: "Cancels the job <jobId> on the JobManager at -m host:port.",
  options: [JM_ADDRESS, TOKEN, HELP_OPTION],
};

export const SAVEPOINT: CommandSpec = {
  name: "savepoint",
  args: "<jobId> [dir]",
  summary: "take a savepoint of a job running on a cluster (-m host:port)",
  description: [
    "Takes a savepoint of the job <jobId> on the JobManager at -m host:port into [dir] (a directory",
    "the cluster's hosts share; default <checkpoint dir>/savepoints) and prints its path; the job",
    "goes on. 'weir run -m ... --from-savepoint <path>' starts a job from it.",
  ].join("\n"),
  options: [JM_ADDRESS, TOKEN, HELP_OPTION],
};

export const STOP: CommandSpec = {
  name: "stop",
  args: "<jobId>",
  summary: "stop a job running on a cluster with a savepoint (-m host:port)",
  description: [
    "Takes a savepoint of the job <jobId> into --savepoint-dir, then stops it; prints the",
    "savepoint's path. When no savepoint can be taken the job keeps running, as in Flink.",
  ].join("\n"),
  options: [
    JM_ADDRESS,
    {
      name: "savepoint-dir",
      value: "dir",
      help: "where the savepoint goes (default <checkpoint dir>/savepoints)",
    },
    TOKEN,
    HELP_OPTION,
  ],
};

export const DETACHED: OptionSpec = {
  name: "detached",
  help: "with -m: submit the job and return at once, printing its id",
};
