// The recovery benchmarks' pipeline, shared by the MiniCluster (bench/jobs/checkpoint-jobs.ts) and
// the cluster (bench/jobs/cluster-jobs.ts) job modules: numbers -> keyBy(i % keys) -> a ValueState
// count -> a sink of the caller's that checks every count. Record i must see count
// floor(i / keys) + 1; the count operator emits 0 when it does, 1 when it does not.

import {
  type KeyedProcessFunction,
  type RuntimeContext,
  type SinkWriter,
  type StreamExecutionEnvironment,
  Types,
  type ValueState,
  ValueStateDescriptor,
} from "../../src/index.ts";

export interface RecoveryCountSettings {
  /** Distinct keys. */
  keys: number;
  /** Records the generator emits. */
  records: number;
  recordsPerSecond: number;
}

export function buildRecoveryCount(
  env: StreamExecutionEnvironment,
  s: RecoveryCountSettings,
  writer: (runtime: RuntimeContext) => SinkWriter<number>,
): void {
  const { keys } = s;
  const count: KeyedProcessFunction<number, number, number> & { st?: ValueState<number> } = {
    open(ctx) {
      this.st = ctx.getState(new ValueStateDescriptor<number>("count", Types.INT));
    },
    processElement(i, _ctx, out) {
      const st = this.st!;
      const n = (st.value() ?? 0) + 1;
      st.update(n);
      out.collect(n === Math.floor(i / keys) + 1 ? 0 : 1);
    },
  };
  env
    .fromGenerator((i) => i, { count: s.records, recordsPerSecond: s.recordsPerSecond, type: Types.INT })
    .uid("numbers")
    .keyBy((i) => i % keys)
    .process(count)
    .uid("count")
    .returns(Types.INT)
    .sinkTo({ createWriter: (ctx: { runtime: RuntimeContext }) => writer(ctx.runtime) }, "checking sink")
    .uid("sink");
}
