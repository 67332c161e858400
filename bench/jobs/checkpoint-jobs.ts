// Job modules of the checkpoint benchmarks that run on worker threads (bench/checkpoints.ts):
// - "recovery": numbers -> keyBy(i % keys) -> ValueState count -> a sink that checks every count
//   (record i must see count floor(i / keys) + 1, so a state restored wrong shows) and notes the
//   moment the first record of a restarted attempt arrives;
// - "backpressure": a fast unbounded generator (p=2) -> rebalance -> a deliberately slow sink (p=2).
// Settings come as JSON in WEIR_BENCH_CHECKPOINT (the module is rebuilt in every worker thread);
// counters live in a SharedArrayBuffer handed to the workers as environment data.

import { getEnvironmentData, isMainThread, setEnvironmentData } from "node:worker_threads";
import {
  RestartStrategies,
  type RuntimeContext,
  type Sink,
  type SinkWriter,
  Types,
  defineJob,
} from "../../src/index.ts";
import { epochMs } from "../lib/timing.ts";
import { buildRecoveryCount } from "./recovery-count.ts";

export type CheckpointJobSettings =
  | {
      kind: "recovery";
      keys: number;
      records: number;
      recordsPerSecond: number;
      checkpoints: string;
      stateBackend: "heap" | "embedded";
      stateDirectory: string;
    }
  | {
      kind: "backpressure";
      checkpoints: string;
      unaligned: boolean;
      /** Iterations of busy work per record in the sink. */
      sinkWork: number;
    };

export const SETTINGS_VAR = "WEIR_BENCH_CHECKPOINT";
const SHARED = "weir-bench-checkpoint";

/** Int32 slots of the shared counters. */
export const SEEN = 0;
export const WRONG = 1;
export const RESTARTED = 2;
/** Float64 slot (after the Int32 ones): epoch ms of the first record of a restarted attempt. */
export const RESTARTED_AT = 2;

export interface SharedCounters {
  ints: Int32Array;
  floats: Float64Array;
}

/** The counters shared by this thread and the job's worker threads (created by the main thread). */
export function sharedCounters(): SharedCounters {
  let sab = getEnvironmentData(SHARED) as SharedArrayBuffer | undefined;
  if (sab === undefined) {
    if (!isMainThread)
      throw new Error("the checkpoint benchmark counters were not created by the main thread");
    sab = new SharedArrayBuffer(64);
    setEnvironmentData(SHARED, sab);
  }
  return { ints: new Int32Array(sab, 0, 4), floats: new Float64Array(sab, 16, 6) };
}

export function resetCounters(c: SharedCounters): void {
  c.ints.fill(0);
  c.floats.fill(0);
}

class CheckingWriter implements SinkWriter<number> {
  private readonly restarted: boolean;
  constructor(
    runtime: RuntimeContext,
    private readonly c: SharedCounters,
  ) {
    this.restarted = runtime.attemptNumber > 0;
  }
  write(wrong: number): void {
    const ints = this.c.ints;
    Atomics.add(ints, SEEN, 1);
    if (wrong !== 0) Atomics.add(ints, WRONG, 1);
    if (this.restarted && Atomics.compareExchange(ints, RESTARTED, 0, 1) === 0) {
      this.c.floats[RESTARTED_AT] = epochMs();
    }
  }
}

class SlowWriter implements SinkWriter<number> {
  sink = 0;
  constructor(
    private readonly c: SharedCounters,
    private readonly work: number,
  ) {}
  write(v: number): void {
    let x = v;
    for (let i = 0; i < this.work; i++) x = (x * 1103515245 + 12345) | 0;
    this.sink ^= x;
    Atomics.add(this.c.ints, SEEN, 1);
  }
}

export default defineJob("checkpoint-bench", (env) => {
  const s = JSON.parse(process.env[SETTINGS_VAR] ?? "null") as CheckpointJobSettings | null;
  if (s === null) throw new Error(`${SETTINGS_VAR} is not set`);
  const c = sharedCounters();
  env.setParallelism(2);
  env.getCheckpointConfig().setCheckpointStorage(s.checkpoints);
  if (s.kind === "recovery") {
    env.enableCheckpointing(1_000);
    // No restart delay: the figure is the engine's own recovery time (the default waits 1 s more).
    env.setRestartStrategy(RestartStrategies.fixedDelay(3, 0));
    env.setStateBackend(s.stateBackend, s.stateDirectory);
    buildRecoveryCount(env, s, (runtime) => new CheckingWriter(runtime, c));
  } else {
    // Checkpoints are triggered by the benchmark; the interval only enables them.
    env.enableCheckpointing(3_600_000);
    env.getCheckpointConfig().enableUnalignedCheckpoints(s.unaligned);
    env
      .fromGenerator((i) => i, { type: Types.INT })
      .uid("numbers")
      .rebalance()
      .sinkTo({ createWriter: () => new SlowWriter(c, s.sinkWork) } satisfies Sink<number>, "slow sink")
      .uid("slow sink");
  }
});
