// The RuntimeContext of one operator in one subtask: identity, accumulators, metrics, keyed and
// operator state.

import { InvalidJobError } from "../core/errors.ts";
import { type Accumulator, Counter, type RuntimeContext } from "../core/functions.ts";
import type { MetricGroup } from "../core/metrics.ts";
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  ValueState,
  ValueStateDescriptor,
} from "../core/state.ts";
import type { KeyedStateBackend } from "../state/keyed-state-backend.ts";
import { DefaultOperatorStateStore } from "../state/operator-state-store.ts";
import { TaskMetricGroup } from "./metrics/task-metric-group.ts";

export interface SubtaskIdentity {
  jobId: string;
  jobName: string;
  subtaskIndex: number;
  parallelism: number;
  maxParallelism: number;
  /** 0 for the first execution attempt, +1 for every restart. */
  attemptNumber: number;
  /** Unique per job run and attempt (names staged sink data). */
  attemptTag: string;
}

export class RuntimeContextImpl implements RuntimeContext {
  readonly jobId: string;
  readonly jobName: string;
  readonly indexOfThisSubtask: number;
  readonly numberOfParallelSubtasks: number;
  readonly maxNumberOfParallelSubtasks: number;
  readonly attemptNumber: number;
  readonly attemptTag: string;

  constructor(
    identity: SubtaskIdentity,
    readonly operatorName: string,
    readonly operatorUid: string,
    /** Accumulators of the whole subtask (shared by its operators). */
    private readonly accumulators: Map<string, Accumulator<unknown>>,
    readonly keyedState: KeyedStateBackend | undefined,
    /** The subtask's metric group (a standalone one when not given, e.g. in a test harness). */
    private readonly taskMetrics?: TaskMetricGroup,
  ) {
    this.jobId = identity.jobId;
    this.jobName = identity.jobName;
    this.indexOfThisSubtask = identity.subtaskIndex;
    this.numberOfParallelSubtasks = identity.parallelism;
    this.maxNumberOfParallelSubtasks = identity.maxParallelism;
    this.attemptNumber = identity.attemptNumber;
    this.attemptTag = identity.attemptTag;
  }

  addAccumulator<V>(name: string, accumulator: Accumulator<V>): Accumulator<V> {
    const existing = this.accumulators.get(name);
    if (existing !== undefined) return existing as Accumulator<V>;
    this.accumulators.set(name, accumulator as Accumulator<unknown>);
    return accumulator;
  }

  getAccumulator<V>(name: string): Accumulator<V> | undefined {
    return this.accumulators.get(name) as Accumulator<V> | undefined;
  }

  getCounter(name: string): Counter {
    const acc = this.addAccumulator(name, new Counter());
    if (!(acc instanceof Counter)) {
      throw new InvalidJobError(`accumulator '${name}' exists and is not a Counter; use another name`);
    }
    return acc;
  }

  getMetricGroup(): MetricGroup {
    const task =
      this.taskMetrics ??
      (this.ownMetrics ??= new TaskMetricGroup({
        jobId: this.jobId,
        jobName: this.jobName,
        taskName: this.operatorName,
        vertexId: 0,
        subtaskIndex: this.indexOfThisSubtask,
        attempt: this.attemptNumber,
      }));
    return task.operator(this.operatorUid, this.operatorName);
  }

  private ownMetrics: TaskMetricGroup | undefined;

  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    return this.keyed(descriptor.name).getState(descriptor);
  }

  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.keyed(descriptor.name).getListState(descriptor);
  }

  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V> {
    return this.keyed(descriptor.name).getMapState(descriptor);
  }

  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.keyed(descriptor.name).getReducingState(descriptor);
  }

  getAggregatingState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT> {
    return this.keyed(descriptor.name).getAggregatingState(descriptor);
  }

  /** Non-keyed state of this operator subtask (list, union list, broadcast), created on first use. */
  getOperatorStateStore(): DefaultOperatorStateStore {
    return (this.operatorState ??= new DefaultOperatorStateStore());
  }

  private operatorState: DefaultOperatorStateStore | undefined = undefined;

  private keyed(stateName: string): KeyedStateBackend {
    if (this.keyedState === undefined) {
      throw new InvalidJobError(
        `operator '${this.operatorName}' (uid ${this.operatorUid}) asked for keyed state '${stateName}', but its input is not keyed; call keyBy(...) before this operator`,
      );
    }
    return this.keyedState;
  }
}
