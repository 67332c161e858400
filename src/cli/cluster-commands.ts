// The cluster's commands: `weir jobmanager` and `weir taskmanager` (the processes), `weir cluster
// start|stop` (a local cluster of both, like Flink's start-cluster.sh), and the clients `weir list`,
// `weir cancel`, `weir savepoint` and `weir stop`, which speak to the JobManager's REST API (-m).
// `weir run -m` is in src/cli/cluster-run.ts.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { JobResult } from "../api/job-result.ts";
import { ClusterClient, fromWireError, parseAddress } from "../cluster/cluster-client.ts";
import { bundleJob } from "../cluster/job-artifact.ts";
import { JobManager, type JobManagerOptions } from "../cluster/jobmanager/job-manager.ts";
import { SLOT_PLACEMENTS } from "../cluster/jobmanager/resource-manager.ts";
import { type ClusterTls, ClusterTlsError, loadClusterTls } from "../cluster/rpc/cluster-tls.ts";
import { jobManagerLocator, runHaJobManager } from "./cluster-ha.ts";
import { TaskManager } from "../cluster/taskmanager/task-manager.ts";
import { isLoopback } from "../web/rest-server.ts";
import { choiceOption, integerOption, parseArgs } from "./args.ts";
import { CliUsageError } from "./cli-errors.ts";
import {
  CANCEL,
  CLUSTER,
  CLUSTER_TOKEN_ENV,
  DATA_PORT,
  HEARTBEAT_INTERVAL,
  HEARTBEAT_TIMEOUT,
  JOBMANAGER,
  JOBMANAGER_PORT,
  JOBMANAGER_REST_PORT,
  JM_FLAMEGRAPH,
  LIST,
  PORT,
  SAVEPOINT,
  STOP,
  REST_PORT,
  SLOTS,
  SLOT_PLACEMENT,
  SLOT_TIMEOUT,
  TASKMANAGER,
  TASKMANAGERS,
} from "./cluster-options.ts";
import { commandHelp } from "./commands.ts";
import { clusterLogger } from "./cluster-logger.ts";
import { startJobManagerRest } from "./jobmanager-rest.ts";
import type { RestServer, RestServerOptions } from "../web/rest-server.ts";
import { type CliIO, EXIT_FAILED, EXIT_OK, accumulatorLines, reportError, summaryLine } from "./report.ts";

/** The token from --token or the environment; required beyond loopback. */
export function clusterToken(values: ReadonlyMap<string, string>): string {
  return values.get("token") ?? process.env[CLUSTER_TOKEN_ENV] ?? "";
}

/**
 * The TLS files of --tls-cert, --tls-key and --tls-ca, read; undefined without them. `server`: a
 * JobManager or TaskManager, which needs all three.
 */
export function clusterTls(
  command: string,
  values: ReadonlyMap<string, string>,
  server: boolean,
): ClusterTls | undefined {
  try {
    return loadClusterTls(
      { cert: values.get("tls-cert"), key: values.get("tls-key"), ca: values.get("tls-ca") },
      server,
      `'weir ${command}'`,
    );
  } catch (e) {
    if (!(e instanceof ClusterTlsError)) throw e;
    const cut = e.message.indexOf("; ");
    throw new CliUsageError(e.message.slice(0, cut), e.message.slice(cut + 2));
  }
}

/** The TLS flags as given, to pass on to the processes of a local cluster. */
function tlsArgs(values: ReadonlyMap<string, string>): string[] {
  return ["tls-cert", "tls-key", "tls-ca"].flatMap((k) => {
    const v = values.get(k);
    return v === undefined ? [] : [`--${k}`, resolve(v)];
  });
}

function checkBind(command: string, address: string, token: string): void {
  if (!isLoopback(address) && token.length === 0) {
    throw new CliUsageError(
      `'weir ${command}' would listen on ${address}, beyond this machine, without a cluster token`,
      `pass --token <secret> (or set ${CLUSTER_TOKEN_ENV}) on every JobManager, TaskManager and client, or leave --address at 127.0.0.1`,
    );
  }
}

