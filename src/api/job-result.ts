// What a finished job reports (JobResult) and the handle of a running one (JobClient).

import { mergeAccumulators } from "../runtime/accumulators.ts";
import type { TaskReport } from "../runtime/stream-task.ts";
import type { BufferPoolStats } from "../network/buffer-pool.ts";
import type { CheckpointStats } from "../checkpoint/coordinator.ts";

export interface VertexMetrics {
  id: number;
  name: string;
  parallelism: number;
  /** Records that entered the chain (read by its source, or received from the network). */
  recordsIn: number;
  /** Records the chain sent over the network. */
  recordsOut: number;
  bytesOut: number;
  operators: Array<{ uid: string; name: string; recordsIn: number; recordsOut: number }>;
}

export interface JobResultData {
  jobId: string;
  jobName: string;
  runtimeMs: number;
  vertices: Array<Omit<VertexMetrics, "operators" | "recordsIn" | "recordsOut" | "bytesOut">>;
  reports: TaskReport[];
  pools: BufferPoolStats[];
  restarts?: number;
  failures?: number;
  checkpoints?: CheckpointStats | undefined;
}

export class JobResult {
  readonly jobId: string;
  readonly jobName: string;
  /** Wall-clock run time in milliseconds. */
  readonly runtimeMs: number;
  readonly vertices: VertexMetrics[];
  /** Accumulator values merged over all subtasks. */
  readonly accumulators: Record<string, unknown>;
  /** Network buffer pools (one per thread that ran tasks): capacity and peak use. */
  readonly bufferPools: BufferPoolStats[];
  /** Times the job restarted from a checkpoint after a failure. */
  readonly restarts: number;
  /** Failures the job met (each followed by a restart, or the last one ending the job). */
  readonly failures: number;
  /** Completed and failed checkpoints, last duration and size; undefined without checkpointing. */
  readonly checkpoints: CheckpointStats | undefined;

  constructor(data: JobResultData) {
    this.jobId = data.jobId;
    this.jobName = data.jobName;
    this.runtimeMs = data.runtimeMs;
    this.bufferPools = data.pools;
    this.restarts = data.restarts ?? 0;
    this.failures = data.failures ?? 0;
    this.checkpoints = data.checkpoints;
    this.vertices = data.vertices.map((v) => {
      const reports = data.reports.filter((r) => r.vertexId === v.id);
      const operators = new Map<
        string,
        { uid: string; name: string; recordsIn: number; recordsOut: number }
      >();
      for (const r of reports) {
        for (const op of r.operators) {
          const o = operators.get(op.uid) ?? { uid: op.uid, name: op.name, recordsIn: 0, recordsOut: 0 };
          o.recordsIn += op.recordsIn;
          o.recordsOut += op.recordsOut;
          operators.set(op.uid, o);
        }
      }
      return {
        ...v,
        recordsIn: reports.reduce((s, r) => s + r.recordsIn, 0),
        recordsOut: reports.reduce((s, r) => s + r.recordsOut, 0),
        bytesOut: reports.reduce((s, r) => s + r.bytesOut, 0),
        operators: [...operators.values()],
      };
    });
    this.accumulators = mergeAccumulators(data.reports.flatMap((r) => r.accumulators));
  }

  getAccumulatorResult<V = unknown>(name: string): V | undefined {
    return this.accumulators[name] as V | undefined;
  }

  /** The metrics of the vertex whose chain contains an operator of this name. */
  vertex(operatorName: string): VertexMetrics | undefined {
    return this.vertices.find(
      (v) => v.operators.some((o) => o.name === operatorName) || v.name === operatorName,
    );
  }
}

export type JobStatus = "CREATED" | "RUNNING" | "FINISHED" | "FAILED" | "CANCELED";

/** A job started with executeAsync(): watch it, wait for it, cancel it. */
export interface JobClient {
  readonly jobId: string;
  readonly jobName: string;
  getStatus(): JobStatus;
  /** Resolves with the result when the job finishes; rejects when it fails or is cancelled. */
  wait(): Promise<JobResult>;
  /** Stop the job; resolves once every task has stopped. */
  cancel(): Promise<void>;
}
