// The job's memory model, after Flink's (taskmanager.memory.managed.size and
// taskmanager.memory.network.*): two configured sizes. Managed memory is what the embedded state
// backend may use, shared equally by the job's keyed operator subtasks (each store bounds its
// write-back cache by its share); the heap backend does not use it, as in Flink. Network memory
// bounds the network buffers of all threads: a job that needs more buffers than it holds is
// refused before it starts, as Flink refuses with "insufficient number of network buffers".
// With the embedded backend, each worker thread's V8 heap is limited to the managed memory of
// its slot plus the task heap (Flink's taskmanager.memory.task.heap.size): V8 then collects
// evicted cache entries instead of letting them pile up to Node's default limit.

import { InvalidArgumentError } from "../core/errors.ts";
import type { ExecutionGraph } from "../graph/execution-graph.ts";
import { poolCapacity } from "../execution/local-execution.ts";
import type { NetworkOptions } from "../execution/task-deployment.ts";
import { formatMemorySize, type StateBackendKind } from "../state/index.ts";

/** Managed memory when none is configured (Flink derives its default from the process size; we have none). */
export const DEFAULT_MANAGED_MEMORY = 256 * 2 ** 20;
/** Heap a worker thread keeps for the job's own objects and the runtime, besides managed memory. */
export const DEFAULT_TASK_HEAP_MEMORY = 128 * 2 ** 20;

export interface MemoryModel {
  /** Managed memory of the job, bytes. */
  readonly managedMemory: number;
  /** Keyed operator subtasks (each has a keyed state backend). */
  readonly keyedSubtasks: number;
  /** Each embedded backend's share of managed memory, bytes. */
  readonly managedPerBackend: number;
  /** Managed memory of the slot with the most keyed subtasks, bytes. */
  readonly managedPerSlot: number;
  /** Heap for the job's own objects besides managed memory, bytes (Flink's task heap). */
  readonly taskHeapMemory: number;
  /**
   * The V8 heap limit (old generation) of each worker thread, MiB: managed memory of the slot plus
   * the task heap; undefined with the heap backend (state lives on the heap, Node's limit stays).
   */
  readonly workerHeapLimitMb: number | undefined;
  readonly stateBackend: StateBackendKind;
  /** Configured network memory, bytes (undefined: as the job needs). */
  readonly networkMemory: number | undefined;
  /** Network buffers the job's threads need together, and their size. */
  readonly networkBuffers: number;
  readonly bufferSize: number;
}

export function memoryModel(
  eg: ExecutionGraph,
  network: NetworkOptions,
  stateBackend: StateBackendKind,
  managedMemory: number,
  networkMemory: number | undefined,
  taskHeapMemory = DEFAULT_TASK_HEAP_MEMORY,
): MemoryModel {
  let keyedSubtasks = 0;
  const keyedOf = new Map<number, number>();
  for (const v of eg.jobGraph.vertices) {
    const keyed = v.nodes.filter((n) => n.keySelectors.some((k) => k !== undefined)).length;
    keyedOf.set(v.id, keyed);
    keyedSubtasks += keyed * v.parallelism;
  }
  const keyedInSlot = new Map<number, number>();
  for (const s of eg.subtasks) {
    keyedInSlot.set(s.slot, (keyedInSlot.get(s.slot) ?? 0) + (keyedOf.get(s.vertex.id) ?? 0));
  }
  const managedPerBackend = Math.floor(managedMemory / Math.max(1, keyedSubtasks));
  const managedPerSlot = managedPerBackend * Math.max(0, ...keyedInSlot.values());
  // One pool per worker thread (one per slot), or one for an in-thread run: the larger of the two.
  let networkBuffers = poolCapacity(eg, network, undefined);
  if (eg.numSlots > 1) {
    let perSlot = 0;
    for (let slot = 0; slot < eg.numSlots; slot++) perSlot += poolCapacity(eg, network, new Set([slot]));
    networkBuffers = Math.max(networkBuffers, perSlot);
  }
  const needed = networkBuffers * network.bufferSize;
  if (networkMemory !== undefined && needed > networkMemory) {
    throw new InvalidArgumentError(
      `insufficient network memory: the job needs ${networkBuffers} network buffers of ${formatMemorySize(network.bufferSize)} (${formatMemorySize(needed)}), but network memory is ${formatMemorySize(networkMemory)}; raise networkMemory (weir run --network-memory ${Math.ceil(needed / 2 ** 20)}mb), lower the parallelism, or use smaller buffers (bufferSize)`,
    );
  }
  return {
    managedMemory,
    keyedSubtasks,
    managedPerBackend,
    managedPerSlot,
    taskHeapMemory,
    workerHeapLimitMb:
      stateBackend === "embedded" ? Math.ceil((managedPerSlot + taskHeapMemory) / 2 ** 20) : undefined,
    stateBackend,
    networkMemory,
    networkBuffers,
    bufferSize: network.bufferSize,
  };
}

/** What `weir run --verbose` shows of the memory model. */
export function describeMemoryModel(m: MemoryModel): string[] {
  const managedUse =
    m.stateBackend === "embedded"
      ? `the embedded state backend: ${m.keyedSubtasks} keyed subtask(s), ${formatMemorySize(m.managedPerBackend)} each (write-back cache 1/2, headroom 1/2)`
      : "unused: the heap state backend keeps state on the JS heap";
  const heap =
    m.workerHeapLimitMb === undefined
      ? "worker heap: Node's default limit (the heap state backend needs the heap)"
      : `worker heap: limited to ${m.workerHeapLimitMb} MiB per worker thread (managed memory of its slot ${formatMemorySize(m.managedPerSlot)} + task heap ${formatMemorySize(m.taskHeapMemory)})`;
  const needed = formatMemorySize(m.networkBuffers * m.bufferSize);
  const network =
    m.networkMemory === undefined
      ? `as needed: ${needed} (${m.networkBuffers} buffers of ${formatMemorySize(m.bufferSize)}; not limited)`
      : `${formatMemorySize(m.networkMemory)}, the job needs ${needed} (${m.networkBuffers} buffers of ${formatMemorySize(m.bufferSize)})`;
  return [
    `  managed memory: ${formatMemorySize(m.managedMemory)}, ${managedUse}`,
    `  network memory: ${network}`,
    `  ${heap}`,
  ];
}