/** Run until SIGINT or SIGTERM, then `stop`. */
function untilSignal(stop: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    const on = () => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      void stop().then(() => resolve(EXIT_OK));
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

/** As Flink: a heartbeat timeout not longer than the interval would lose every TaskManager. */
function checkHeartbeats(intervalMs: number, timeoutMs: number): void {
  if (timeoutMs <= intervalMs) {
    throw new CliUsageError(
      `--heartbeat-timeout of 'weir jobmanager' (${timeoutMs} ms) must be longer than --heartbeat-interval (${intervalMs} ms): a peer is lost after missing heartbeats for the timeout`,
      `e.g. --heartbeat-interval ${intervalMs} --heartbeat-timeout ${intervalMs * 10}`,
    );
  }
}

export async function jobmanagerCommand(args: string[], io: CliIO): Promise<number> {
  try {
    const cut = args.indexOf("--");
    const jobArguments = cut < 0 ? [] : args.slice(cut + 1);
    const p = parseArgs("jobmanager", cut < 0 ? args : args.slice(0, cut), JOBMANAGER.options);
    if (p.flags.has("help")) {
      io.out(commandHelp(JOBMANAGER));
      return EXIT_OK;
    }
    const address = p.values.get("address") ?? "127.0.0.1";
    const token = clusterToken(p.values);
    checkBind("jobmanager", address, token);
    const tls = clusterTls("jobmanager", p.values, true);
    const workDir = join(tmpdir(), `weir-jobmanager-${process.pid}`);
    const logFile = p.values.get("log-file");
    const logger = clusterLogger(
      "jobmanager",
      {
        file: logFile === undefined ? undefined : resolve(logFile),
        level: p.values.get("log-level"),
        name: "jobmanager",
      },
      io.err,
    );
    const heartbeatIntervalMs = integerOption(
      "jobmanager",
      HEARTBEAT_INTERVAL,
      p.values.get("heartbeat-interval"),
      1,
      3_600_000,
    );
    const heartbeatTimeoutMs = integerOption(
      "jobmanager",
      HEARTBEAT_TIMEOUT,
      p.values.get("heartbeat-timeout"),
      1,
      3_600_000,
    );
    checkHeartbeats(heartbeatIntervalMs ?? 1_000, heartbeatTimeoutMs ?? 10_000);
    const jmOptions: JobManagerOptions = {
      address,
      port: integerOption("jobmanager", PORT, p.values.get("port"), 0, 65535) ?? JOBMANAGER_PORT,
      token,
      checkpointDir: p.values.get("checkpoint-dir"),
      artifactDir: join(workDir, "artifacts"),
      heartbeatIntervalMs,
      heartbeatTimeoutMs,
      slotTimeoutMs: integerOption("jobmanager", SLOT_TIMEOUT, p.values.get("slot-timeout"), 0, 3_600_000),
      slotPlacement: choiceOption(
        "jobmanager",
        SLOT_PLACEMENT,
        p.values.get("slot-placement"),
        SLOT_PLACEMENTS,
      ),
      tls,
      log: logger.log,
    };
    const restPort =
      integerOption("jobmanager", REST_PORT, p.values.get("rest-port"), 0, 65535) ?? JOBMANAGER_REST_PORT;
    const startRest = (
      jm: JobManager | (() => JobManager | undefined),
      forward?: RestServerOptions["forward"],
    ) =>
      startJobManagerRest(jm, {
        forward,
        port: restPort,
        address,
        token,
        logFile: logFile === undefined ? undefined : resolve(logFile),
        tls,
        flameGraph: p.flags.has(JM_FLAMEGRAPH.name),
      });
    if (p.values.has("ha")) {
      return await runHaJobManager(jmOptions, p.values, startRest, untilSignal, io).finally(() =>
        rmSync(workDir, { recursive: true, force: true }),
      );
    }
    const jm = new JobManager(jmOptions);
    await jm.start();
    let rest: RestServer;
    try {
      rest = await startRest(jm);
    } catch (e) {
      await jm.stop();
      throw e;
    }
    const stopAll = async () => {
      await rest.close();
      await jm.stop();
      rmSync(workDir, { recursive: true, force: true });
    };
    io.out(`JobManager listening on ${address}:${jm.port}; REST API at ${rest.url}`);
    const application = p.values.get("job");
    if (application !== undefined) {
      return await runApplication(
        jm,
        resolve(application),
        p.values.get("parallelism"),
        jobArguments,
        io,
      ).finally(stopAll);
    }
    return await untilSignal(stopAll);
  } catch (e) {
    return reportError(e, io, false);
  }
}

export async function taskmanagerCommand(args: string[], io: CliIO): Promise<number> {
  try {
    const p = parseArgs("taskmanager", args, TASKMANAGER.options);
    if (p.flags.has("help")) {
      io.out(commandHelp(TASKMANAGER));
      return EXIT_OK;
    }
    const jmArg = p.values.get("jobmanager");
    if (jmArg === undefined && !p.values.has("ha")) {
      throw new CliUsageError(
        "'weir taskmanager' needs the JobManager's address",
        "e.g. weir taskmanager -m 127.0.0.1:6123 --slots 2 (several: -m h1:6123,h2:6123; or --ha etcd://host:2379)",
      );
    }
    const locator = await jobManagerLocator(jmArg, p.values);
    const jm = locator?.first ?? parseAddress(jmArg!, JOBMANAGER_PORT);
    const address = p.values.get("address") ?? "127.0.0.1";
    const token = clusterToken(p.values);
    checkBind("taskmanager", address, token);
    const tls = clusterTls("taskmanager", p.values, true);
    const workDir = join(tmpdir(), `weir-taskmanager-${process.pid}`);
    const given = p.values.get("log-file");
    const logFile = given === undefined ? undefined : resolve(given);
    const id = p.values.get("id");
    const logger = clusterLogger(
      "taskmanager",
      {
        file: logFile,
        level: p.values.get("log-level"),
        name: `taskmanager${id === undefined ? "" : ` ${id}`}`,
      },
      io.err,
    );
    const tm = new TaskManager({
      jobManagerHost: jm.host,
      jobManagerPort: jm.port,
      slots: integerOption("taskmanager", SLOTS, p.values.get("slots"), 1, 1024) ?? 1,
      token,
      address,
      dataPort: integerOption("taskmanager", DATA_PORT, p.values.get("data-port"), 0, 65535) ?? 0,
      id,
      artifactDir: join(workDir, "artifacts"),
      logFile,
      findJobManager: locator?.find,
      tls,
      log: logger.log,
    });
    await tm.start();
    if (tm.refused !== undefined) {
      await tm.stop();
      await locator?.close();
      io.err(
        `weir: TaskManager ${tm.id} cannot join the JobManager at ${jmArg ?? "the leader"}: ${tm.refused}`,
      );
      return EXIT_FAILED;
    }
    io.out(`TaskManager ${tm.id} registered with ${jmArg ?? `the leader (etcd ${p.values.get("ha")})`}`);
    const code = await Promise.race([untilSignal(() => tm.stop()), tm.shutDown.then(() => EXIT_OK)]);
    await locator?.close();
    rmSync(workDir, { recursive: true, force: true });
    return code;
  } catch (e) {
    return reportError(e, io, false);
  }
}

/** Application mode: run the job, print its summary, end the cluster, exit with the job. */
async function runApplication(
  jm: JobManager,
  path: string,
  parallelism: string | undefined,
  jobArguments: string[],
  io: CliIO,
): Promise<number> {
  try {
    const p = integerOption(
      "jobmanager",
      { name: "parallelism", short: "p", value: "N", help: "" },
      parallelism,
      1,
      32768,
    );
    const artifact = await bundleJob(path);
    const end = await jm.runApplication(artifact, {
      ...(p === undefined ? {} : { parallelism: p }),
      jobArguments,
    });
    if (end.status === "FINISHED" && end.result !== undefined) {
      const result = Object.assign(Object.create(JobResult.prototype) as JobResult, end.result);
      io.out(summaryLine(result));
      for (const line of accumulatorLines(result)) io.out(line);
      return EXIT_OK;
    }
    return reportError(
      end.error === undefined ? new Error(`the job ended ${end.status}`) : fromWireError(end.error),
      io,
      false,
    );
  } finally {
    await jm.shutDownTaskManagers();
  }
}

interface PidFile {
  jobmanager: { pid: number; port: number };
  taskmanagers: number[];
}

export async function clusterCommand(args: string[], io: CliIO): Promise<number> {
  try {
    const p = parseArgs("cluster", args, CLUSTER.options);
    if (p.flags.has("help") || p.positionals.length === 0) {
      io.out(commandHelp(CLUSTER));
      return p.flags.has("help") ? EXIT_OK : 2;
    }
    const dir = resolve(p.values.get("pid-dir") ?? ".weir/cluster");
    const pidFile = join(dir, "cluster.json");
    const bin = process.argv[1]!;
    if (p.positionals[0] === "start") {
      const placement = choiceOption(
        "cluster",
        SLOT_PLACEMENT,
        p.values.get("slot-placement"),
        SLOT_PLACEMENTS,
      );
      if (existsSync(pidFile)) {
        throw new CliUsageError(
          `a local cluster is running already (${pidFile})`,
          "stop it first: weir cluster stop",
        );
      }
      mkdirSync(dir, { recursive: true });
      const token = clusterToken(p.values);
      const env = { ...process.env, [CLUSTER_TOKEN_ENV]: token };
      const port = integerOption("cluster", PORT, p.values.get("port"), 1, 65535) ?? JOBMANAGER_PORT;
      const start = (name: string, argv: string[]) => {
        const child = spawn(process.execPath, [bin, ...argv], {
          detached: true,
          stdio: ["ignore", openSync(join(dir, `${name}.out`), "a"), openSync(join(dir, `${name}.err`), "a")],
          env,
        });
        child.unref();
        return child.pid!;
      };
      const restPort = p.values.get("rest-port") ?? String(JOBMANAGER_REST_PORT);
      const logLevel = p.values.get("log-level") ?? "info";
      const tls = tlsArgs(p.values);
      if (tls.length > 0) clusterTls("cluster", p.values, true);
      const jmPid = start("jobmanager", [
        "jobmanager",
        "--port",
        String(port),
        "--rest-port",
        restPort,
        "--log-file",
        join(dir, "jobmanager.log"),
        "--log-level",
        logLevel,
        ...tls,
        ...(placement === undefined ? [] : ["--slot-placement", placement]),
        ...(p.flags.has("flamegraph") ? ["--flamegraph"] : []),
      ]);
      const n = integerOption("cluster", TASKMANAGERS, p.values.get("taskmanagers"), 1, 64) ?? 1;
      const slots = p.values.get("slots") ?? "1";
      const tms: number[] = [];
      for (let i = 0; i < n; i++) {
        tms.push(
          start(`taskmanager-${i}`, [
            "taskmanager",
            "-m",
            `127.0.0.1:${port}`,
            "--slots",
            slots,
            "--id",
            `tm-${i}`,
            "--log-file",
            join(dir, `taskmanager-${i}.log`),
            "--log-level",
            logLevel,
            ...tls,
          ]),
        );
      }
      writeFileSync(
        pidFile,
        JSON.stringify({ jobmanager: { pid: jmPid, port }, taskmanagers: tms } satisfies PidFile),
      );
      io.out(
        `Started a JobManager on 127.0.0.1:${port} (REST API on port ${restPort}) and ${n} TaskManager(s) of ${slots} slot(s); logs in ${dir}`,
      );
      io.out(`Submit jobs with: weir run -m 127.0.0.1:${restPort} job.ts; stop it with: weir cluster stop`);
      return EXIT_OK;
    }
    if (p.positionals[0] === "stop") {
      if (!existsSync(pidFile))
        throw new CliUsageError(`no local cluster is running (${pidFile})`, "start one: weir cluster start");
      const pids = JSON.parse(readFileSync(pidFile, "utf8")) as PidFile;
      for (const pid of [...pids.taskmanagers, pids.jobmanager.pid]) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // gone already
        }
      }
      rmSync(pidFile);
      io.out(
        `Stopped the local cluster (JobManager pid ${pids.jobmanager.pid}, ${pids.taskmanagers.length} TaskManager(s))`,
      );
      return EXIT_OK;
    }
    throw new CliUsageError(
      `unknown 'weir cluster' action '${p.positionals[0]}'`,
      "use weir cluster start or weir cluster stop",
    );
  } catch (e) {
    return reportError(e, io, false);
  }
}

