// Window sections: a keyed tumbling-window count (event time) and a sliding-window aggregate
// (size 10 s, slide 2 s), each at p=1 and p=2 in-thread, next to a hand-written loop computing
// the same windows. `windowSections` is for bench/run.ts; `node --import tsx bench/windows.ts`
// runs them alone.

import {
  SlidingEventTimeWindows,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  Types,
  WatermarkStrategy,
} from "../src/index.ts";
import { CountingSink, sinkFigures } from "./lib/counting-sink.ts";
import { type Run, type Section, type Variant, runSection } from "./lib/harness.ts";

const EVENTS = 1_000_000;
const KEYS = 1_000;
const STEP_MS = 2; // event i happens at i * 2 ms (+ up to 499 ms out of order)
const BOUND = 500;
// For bench/alternatives.ts, which runs the tumbling count with other libraries.
export { EVENTS as WINDOW_EVENTS, KEYS as WINDOW_KEYS, BOUND as WINDOW_BOUND };
export const TUMBLING_SIZE = 10_000;

interface Event {
  key: number;
  t: number;
  v: number;
}

export const eventAt = (i: number): Event => ({
  key: (i * 7919) % KEYS,
  t: i * STEP_MS + ((i * 31) % BOUND),
  v: i % 10,
});

interface Counted {
  key: number;
  n: number;
}

function windowStart(t: number, size: number): number {
  return t - (((t % size) + size) % size);
}

/** The loop: per (key, window) counts in a Map, then every window "emitted" once. */
export function tumblingLoop(n: number): Run {
  const t0 = performance.now();
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const e = eventAt(i);
    const id = windowStart(e.t, 10_000) * KEYS + e.key;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  let sum = 0;
  for (const c of counts.values()) sum += c;
  return { records: n, ms: performance.now() - t0, check: `${counts.size}/${sum}` };
}

function slidingLoop(n: number): Run {
  const t0 = performance.now();
  const sums = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const e = eventAt(i);
    for (let s = windowStart(e.t, 2_000); s > e.t - 10_000; s -= 2_000) {
      const id = s * KEYS + e.key;
      sums.set(id, (sums.get(id) ?? 0) + e.v);
    }
  }
  let sum = 0;
  for (const c of sums.values()) sum += c;
  return { records: n, ms: performance.now() - t0, check: `${sums.size}/${sum}` };
}

export async function windowJob(n: number, p: number, kind: "tumbling" | "sliding"): Promise<Run> {
  const env = new StreamExecutionEnvironment({ parallelism: p });
  const keyed = env
    .fromGenerator(eventAt, { count: n })
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forBoundedOutOfOrderness<Event>(BOUND).withTimestampAssigner((e) => e.t),
    )
    .keyBy((e) => e.key);
  if (kind === "tumbling") {
    keyed
      .window(TumblingEventTimeWindows.of(10_000))
      .aggregate({
        createAccumulator: () => 0,
        add: (_e: Event, a: number) => a + 1,
        getResult: (a: number): Counted => ({ key: 0, n: a }),
      })
      .returns(Types.GENERIC)
      .sinkTo(new CountingSink<Counted>((c) => c.n), "Count");
  } else {
    keyed
      .window(SlidingEventTimeWindows.of(10_000, 2_000))
      .aggregate({
        createAccumulator: () => 0,
        add: (e: Event, a: number) => a + e.v,
        getResult: (a: number): Counted => ({ key: 0, n: a }),
      })
      .sinkTo(new CountingSink<Counted>((c) => c.n), "Count");
  }
  const result = await env.execute("window bench");
  const f = sinkFigures(result);
  // Windows fire as the watermark moves, but most results come at the end: rate over the whole run.
  return { records: n, ms: result.runtimeMs, wallMs: result.runtimeMs, check: `${f.records}/${f.checksum}` };
}

function section(kind: "tumbling" | "sliding"): Section {
  const scaled = (scale: number) => Math.round(EVENTS * scale);
  const job = (p: number): Variant => ({
    name: `weir in-thread p=${p}`,
    run: (scale) => windowJob(scaled(scale), p, kind),
  });
  return {
    id: kind === "tumbling" ? "window-tumbling" : "window-sliding",
    title:
      kind === "tumbling"
        ? "Keyed tumbling-window count (event time, 10 s windows)"
        : "Keyed sliding-window sum (event time, size 10 s, slide 2 s)",
    description: `${EVENTS.toLocaleString("en-US")} generated events over ${KEYS} keys, ${STEP_MS} ms apart, up to ${BOUND - 1} ms out of order; bounded-out-of-orderness watermarks -> keyBy -> window aggregate -> counting sink. Rate = events / whole run (most windows fire at the final watermark).`,
    variants: [
      {
        name: "plain loop (Map per key and window)",
        baseline: true,
        run: async (scale) =>
          kind === "tumbling" ? tumblingLoop(scaled(scale)) : slidingLoop(scaled(scale)),
      },
      job(1),
      job(2),
    ],
    warmups: 1,
    rounds: 3,
  };
}

export const windowSections: Section[] = [section("tumbling"), section("sliding")];

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const s of windowSections) await runSection(s, { scale: 1, log: console.log });
}
