// The job of the cluster observability tests: one rate-limited source subtask, a keyBy into a
// keyed process at parallelism 2 and a discarding sink. Run on two TaskManagers of one slot each,
// keyed subtask 1 sits on the other TaskManager than the source: every record and every barrier
// it gets crosses the TCP data exchange. Each keyed subtask burns a little CPU in a function named
// after its index, so that a flame graph shows which subtasks (which TaskManagers) were profiled.
// Runs until cancelled.

import { Types, defineJob } from "../../src/index.ts";

function spin(x: number): number {
  let acc = x;
  for (let i = 0; i < 20_000; i++) acc = (acc * 31 + i) % 1_000_003;
  return acc;
}
export function burnOnSubtask0(x: number): number {
  return spin(x);
}
export function burnOnSubtask1(x: number): number {
  return spin(x);
}

export default defineJob("observed", (env) => {
  env
    .fromGenerator((i) => i, { type: Types.INT, recordsPerSecond: 1_000 })
    .name("numbers")
    .setParallelism(1)
    .keyBy((i) => i % 16)
    .process<number>({
      processElement(i, ctx, out) {
        const burn = ctx.runtime.indexOfThisSubtask === 0 ? burnOnSubtask0 : burnOnSubtask1;
        out.collect(burn(i));
      },
    })
    .name("burn")
    .setParallelism(2)
    .sinkTo({ createWriter: () => ({ write(): void {} }) }, "drop")
    .setParallelism(2);
});
