// A TaskManager: a process offering slots to a JobManager. It registers over the RPC connection,
// exchanges heartbeats with the JobManager both ways, and runs each slot of a deployment as a task
// worker thread (src/cluster/task-worker.ts), relaying the worker's messages to and from the
// JobManager. Channels between its own workers are MessagePorts as in the MiniCluster; channels to
// workers on other TaskManagers go through the data exchange (TCP). When the JobManager is lost it
// ends its workers and registers again once the JobManager answers.

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import { WORKER_URL } from "../mini-cluster.ts";
import type { ToCoordinator, WorkerData } from "../protocol.ts";
import type { ClusterTls } from "../rpc/cluster-tls.ts";
import {
  ClusterConnectionError,
  type FrameServer,
  type FrameSocket,
  dial,
  listenFrames,
} from "../rpc/frame-socket.ts";
import type { JobManagerToTaskManager, TaskManagerToJobManager } from "../rpc/messages.ts";
import { isStdioMessage } from "../worker-stdio.ts";
import { explainWorkerError, heapLimits, startWorker } from "../worker-threads.ts";
import { ArtifactCache } from "./artifact-cache.ts";
import { DataExchange } from "./data-exchange.ts";
import { OutputTail, fileTail } from "./output-tail.ts";

export interface TaskManagerOptions {
  jobManagerHost: string;
  jobManagerPort: number;
  slots: number;
  /** The cluster token ("" on loopback without one). */
  token: string;
  /** Where the data port listens (default 127.0.0.1). */
  address?: string;
  /** 0 picks a free port. */
  dataPort?: number;
  /** Default: a random id. */
  id?: string;
  /** Where fetched job artifacts are kept. */
  artifactDir: string;
  /** The file the process logs to (--log-file): what /taskmanagers/:id/logs serves, when given. */
  logFile?: string;
  /**
   * Where the JobManager is now, asked before each connection attempt (high availability: the
   * leader, or the next of several addresses); default jobManagerHost:jobManagerPort.
   */
  findJobManager?: () => Promise<{ host: string; port: number }>;
  /** TLS for the RPC and the data exchange (the JobManager's and the other TaskManagers' too). */
  tls?: ClusterTls;
  log?: (level: "INFO" | "WARN" | "ERROR", line: string) => void;
}

interface HostedWorker {
  worker: Worker;
  deployment: number;
  slot: number;
}

const RECONNECT_MS = 1_000;

export class TaskManager {
  readonly id: string;
  private rpc: FrameSocket | undefined;
  private data: FrameServer | undefined;
  private exchange!: DataExchange;
  private readonly workers = new Map<string, HostedWorker>();
  private stopped = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastHeard = Date.now();
  /** host:port of the JobManager connected to (or being dialled). */
  private jobManager = "";
  private readonly log: (level: "INFO" | "WARN" | "ERROR", line: string) => void;
  private readonly artifacts: ArtifactCache;
  private registered: (() => void) | undefined;
  /** Why the JobManager will not have this TaskManager (a wrong token or certificate): it gave up. */
  refused: string | undefined;
  private shutdown: () => void = () => {};
  /** Resolves when the JobManager has told this TaskManager to exit (application mode). */
  readonly shutDown = new Promise<void>((resolve) => {
    this.shutdown = resolve;
  });
  /** The last MiB of the log and of what the tasks printed, for the REST API. */
  private readonly logTail = new OutputTail();
  private readonly stdoutTail = new OutputTail();

  constructor(private readonly options: TaskManagerOptions) {
    this.id = options.id ?? `tm-${randomUUID().slice(0, 8)}`;
    const write =
      options.log ??
      ((level, line) => process.stderr.write(`${new Date().toISOString()} ${level} ${line}\n`));
    this.log = (level, line) => {
      this.logTail.append(`${new Date().toISOString()} ${level} ${line}\n`);
      write(level, line);
    };
    this.artifacts = new ArtifactCache(options.artifactDir, (sha256) =>
      this.rpc?.send({ t: "fetch-artifact", sha256 }),
    );
  }

  get dataPort(): number {
    return this.data?.port ?? 0;
  }

