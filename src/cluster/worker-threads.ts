// Starting worker threads that may be TypeScript files (Node 20 cannot start a .ts worker even
// under tsx, so a .ts entry is started through a small boot script that registers tsx first),
// and counting the ones alive, so that tests can prove that none is left behind. What a worker
// prints arrives as messages (src/cluster/worker-stdio.ts) and is written out here.

import { Worker, type WorkerOptions } from "node:worker_threads";
import { isStdioMessage, stdioWriter } from "./worker-stdio.ts";

let alive = 0;

export function startWorker(url: URL, options: WorkerOptions = {}): Worker {
  let worker: Worker;
  if (url.pathname.endsWith(".ts")) {
    // Resolved from here, not from the working directory: `weir` may run anywhere.
    const tsx = import.meta.resolve("tsx/esm/api");
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
    worker = new Worker(boot, { ...options, eval: true });
  } else {
    worker = new Worker(url, options);
  }
  alive++;
  const writeStdio = stdioWriter();
  worker.on("message", (m: unknown) => {
    if (isStdioMessage(m)) writeStdio(m);
  });
  worker.once("exit", () => {
    alive--;
  });
  return worker;
}

/**
 * Worker options that limit the thread's V8 heap (old generation) to `heapLimitMb` (the memory
 * model's worker heap limit); none when undefined. A worker that needs more fails with
 * ERR_WORKER_OUT_OF_MEMORY.
 */
export function heapLimits(heapLimitMb: number | undefined): Pick<WorkerOptions, "resourceLimits"> {
  return heapLimitMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: heapLimitMb } };
}

/**
 * A worker's error as the user should read it: a worker that ran out of its heap limit says which
 * limit, where it comes from and what to raise; any other error is returned as it is.
 */
export function explainWorkerError(e: Error, slot: number, heapLimitMb: number | undefined): Error {
  if ((e as { code?: string }).code !== "ERR_WORKER_OUT_OF_MEMORY") return e;
  const limit =
    heapLimitMb === undefined
      ? "Node's default heap limit"
      : `its heap limit of ${heapLimitMb} MiB (the slot's managed memory + the task heap, with the embedded state backend)`;
  const raise =
    heapLimitMb === undefined
      ? "give the process more heap (node --max-old-space-size), or keep large state in the embedded backend"
      : "raise --task-heap-memory (env.setTaskHeapMemory) if user code holds large objects, or --managed-memory for the state cache";
  const out = new Error(`slot ${slot}'s worker thread ran out of ${limit}: ${e.message}; ${raise}`);
  (out as { code?: string }).code = "ERR_WORKER_OUT_OF_MEMORY";
  return out;
}

/** Worker threads started by Weir in this process that have not exited yet. */
export function liveWorkerCount(): number {
  return alive;
}
