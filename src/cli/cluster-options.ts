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
export const TLS_CERT: OptionSpec = {
  name: "tls-cert",
  value: "file",
  help: "PEM certificate (chain) of this process: with --tls-key and --tls-ca, the RPC, data exchange and REST API use TLS (docs/deployment.md)",
};
export const TLS_KEY: OptionSpec = {
  name: "tls-key",
  value: "file",
  help: "PEM private key of --tls-cert",
};
export const TLS_CA: OptionSpec = {
  name: "tls-ca",
  value: "file",
  help: "PEM certificate of the CA that signs the cluster's certificates: peers are verified against it",
};
/** The TLS options, in the order help shows them. */
export const TLS_OPTIONS: readonly OptionSpec[] = [TLS_CERT, TLS_KEY, TLS_CA];

/** Flink's REST port: the clients' -m names it. */
export const JOBMANAGER_REST_PORT = 8081;

/** The clients' -m (weir run, list, cancel, savepoint, stop): the JobManager's REST address, as in Flink. */
export const JM_ADDRESS: OptionSpec = {
  name: "jobmanager",
  short: "m",
  value: "host:port[,host:port]",
  example: `127.0.0.1:${JOBMANAGER_REST_PORT}`,
  help: `the JobManager's REST address (its --rest-port; default 127.0.0.1:${JOBMANAGER_REST_PORT}); several (highly available JobManagers, any of which answers through the leader): tried in turn; with weir run: run the job on that cluster`,
};
/** A TaskManager's -m: the JobManager's RPC address. */
export const JM_RPC_ADDRESS: OptionSpec = {
  name: "jobmanager",
  short: "m",
  value: "host:port",
  example: `127.0.0.1:${JOBMANAGER_PORT}`,
  help: `the JobManager's RPC address (its --port; port default ${JOBMANAGER_PORT})`,
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
  example: String(JOBMANAGER_REST_PORT),
  help: `port of the REST API (job submission, jobs, /taskmanagers, /metrics; what clients' -m names) on --address (default ${JOBMANAGER_REST_PORT}; 0 picks a free one)`,
};
export const JM_FLAMEGRAPH: OptionSpec = {
  name: "flamegraph",
  help: "serve CPU flame graphs of vertices at /jobs/:jid/vertices/:vid/flamegraph, profiled in the TaskManagers' worker threads (Flink's rest.flamegraph.enabled; default off)",
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
export const LOG_FILE: OptionSpec = {
  name: "log-file",
  value: "path",
  help: "also write the log to this file, one JSON line per entry (pino); the REST API serves it (default: stderr only)",
};
export const LOG_LEVEL: OptionSpec = {
  name: "log-level",
  value: "level",
  example: "info",
  help: "debug, info, warn or error: what is below it is not logged (default info)",
};
export const HA: OptionSpec = {
  name: "ha",
  value: "etcd://host:port[,host:port]",
  help: "high availability on etcd: JobManagers elect a leader there (the others stand by); TaskManagers find the leader there",
};
export const HA_STORAGE_DIR: OptionSpec = {
  name: "ha-storage-dir",
  value: "dir",
  help: "with --ha: where submitted jobs' artifacts are kept for the next leader, a directory every JobManager shares (default <checkpoint-dir>/ha)",
};
export const HA_CLUSTER_ID: OptionSpec = {
  name: "ha-cluster-id",
  value: "name",
  help: "with --ha: keeps several clusters apart in one etcd (default 'default'); the same on every JobManager and TaskManager",
};
export const HA_LEASE_TTL: OptionSpec = {
  name: "ha-lease-ttl",
  value: "s",
  example: "10",
  help: "with --ha: seconds a dead leader keeps its leadership before a standby takes over (default 10, at least 2)",
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
    "jobs to its REST API (weir run -m host:restPort job.ts), and it runs each job's checkpoints",
    "and failover.",
    "With --ha etcd://host:port several JobManagers run; the elected leader serves, the others",
    "stand by and take over its jobs from their latest checkpoints. See docs/cluster.md and",
    "docs/cluster-ha.md.",
  ].join("\n"),
  options: [
    ADDRESS,
    PORT,
    REST_PORT,
    JM_FLAMEGRAPH,
    TOKEN,
    CHECKPOINT_DIR,
    APPLICATION_JOB,
    { name: "parallelism", short: "p", value: "N", help: "with --job: the job's default parallelism" },
    HEARTBEAT_INTERVAL,
    HEARTBEAT_TIMEOUT,
    SLOT_TIMEOUT,
    LOG_FILE,
    LOG_LEVEL,
    HA,
    HA_STORAGE_DIR,
    HA_CLUSTER_ID,
    HA_LEASE_TTL,
    ...TLS_OPTIONS,
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
  options: [
    {
      ...JM_RPC_ADDRESS,
      value: "host:port[,host:port]",
      help: `${JM_RPC_ADDRESS.help}; several: tried in turn (standby JobManagers)`,
    },
    HA,
    HA_CLUSTER_ID,
    SLOTS,
    ADDRESS,
    DATA_PORT,
    TOKEN,
    ID,
    LOG_FILE,
    LOG_LEVEL,
    ...TLS_OPTIONS,
    HELP_OPTION,
  ],
};

export const CLUSTER: CommandSpec = {
  name: "cluster",
  args: "start|stop",
  summary: "start or stop a local cluster (a JobManager and TaskManagers in the background)",
  description: [
    "weir cluster start starts a JobManager and --taskmanagers TaskManagers of --slots slots on",
    "this machine, in the background, with a pid file and their logs in --pid-dir: <name>.log (the",
    "JSON log the REST API serves), <name>.out and <name>.err (stdout, stderr); weir cluster stop",
    "stops them.",
  ].join("\n"),
  options: [
    TASKMANAGERS,
    SLOTS,
    SLOT_PLACEMENT,
    PORT,
    REST_PORT,
    JM_FLAMEGRAPH,
    TOKEN,
    PID_DIR,
    LOG_LEVEL,
    ...TLS_OPTIONS,
    HELP_OPTION,
  ],
};

export const LIST: CommandSpec = {
  name: "list",
  args: "",
  summary: "list the jobs of a cluster (-m host:port)",
  description: "Lists the jobs of the JobManager whose REST API is at -m host:port, with their status.",
  options: [JM_ADDRESS, TOKEN, ...TLS_OPTIONS, HELP_OPTION],
};

export const CANCEL: CommandSpec = {
  name: "cancel",
  args: "<jobId>",
  summary: "cancel a job running on a cluster (-m host:port)",
  description: "Cancels the job <jobId> on the JobManager whose REST API is at -m host:port.",
  options: [JM_ADDRESS, TOKEN, ...TLS_OPTIONS, HELP_OPTION],
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
  options: [JM_ADDRESS, TOKEN, ...TLS_OPTIONS, HELP_OPTION],
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
    ...TLS_OPTIONS,
    HELP_OPTION,
  ],
};

export const DETACHED: OptionSpec = {
  name: "detached",
  help: "with -m: submit the job and return at once, printing its id",
};