  /** Listen on the data port and register with the JobManager; resolves once registered. */
  async start(): Promise<void> {
    const address = this.options.address ?? "127.0.0.1";
    this.exchange = new DataExchange(
      this.id,
      this.options.token,
      (l) => this.log("WARN", l),
      (deployments, peer, why) => this.dataConnectionBroken(deployments, peer, why),
      this.options.tls,
    );
    this.data = await listenFrames(
      address,
      this.options.dataPort ?? 0,
      this.options.token,
      (socket, hello) => {
        if (hello.role !== "data" || hello.id === undefined) {
          socket.destroy();
          return;
        }
        // Binary frames from here on.
        socket.holdRaw();
        this.exchange.accept(hello.id, socket);
      },
      (remote, why) => this.log("WARN", `refused a data connection from ${remote}: ${why}`),
      this.options.tls,
    );
    this.log(
      "INFO",
      `TaskManager ${this.id}: ${this.options.slots} slot(s), data port ${address}:${this.data.port}`,
    );
    await new Promise<void>((resolve) => {
      this.registered = resolve;
      void this.connect();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    await this.endWorkers();
    this.artifacts.clear();
    this.rpc?.destroy();
    this.exchange?.shutdown();
    await this.data?.close();
  }

  private async connect(): Promise<void> {
    while (!this.stopped) {
      const { host, port } = (await this.options.findJobManager?.().catch(() => undefined)) ?? {
        host: this.options.jobManagerHost,
        port: this.options.jobManagerPort,
      };
      this.jobManager = `${host}:${port}`;
      try {
        const rpc = await dial(
          host,
          port,
          { role: "taskmanager", token: this.options.token, id: this.id },
          10_000,
          false,
          this.options.tls,
        );
        this.rpc = rpc;
        rpc.onFrame((m) => this.onMessage(m as JobManagerToTaskManager));
        rpc.onClose((reason) => {
          if (this.rpc !== rpc) return;
          void this.lostJobManager(`connection closed (${reason})`);
        });
        this.send({
          t: "register",
          id: this.id,
          slots: this.options.slots,
          dataHost: this.options.address ?? "127.0.0.1",
          dataPort: this.data!.port,
          pid: process.pid,
          host: hostname(),
        });
        return;
      } catch (e) {
        this.log("WARN", `cannot reach the JobManager at ${host}:${port}: ${(e as Error).message}; retrying`);
        if (e instanceof ClusterConnectionError && e.permanent) {
          // A wrong token or certificate will not become right: stop retrying.
          this.refused = e.message;
          this.registered?.();
          this.stopped = true;
          process.exitCode = 1;
          return;
        }
        await new Promise((r) => setTimeout(r, RECONNECT_MS));
      }
    }
  }

  private async lostJobManager(why: string): Promise<void> {
    if (this.stopped) return;
    this.log("WARN", `lost the JobManager: ${why}; ending every task and registering again`);
    clearInterval(this.heartbeat);
    const rpc = this.rpc;
    this.rpc = undefined;
    rpc?.destroy();
    await this.endWorkers();
    setTimeout(() => void this.connect(), RECONNECT_MS);
  }

  private send(m: TaskManagerToJobManager): void {
    this.rpc?.send(m);
  }

  private onMessage(m: JobManagerToTaskManager): void {
    this.lastHeard = Date.now();
    switch (m.t) {
      case "registered": {
        this.log("INFO", `registered with the JobManager at ${this.jobManager}`);
        clearInterval(this.heartbeat);
        this.lastHeard = Date.now();
        this.heartbeat = setInterval(() => {
          if (Date.now() - this.lastHeard > m.heartbeatTimeoutMs) {
            void this.lostJobManager(`no heartbeat for ${m.heartbeatTimeoutMs} ms`);
            return;
          }
          const mem = process.memoryUsage();
          this.send({
            t: "heartbeat",
            metrics: {
              heapUsed: mem.heapUsed,
              heapTotal: mem.heapTotal,
              rss: mem.rss,
              workers: this.workers.size,
            },
          });
        }, m.heartbeatIntervalMs);
        this.registered?.();
        this.registered = undefined;
        break;
      }
      case "rejected":
        this.log("ERROR", `the JobManager rejected this TaskManager: ${m.reason}`);
        this.stopped = true;
        this.rpc?.destroy();
        this.registered?.();
        break;
      case "heartbeat":
        break;
      case "shutdown":
        this.log("INFO", "the JobManager ends the cluster: stopping");
        void this.stop().then(() => this.shutdown());
        break;
      case "deploy":
        void this.deploy(m.deployment, m.workers, m.placement, m.artifact).catch((e: Error) => {
          for (const w of m.workers) {
            this.send({
              t: "worker-error",
              deployment: m.deployment,
              slot: w.slot,
              message: e.message,
              stack: e.stack,
            });
            this.send({ t: "worker-exit", deployment: m.deployment, slot: w.slot, code: "not started" });
          }
        });
        break;
      case "to-worker":
        this.workers.get(`${m.deployment}/${m.slot}`)?.worker.postMessage(m.m);
        break;
      case "terminate": {
        const w = this.workers.get(`${m.deployment}/${m.slot}`);
        if (w === undefined)
          this.send({ t: "worker-exit", deployment: m.deployment, slot: m.slot, code: "gone" });
        else void w.worker.terminate();
        break;
      }
      case "fetch-file": {
        const logFile = this.options.logFile;
        const text =
          m.file === "stdout"
            ? Promise.resolve(this.stdoutTail.text())
            : logFile === undefined
              ? Promise.resolve(this.logTail.text())
              : fileTail(logFile);
        void text.then((t) => this.send({ t: "file", rid: m.rid, text: t }));
        break;
      }
      case "artifact":
        this.artifacts.received(m.sha256, m.bytes);
        break;
    }
  }

  private async deploy(
    deployment: number,
    workers: WorkerData[],
    placement: Array<{ tm: string; dataHost: string; dataPort: number }>,
    artifact: { sha256: string; name: string } | undefined,
  ): Promise<void> {
    const modulePath =
      artifact === undefined ? undefined : await this.artifacts.path(artifact.sha256, artifact.name);
    const n = placement.length;
    const local = new Set(workers.map((w) => w.slot));
    // Ports between this TaskManager's own slots: one MessageChannel per pair, as in the MiniCluster.
    const ports = new Map<number, Array<MessagePort | null>>();
    for (const w of workers) ports.set(w.slot, new Array<MessagePort | null>(n).fill(null));
    for (const a of local) {
      for (let b = 0; b < n; b++) {
        if (b === a) continue;
        if (local.has(b)) {
          if (b < a) continue;
          const { port1, port2 } = new MessageChannel();
          ports.get(a)![b] = port1;
          ports.get(b)![a] = port2;
        } else {
          ports.get(a)![b] = this.exchange.open(deployment, a, b, placement[b]!);
        }
      }
    }
    for (const data of workers) {
      const slotPorts = ports.get(data.slot)!;
      const worker = startWorker(WORKER_URL, {
        workerData: { ...data, modulePath: modulePath ?? data.modulePath, ports: slotPorts },
        transferList: slotPorts.filter((p): p is MessagePort => p !== null),
        ...heapLimits(data.heapLimitMb),
      });
      const key = `${deployment}/${data.slot}`;
      this.workers.set(key, { worker, deployment, slot: data.slot });
      if (artifact !== undefined) this.artifacts.acquire(artifact.sha256);
      worker.on("message", (m: ToCoordinator) => {
        // What the worker prints goes to this process's stdout (startWorker writes it).
        if (isStdioMessage(m)) {
          if (m.fd === 1) this.stdoutTail.append(m.text);
          else if (this.options.logFile === undefined) this.logTail.append(m.text);
          else {
            // The REST API serves the log file then: what a task wrote to stderr goes into it too.
            for (const line of m.text.split("\n")) {
              if (line !== "") this.log("WARN", `slot ${data.slot} stderr: ${line}`);
            }
          }
          return;
        }
        this.send({ t: "worker", deployment, slot: data.slot, m });
      });
      worker.on("error", (error) => {
        const e = explainWorkerError(error, data.slot, data.heapLimitMb);
        this.send({ t: "worker-error", deployment, slot: data.slot, message: e.message, stack: e.stack });
      });
      worker.once("exit", (code) => {
        this.workers.delete(key);
        if (artifact !== undefined) this.artifacts.release(artifact.sha256);
        if (![...this.workers.values()].some((w) => w.deployment === deployment))
          this.exchange.close(deployment);
        this.send({ t: "worker-exit", deployment, slot: data.slot, code });
      });
    }
    this.log(
      "INFO",
      `deployment ${deployment} of job '${workers[0]?.jobName}': slot(s) ${[...local].join(", ")}`,
    );
  }

  /**
   * The data connection to `peer` failed or broke: the channels of these deployments lost data, so
   * their slots here fail at once (the JobManager fails the attempt over by its restart strategy).
   */
  private dataConnectionBroken(deployments: number[], peer: string, why: string): void {
    this.log("WARN", `${why}: failing deployment(s) ${deployments.join(", ")}`);
    const message = `${why}; check that TaskManager ${peer} runs and that its data port is reachable from ${this.id} (--address, --data-port)`;
    for (const w of this.workers.values()) {
      if (!deployments.includes(w.deployment)) continue;
      this.send({ t: "worker-error", deployment: w.deployment, slot: w.slot, message, stack: undefined });
    }
  }

  private async endWorkers(): Promise<void> {
    const all = [...this.workers.values()];
    await Promise.all(all.map((w) => w.worker.terminate()));
  }
}
