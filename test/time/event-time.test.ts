// Watermarks, timers and idleness, in-thread, with a manual processing-time clock where time matters.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DataGeneratorSource,
  InputStatus,
  type Source,
  type KeyedProcessFunction,
  ManualClock,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type WatermarkGenerator,
  WatermarkStrategy,
} from "../../src/index.ts";

async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

type Ev = { k: string; t: number };

test("event-time timers fire per key in timestamp order on shuffled input at p=1,2,4", async () => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const events: Ev[] = [];
  for (let i = 0; i < 20_000; i++)
    events.push({ k: `k${Math.floor(rnd() * 13)}`, t: i * 5 + Math.floor(rnd() * 1000) });
  const W = 5000;
  const expected = new Map<string, number>();
  for (const e of events) {
    const key = `${e.k}@${Math.floor(e.t / W) * W}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
  }
  const counter: KeyedProcessFunction<string, Ev, string> = {
    processElement(v, ctx) {
      const st = ctx.runtime.getState(new ValueStateDescriptor<Record<number, number>>("counts"));
      const w = Math.floor(v.t / W) * W;
      assert.ok(ctx.timestamp() === v.t);
      assert.ok(
        w + W - 1 > ctx.timerService().currentWatermark(),
        "an element arrived for a window the watermark passed",
      );
      const m = st.value() ?? {};
      m[w] = (m[w] ?? 0) + 1;
      st.update(m);
      ctx.timerService().registerEventTimeTimer(w + W - 1);
    },
    onTimer(ts, ctx, out) {
      assert.equal(ctx.timeDomain(), "EVENT_TIME");
      const st = ctx.runtime.getState(new ValueStateDescriptor<Record<number, number>>("counts"));
      const m = st.value()!;
      const w = ts + 1 - W;
      out.collect(`${ctx.getCurrentKey()}@${w}=${m[w]}`);
      delete m[w];
      st.update(m);
    },
  };
  for (const p of [1, 2, 4]) {
    const env = new StreamExecutionEnvironment({ parallelism: p, autoWatermarkInterval: 1 });
    const out = env
      .fromCollection(events)
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forBoundedOutOfOrderness<Ev>(1000).withTimestampAssigner((e) => e.t),
      )
      .keyBy((e) => e.k)
      .process(counter)
      .collect();
    await env.execute(`timers p=${p}`);
    const got = new Map(
      out.values.map((x) => x.split("=") as [string, string]).map(([a, b]) => [a, Number(b)]),
    );
    assert.equal(got.size, expected.size, `p=${p}: number of fired windows`);
    for (const [k, v] of expected) assert.equal(got.get(k), v, `p=${p}: ${k}`);
  }
});

test("watermarks never go backwards and reach every operator; the end of input fires all timers", async () => {
  const env = new StreamExecutionEnvironment({ parallelism: 2, autoWatermarkInterval: 1 });
  const seen: number[][] = [[], []];
  const out = env
    .fromSequence(0, 9999)
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forBoundedOutOfOrderness<number>(0).withTimestampAssigner((n) => n),
    )
    .keyBy((n) => n % 7)
    .process<number>({
      processElement(n, ctx) {
        seen[ctx.runtime.indexOfThisSubtask]!.push(ctx.timerService().currentWatermark());
        ctx.timerService().registerEventTimeTimer(1_000_000 + n);
      },
      onTimer(ts, _ctx, out) {
        out.collect(ts);
      },
    })
    .collect();
  await env.execute();
  for (const s of seen)
    for (let i = 1; i < s.length; i++) assert.ok(s[i]! >= s[i - 1]!, "watermark went backwards");
  // Every timer lies beyond every event: only the final watermark of the bounded input fires them.
  assert.equal(out.values.length, 10_000);
});

test("a record without a usable timestamp fails the job with a clear error", async () => {
  const env = new StreamExecutionEnvironment({ parallelism: 1 });
  env
    .fromSource(
      new DataGeneratorSource((i) => ({ id: i }), { count: 10 }),
      WatermarkStrategy.forBoundedOutOfOrderness(10),
      "no-timestamps",
    )
    .print();
  await assert.rejects(env.execute(), /without a usable timestamp.*withTimestampAssigner/s);
});

test("timers on a non-keyed stream are refused with a clear error", async () => {
  const env = new StreamExecutionEnvironment({ parallelism: 1 });
  env
    .fromElements(1, 2, 3)
    .process({
      processElement(_v, ctx) {
        ctx.timerService().registerEventTimeTimer(10);
      },
    })
    .print();
  await assert.rejects(env.execute(), /timers are only supported on keyed streams.*keyBy/s);
});

test("processing-time timers follow the manual clock; one timer per key and time; deletion works", async () => {
  const clock = new ManualClock(1_000);
  const env = new StreamExecutionEnvironment({ parallelism: 1, clock });
  const fired: string[] = [];
  let processed = 0;
  env
    .fromSource(
      new DataGeneratorSource((i) => (i < 4 ? `k${i % 2}` : "never"), {
        count: Number.POSITIVE_INFINITY,
        recordsPerSecond: 1e9,
      }),
    )
    .filter((k) => k !== "never")
    .keyBy((k) => k)
    .process<string>({
      processElement(k: string, ctx) {
        processed++;
        const ts = ctx.timerService();
        ts.registerProcessingTimeTimer(2_000);
        ts.registerProcessingTimeTimer(2_000); // the same timer again: still one
        ts.registerProcessingTimeTimer(3_000);
        if (k === "k1") ts.deleteProcessingTimeTimer(3_000);
      },
      onTimer(ts, ctx, out) {
        assert.equal(ctx.timeDomain(), "PROCESSING_TIME");
        out.collect(`${ctx.getCurrentKey()}@${ts}`);
      },
    })
    .map((s) => {
      fired.push(s);
      return s;
    })
    .print();
  const client = await env.executeAsync();
  await waitFor(() => processed === 4, "4 records processed");
  assert.deepEqual(fired, []);
  clock.setTime(2_500);
  await waitFor(() => fired.length === 2, "two timers at 2000");
  assert.deepEqual([...fired].sort(), ["k0@2000", "k1@2000"]);
  clock.setTime(10_000);
  await waitFor(() => fired.length === 3, "k0's timer at 3000");
  assert.equal(fired[2], "k0@3000");
  await client.cancel();
});

/** Unbounded; reader 1 emits timestamps 0..199 then waits forever; reader 0 never emits. */
function oneActiveReader(): Source<number, number> {
  return {
    boundedness: "unbounded",
    createEnumerator: () => ({ start() {}, handleSplitRequest() {}, addReader() {}, close() {} }),
    createReader(ctx) {
      let next = 0;
      const limit = ctx.subtaskIndex === 1 ? 200 : 0;
      return {
        start() {},
        pollNext(out) {
          while (next < limit) out.collect(next, next++);
          return InputStatus.NOTHING_AVAILABLE;
        },
        isAvailable: () => new Promise<void>(() => {}),
        addSplits() {},
        notifyNoMoreSplits() {},
        snapshotState: () => [],
        close() {},
      };
    },
  };
}

test("an idle input holds the watermark back until it is marked idle, also through a chained map", async () => {
  async function run(idleness: boolean) {
    const clock = new ManualClock(0);
    const env = new StreamExecutionEnvironment({ parallelism: 2, clock, autoWatermarkInterval: 10 });
    const counts = { periodic: 0, fired: 0, records: 0 };
    let strategy = WatermarkStrategy.forGenerator<number>((): WatermarkGenerator<number> => {
      let max = Number.NEGATIVE_INFINITY;
      return {
        onEvent: (_e, ts) => {
          max = Math.max(max, ts);
        },
        onPeriodicEmit: (out) => {
          counts.periodic++;
          if (max > Number.NEGATIVE_INFINITY) out.emitWatermark(max);
        },
      };
    });
    if (idleness) strategy = strategy.withIdleness(100);
    env
      .fromSource(oneActiveReader(), strategy, "one active reader")
      // Chained to the source: the idleness has to pass through it to reach the keyed exchange.
      .map((n) => n)
      .keyBy(() => "all")
      .process<number>({
        processElement(_n, ctx) {
          counts.records++;
          ctx.timerService().registerEventTimeTimer(150);
        },
        onTimer(_ts, _ctx, out) {
          counts.fired++;
          out.collect(1);
        },
      })
      .print();
    const client = await env.executeAsync();
    await waitFor(() => counts.records === 200, "all records processed");
    // 50 periodic emissions per reader: 500 ms of processing time, far past the idle timeout. A
    // reader idle by the timeout no longer asks its generator (Flink's WatermarksWithIdleness):
    // with idleness, the ticks end with the timer fired instead.
    for (let i = 0; i < 50; i++) {
      const before = counts.periodic;
      clock.advance(10);
      await waitFor(
        () => counts.periodic >= before + 2 || (idleness && counts.fired === 1),
        "a periodic watermark emission of both readers (or, with idleness, the timer fired)",
      );
    }
    return { counts, client };
  }
  const held = await run(false);
  assert.equal(held.counts.fired, 0, "without idleness, the silent reader holds the watermark at -inf");
  await held.client.cancel();
  const idle = await run(true);
  await waitFor(() => idle.counts.fired === 1, "the timer fires once the silent reader is idle");
  await idle.client.cancel();
});
