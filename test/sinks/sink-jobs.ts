// Jobs shared by the sink tests: a keyed stream of deterministic events, with a failure injected
// into user code on the first attempt, and checkpoints every few milliseconds.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DataStream, RestartStrategies, StreamExecutionEnvironment } from "../../src/index.ts";

export interface Event {
  id: number;
  key: string;
  value: number;
}

export function event(i: number, keys: number): Event {
  const h = Math.imul(i ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  return { id: i, key: `k${h % keys}`, value: (h >>> 8) % 100 };
}

export interface Totals {
  key: string;
  count: number;
  sum: number;
}

/** The per-key totals after all events: what an upsert table must hold at the end. */
export function expectedTotals(events: number, keys: number): Totals[] {
  const m = new Map<string, Totals>();
  for (let i = 0; i < events; i++) {
    const e = event(i, keys);
    const t = m.get(e.key) ?? { key: e.key, count: 0, sum: 0 };
    t.count++;
    t.sum += e.value;
    m.set(e.key, t);
  }
  return [...m.values()].sort((a, b) => a.key.localeCompare(b.key));
}

export interface JobOptions {
  events: number;
  keys: number;
  parallelism: number;
  /** Throw in user code at this record on attempt 0. */
  throwAt?: number;
  /** Checkpoint interval (ms); 0 = no checkpoints. */
  checkpointInterval?: number;
  recordsPerSecond?: number;
  restarts?: number;
}

/** Build an environment with checkpoints in a temporary directory; `run` gets the event stream. */
export async function withEventJob<R>(
  o: JobOptions,
  build: (events: DataStream<Event>) => void,
  run: (env: StreamExecutionEnvironment) => Promise<R>,
): Promise<R> {
  const dir = mkdtempSync(join(tmpdir(), "weir-sink-test-"));
  try {
    const env = new StreamExecutionEnvironment({ parallelism: o.parallelism, checkpointDirectory: dir });
    if ((o.checkpointInterval ?? 40) > 0) {
      env.enableCheckpointing(o.checkpointInterval ?? 40);
      env.getCheckpointConfig().setTolerableCheckpointFailureNumber(100);
    }
    env.setRestartStrategy(
      o.restarts === 0 ? RestartStrategies.noRestart() : RestartStrategies.fixedDelay(o.restarts ?? 3, 10),
    );
    const throwAt = o.throwAt ?? -1;
    const keys = o.keys;
    const stream = env
      .fromGenerator((i) => event(i, keys), { count: o.events, recordsPerSecond: o.recordsPerSecond ?? 6000 })
      .uid("events")
      .map((e, ctx) => {
        if (ctx.attemptNumber === 0 && e.id === throwAt)
          throw new Error(`injected failure at record ${e.id}`);
        return e;
      })
      .uid("fail-once");
    build(stream);
    return await run(env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
