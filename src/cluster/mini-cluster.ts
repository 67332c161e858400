// The local MiniCluster: runs a job module on worker threads, one per slot, from the
// coordinating thread, which plays the JobManager: it compiles the job, runs the source split
// enumerators, starts the workers once all are deployed, and collects their outcome.

import { randomUUID } from "node:crypto";
import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import type { EnvironmentConfig } from "../api/environment.ts";
import { JobResult, type JobClient, type JobStatus } from "../api/job-result.ts";
import {
  InvalidArgumentError,
  JobCancelledError,
  JobExecutionError,
  type WeirError,
  jobFailure,
} from "../core/errors.ts";
import { executionPlan } from "../graph/plan.ts";
import type { BufferPoolStats } from "../network/buffer-pool.ts";
import { SourceCoordinator } from "../runtime/source-coordinator.ts";
import type { TaskReport } from "../runtime/stream-task.ts";
import { buildJobEnvironment, loadJobModule } from "./job-module.ts";
import type { ToCoordinator, ToWorker, WorkerData } from "./protocol.ts";
import { startWorker } from "./worker-threads.ts";

export interface RunJobOptions extends EnvironmentConfig {
  /** Path of the job module (.ts or .js) whose default export is defineJob(...). */
  job: string;
  jobName?: string;
}

const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./task-worker.ts" : "./task-worker.js",
  import.meta.url,
);

/** Run a job module on worker threads and wait for its result. */
export async function runJob(
  options: RunJobOptions,
): Promise<JobResult & { collected: Map<string, unknown[]> }> {
  const client = await submitJob(options);
  return client.wait();
}

export interface ClusterJobClient extends JobClient {
  wait(): Promise<JobResult & { collected: Map<string, unknown[]> }>;
}