/** A client of the JobManager whose REST API -m names (default 127.0.0.1:8081, as Flink's). */
function connectClient(command: string, values: ReadonlyMap<string, string>): ClusterClient {
  return new ClusterClient(
    values.get("jobmanager") ?? `127.0.0.1:${JOBMANAGER_REST_PORT}`,
    clusterToken(values),
    clusterTls(command, values, false),
  );
}

export async function listCommand(args: string[], io: CliIO): Promise<number> {
  try {
    const p = parseArgs("list", args, LIST.options);
    if (p.flags.has("help")) {
      io.out(commandHelp(LIST));
      return EXIT_OK;
    }
    const client = connectClient("list", p.values);
    try {
      const jobs = await client.list();
      if (jobs.length === 0) io.out("No jobs.");
      for (const j of jobs) {
        io.out(`${new Date(j.startTime).toISOString()} : ${j.jobId} : ${j.jobName} (${j.status})`);
      }
    } finally {
      client.close();
    }
    return EXIT_OK;
  } catch (e) {
    return reportError(e, io, false);
  }
}

export async function savepointCommand(args: string[], io: CliIO, stop = false): Promise<number> {
  const spec = stop ? STOP : SAVEPOINT;
  try {
    const p = parseArgs(spec.name, args, spec.options);
    if (p.flags.has("help")) {
      io.out(commandHelp(spec));
      return EXIT_OK;
    }
    const jobId = p.positionals[0];
    if (jobId === undefined) {
      throw new CliUsageError(`'weir ${spec.name}' needs a job id`, "'weir list -m host:port' shows them");
    }
    const dir = stop ? p.values.get("savepoint-dir") : p.positionals[1];
    const client = connectClient(spec.name, p.values);
    try {
      const path = await client.savepoint(jobId, dir === undefined ? undefined : resolve(dir), stop);
      io.out(stop ? `Job ${jobId} stopped with savepoint at ${path}` : `Savepoint completed. Path: ${path}`);
    } finally {
      client.close();
    }
    return EXIT_OK;
  } catch (e) {
    return reportError(e, io, false);
  }
}

export async function cancelCommand(args: string[], io: CliIO): Promise<number> {
  try {
    const p = parseArgs("cancel", args, CANCEL.options);
    if (p.flags.has("help")) {
      io.out(commandHelp(CANCEL));
      return EXIT_OK;
    }
    const jobId = p.positionals[0];
    if (jobId === undefined)
      throw new CliUsageError("'weir cancel' needs a job id", "'weir list -m host:port' shows them");
    const client = connectClient("cancel", p.values);
    try {
      const status = await client.cancel(jobId);
      io.out(`Job ${jobId}: ${status}`);
    } finally {
      client.close();
    }
    return EXIT_OK;
  } catch (e) {
    return reportError(e, io, false);
  }
}
