// The memory options of `weir run`, named after Flink's taskmanager.memory.managed.size and
// taskmanager.memory.network.* and taskmanager.memory.task.heap.size: --managed-memory (the
// embedded state backend's budget), --network-memory (the bound of the network buffers) and
// --task-heap-memory (with the embedded backend, a worker thread's heap limit is its managed memory
// plus this). Sizes as "256mb", "1g" or bytes.

import type { CompiledJob, EnvironmentConfig } from "../api/environment.ts";
import { describeMemoryModel } from "../api/memory-model.ts";
import { parseMemorySize } from "../state/index.ts";
import { type OptionSpec, optionLabel } from "./args.ts";
import { CliUsageError } from "./cli-errors.ts";

export const MANAGED_MEMORY: OptionSpec = {
  name: "managed-memory",
  value: "size",
  example: "256mb",
  help: "memory of the embedded state backend, shared by the keyed operator subtasks (default 256mb)",
};
export const NETWORK_MEMORY: OptionSpec = {
  name: "network-memory",
  value: "size",
  example: "64mb",
  help: "the most the network buffers may take; a job needing more is refused (default: as needed)",
};

export const TASK_HEAP_MEMORY: OptionSpec = {
  name: "task-heap-memory",
  value: "size",
  example: "128mb",
  help: "embedded state backend: heap of a worker thread besides its managed memory, for the job's objects (default 128mb)",
};

/** --managed-memory, --network-memory and --task-heap-memory as engine settings (those given). */
export function memoryOptions(command: string, values: Map<string, string>): EnvironmentConfig {
  const config: EnvironmentConfig = {};
  const managed = size(command, MANAGED_MEMORY, values.get(MANAGED_MEMORY.name));
  if (managed !== undefined) config.managedMemory = managed;
  const network = size(command, NETWORK_MEMORY, values.get(NETWORK_MEMORY.name));
  if (network !== undefined) config.networkMemory = network;
  const taskHeap = size(command, TASK_HEAP_MEMORY, values.get(TASK_HEAP_MEMORY.name));
  if (taskHeap !== undefined) config.taskHeapMemory = taskHeap;
  return config;
}

function size(command: string, spec: OptionSpec, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  let bytes: number;
  try {
    bytes = parseMemorySize(raw, optionLabel(spec));
  } catch {
    bytes = -1;
  }
  if (bytes <= 0) {
    throw new CliUsageError(
      `${optionLabel(spec)} of 'weir ${command}' must be a memory size, got '${raw}'`,
      `give bytes or a size with a unit, e.g. ${optionLabel(spec)} ${spec.example}`,
    );
  }
  return bytes;
}

/** The lines `weir run --verbose` prints about memory before the job starts. */
export function memoryLines(job: CompiledJob): string[] {
  return [
    `Job '${job.jobName}' memory (state backend: ${job.stateBackend.kind}):`,
    ...describeMemoryModel(job.memory),
  ];
}