export async function submitJob(options: RunJobOptions): Promise<ClusterJobClient> {
  const { job: modulePath, jobName: name, ...config } = options;
  if (config.clock !== undefined) {
    throw new InvalidArgumentError(
      "a custom clock works only for in-thread execution (env.execute()); worker threads use the system clock",
    );
  }
  const def = await loadJobModule(modulePath);
  const env = await buildJobEnvironment(def, config, modulePath);
  const jobName = name ?? env.defaultJobName;
  const job = env.compile(jobName);
  const jobId = randomUUID();
  const eg = job.executionGraph;
  const planFingerprint = JSON.stringify(executionPlan(job.jobGraph));

  // Collected results, by sink uid and name.
  const collected = new Map<string, unknown[]>();
  const publish = env.collectPublisher();
  const sinkNames = new Map(job.streamGraph.nodes.map((n) => [n.uid, n.name]));

  // One port pair per pair of slots.
  const ports: Array<Array<MessagePort | null>> = Array.from({ length: eg.numSlots }, () =>
    new Array<MessagePort | null>(eg.numSlots).fill(null),
  );
  for (let a = 0; a < eg.numSlots; a++) {
    for (let b = a + 1; b < eg.numSlots; b++) {
      const { port1, port2 } = new MessageChannel();
      ports[a]![b] = port1;
      ports[b]![a] = port2;
    }
  }

  const workers: Worker[] = [];
  const exited: Array<Promise<void>> = [];
  const coordinators = new Map<number, SourceCoordinator>();
  const readerSlot = new Map<string, number>();
  for (const s of eg.subtasks)
    if (s.vertex.head.source !== undefined) readerSlot.set(`${s.vertex.head.id}/${s.index}`, s.slot);
  const post = (slot: number, m: ToWorker) => workers[slot]?.postMessage(m);

  for (const v of job.jobGraph.vertices) {
    const src = v.head.source;
    if (src === undefined) continue;
    const node = v.head.id;
    const c = new SourceCoordinator(v.head.name, src, v.parallelism, {
      addSplits: (subtask, splits) =>
        post(readerSlot.get(`${node}/${subtask}`)!, { t: "splits", node, subtask, splits }),
      noMoreSplits: (subtask) =>
        post(readerSlot.get(`${node}/${subtask}`)!, { t: "no-more-splits", node, subtask }),
    });
    await c.start();
    coordinators.set(node, c);
  }

  let status: JobStatus = "RUNNING";
  const started = performance.now();
  const reports: TaskReport[] = [];
  const pools: BufferPoolStats[] = [];
  let ready = 0;
  let done = 0;
  let settle!: {
    resolve: (r: JobResult & { collected: Map<string, unknown[]> }) => void;
    reject: (e: Error) => void;
  };
  const result = new Promise<JobResult & { collected: Map<string, unknown[]> }>((resolve, reject) => {
    settle = { resolve, reject };
  });
  result.catch(() => {});

  const shutdown = async () => {
    for (const w of workers) void w.terminate();
    await Promise.all(exited);
    for (const c of coordinators.values()) await c.close();
  };
  const fail = async (e: Error, finalStatus: JobStatus = "FAILED") => {
    if (status !== "RUNNING") return;
    status = finalStatus;
    await shutdown();
    settle.reject(e);
  };

  for (let slot = 0; slot < eg.numSlots; slot++) {
    const slotPorts = ports[slot]!;
    const data: WorkerData & { ports: Array<MessagePort | null> } = {
      modulePath,
      config,
      jobName,
      jobId,
      slot,
      planFingerprint,
      ports: slotPorts,
    };
    const w = startWorker(WORKER_URL, {
      workerData: data,
      transferList: slotPorts.filter((p): p is MessagePort => p !== null),
    });
    workers.push(w);
    exited.push(new Promise((resolve) => w.once("exit", () => resolve())));
    w.on("error", (e) => {
      void fail(
        new JobExecutionError(
          `job '${jobName}' failed: worker thread of slot ${slot} crashed: ${e.message}`,
          undefined,
          e.stack,
          e,
        ),
      );
    });
    w.on("exit", (code) => {
      if (status === "RUNNING") {
        void fail(
          new JobExecutionError(
            `job '${jobName}' failed: worker thread of slot ${slot} exited unexpectedly (code ${code})`,
          ),
        );
      }
    });
    w.on("message", (m: ToCoordinator) => {
      switch (m.t) {
        case "ready":
          if (++ready === eg.numSlots)
            for (const x of workers) x.postMessage({ t: "start" } satisfies ToWorker);
          break;
        case "reader":
          coordinators.get(m.node)!.registerReader(m.subtask);
          break;
        case "split-request":
          coordinators.get(m.node)!.handleSplitRequest(m.subtask);
          break;
        case "collect": {
          publish(m.uid, m.subtask, m.values);
          for (const key of [m.uid, sinkNames.get(m.uid) ?? m.uid]) {
            const list = collected.get(key) ?? [];
            for (const v of m.values) list.push(v);
            collected.set(key, list);
          }
          break;
        }
        case "done":
          reports.push(...m.reports);
          pools.push(m.pool);
          if (++done === eg.numSlots) {
            status = "FINISHED";
            void shutdown().then(() => {
              const r = new JobResult({
                jobId,
                jobName,
                runtimeMs: performance.now() - started,
                vertices: job.jobGraph.vertices.map((v) => ({
                  id: v.id,
                  name: v.name,
                  parallelism: v.parallelism,
                })),
                reports,
                pools,
              });
              settle.resolve(Object.assign(r, { collected }));
            });
          }
          break;
        case "failed": {
          const err: WeirError =
            m.failure !== undefined
              ? jobFailure(jobName, jobId, m.failure)
              : new JobExecutionError(
                  `job '${jobName}' failed in worker thread of slot ${slot}: ${m.message}`,
                  undefined,
                  m.stack,
                );
          void fail(err);
          break;
        }
      }
    });
  }

  return {
    jobId,
    jobName,
    getStatus: () => status,
    wait: () => result,
    cancel: async () => {
      await fail(new JobCancelledError(jobName), "CANCELED");
    },
  };
}
