// The local MiniCluster: runs a job module on worker threads of this process, one per slot. This
// thread plays the JobManager (src/cluster/job-run.ts, src/cluster/attempt-coordinator.ts); the
// slots' workers talk to each other over one MessagePort per pair of threads.

import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { ManagedJobClient } from "../api/job-client.ts";
import type { JobResult } from "../api/job-result.ts";
import type { SlotLauncher, SlotRunner, WorkerKillReport } from "./attempt-coordinator.ts";
import { type JobRunOptions, submitJobOnSlots } from "./job-run.ts";
import type { ToCoordinator } from "./protocol.ts";
import { explainWorkerError, heapLimits, startWorker } from "./worker-threads.ts";

export type RunJobOptions = Omit<JobRunOptions, "jobId">;

export const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./task-worker.ts" : "./task-worker.js",
  import.meta.url,
);

export type ClusterJobResult = JobResult & { collected: Map<string, unknown[]> };

export interface ClusterJobClient extends ManagedJobClient {
  wait(): Promise<ClusterJobResult>;
  /**
   * After the job was cancelled (or stopped with a savepoint): what its last attempt had counted
   * when it stopped; undefined when no attempt was running (e.g. cancelled while restarting).
   */
  cancelledResult(): JobResult | undefined;
  /**
   * Chaos testing: end the worker thread of `slot` of the current attempt abruptly, as a crash
   * would. Says which attempt it hit and in which phase; undefined before the first attempt.
   */
  killWorker(slot: number): WorkerKillReport | undefined;
}

/** Run a job module on worker threads and wait for its result. */
export async function runJob(options: RunJobOptions): Promise<ClusterJobResult> {
  const client = await submitJob(options);
  return client.wait();
}

export async function submitJob(options: RunJobOptions): Promise<ClusterJobClient> {
  const { job: _job, ...client } = await submitJobOnSlots(options, () => workerThreadSlots);
  return client;
}

/** Every slot a worker thread of this process; one MessagePort per pair of slots. */
const workerThreadSlots: SlotLauncher = {
  describe: (slot) => `worker thread of slot ${slot}`,
  async start(data, listeners) {
    const n = data.length;
    const ports: Array<Array<MessagePort | null>> = Array.from({ length: n }, () =>
      new Array<MessagePort | null>(n).fill(null),
    );
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        const { port1, port2 } = new MessageChannel();
        ports[a]![b] = port1;
        ports[b]![a] = port2;
      }
    }
    return data.map((d, slot): SlotRunner => {
      const slotPorts = ports[slot]!;
      const w = startWorker(WORKER_URL, {
        workerData: { ...d, ports: slotPorts },
        transferList: slotPorts.filter((p): p is MessagePort => p !== null),
        ...heapLimits(d.heapLimitMb),
      });
      const on = listeners[slot]!;
      const exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
      w.on("error", (e) => on.crashed(explainWorkerError(e, slot, d.heapLimitMb)));
      w.on("exit", (code) => on.exited(code));
      w.on("message", (m: ToCoordinator) => on.message(m));
      return { post: (m) => w.postMessage(m), terminate: () => void w.terminate(), exited };
    });
  },
};
