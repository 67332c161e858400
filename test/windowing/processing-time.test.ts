// Processing-time windows driven by a ManualClock: the test feeds elements while the job runs,
// waits until every window operator has taken them (a counting trigger), then moves the clock
// and waits for the firings. Conditions only: no sleeps, no timing assertions.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ContinuousProcessingTimeTrigger,
  GlobalWindows,
  ManualClock,
  ProcessingTimeSessionWindows,
  ProcessingTimeTrigger,
  SlidingProcessingTimeWindows,
  StreamExecutionEnvironment,
  type Trigger,
  TumblingProcessingTimeWindows,
  type Window,
} from "../../src/index.ts";
import { ControlledSource, type Ev, arraySink, ev, waitFor } from "./helpers.ts";

/** A user trigger wrapping another one: counts the elements its operator received. */
function counting<W extends Window>(inner: Trigger<unknown, W>, seen: { n: number }): Trigger<Ev, W> {
  return {
    onElement: (e, t, w, ctx) => {
      seen.n++;
      return inner.onElement(e, t, w, ctx);
    },
    onEventTime: (t, w, ctx) => inner.onEventTime(t, w, ctx),
    onProcessingTime: (t, w, ctx) => inner.onProcessingTime(t, w, ctx),
    canMerge: () => inner.canMerge?.() === true,
    onMerge: (w, ctx) => inner.onMerge?.(w, ctx),
    clear: (w, ctx) => inner.clear(w, ctx),
  };
}

describe("processing-time windows with a manual clock", () => {
  it("tumbling, sliding, session and continuous triggers fire as the clock moves", async () => {
    const clock = new ManualClock(0);
    const env = new StreamExecutionEnvironment({ parallelism: 2, clock, bufferTimeout: 0 });
    const source = new ControlledSource<Ev>();
    const keyed = env.fromSource(source, "controlled").keyBy((e) => e.k);
    const results = {
      tumbling: [] as string[],
      sliding: [] as string[],
      session: [] as string[],
      continuous: [] as string[],
    };
    const seen = { tumbling: { n: 0 }, sliding: { n: 0 }, session: { n: 0 }, continuous: { n: 0 } };
    const summary = (name: string) => ({
      process: (
        key: string,
        ctx: { window: Window },
        els: readonly Ev[],
        out: { collect(s: string): void },
      ) => {
        const w = ctx.window as unknown as { start?: number; end?: number };
        const id = w.start === undefined ? "global" : `${w.start}-${w.end}`;
        out.collect(`${name}:${key}|${id}=${els.reduce((s, e) => s + e.v, 0)}`);
      },
    });
    keyed
      .window(TumblingProcessingTimeWindows.of(1_000))
      .trigger(counting(ProcessingTimeTrigger.create(), seen.tumbling))
      .process(summary("T"))
      .sinkTo(arraySink(results.tumbling));
    keyed
      .window(SlidingProcessingTimeWindows.of(2_000, 1_000))
      .trigger(counting(ProcessingTimeTrigger.create(), seen.sliding))
      .process(summary("S"))
      .sinkTo(arraySink(results.sliding));
    keyed
      .window(ProcessingTimeSessionWindows.withGap(500))
      .trigger(counting(ProcessingTimeTrigger.create(), seen.session))
      .process(summary("G"))
      .sinkTo(arraySink(results.session));
    keyed
      .window(GlobalWindows.create())
      .trigger(counting(ContinuousProcessingTimeTrigger.of(1_000), seen.continuous))
      .process(summary("C"))
      .sinkTo(arraySink(results.continuous));
    const job = await env.executeAsync("processing-time windows");
    let failure: unknown;
    job.wait().catch((e) => {
      failure = e;
    });
    /** Every operator took `n` elements (a sliding element is in 2 windows: 2 trigger calls). */
    const took = (n: number) => {
      if (failure !== undefined) throw failure;
      const s = seen;
      return s.tumbling.n === n && s.session.n === n && s.continuous.n === n && s.sliding.n === 2 * n;
    };
    const sorted = (xs: string[]) => [...xs].sort();

    source.push(ev("a", 0, 1), ev("a", 0, 2), ev("b", 0, 10));
    await waitFor(() => took(3), "every window operator took the first 3 elements");
    clock.setTime(1_000);
    await waitFor(
      () =>
        results.tumbling.length === 2 &&
        results.sliding.length === 2 &&
        results.session.length === 2 &&
        results.continuous.length === 2,
      "firings at 1000",
    );
    assert.deepEqual(sorted(results.tumbling), ["T:a|0-1000=3", "T:b|0-1000=10"]);
    assert.deepEqual(sorted(results.sliding), ["S:a|-1000-1000=3", "S:b|-1000-1000=10"]);
    assert.deepEqual(sorted(results.session), ["G:a|0-500=3", "G:b|0-500=10"]);
    assert.deepEqual(sorted(results.continuous), ["C:a|global=3", "C:b|global=10"]);

    // a@1200 and a@1400 form one session [1200, 1900); the sliding window [0,2000) has everything.
    clock.setTime(1_200);
    source.push(ev("a", 0, 4));
    await waitFor(() => took(4), "every operator took a@1200");
    clock.setTime(1_400);
    source.push(ev("a", 0, 8));
    await waitFor(() => took(5), "every operator took a@1400");
    clock.setTime(2_000);
    await waitFor(
      () =>
        results.tumbling.length === 3 &&
        results.sliding.length === 4 &&
        results.session.length === 3 &&
        results.continuous.length === 4,
      "firings at 2000",
    );
    assert.deepEqual(sorted(results.tumbling.slice(2)), ["T:a|1000-2000=12"]);
    assert.deepEqual(sorted(results.sliding.slice(2)), ["S:a|0-2000=15", "S:b|0-2000=10"]);
    assert.deepEqual(sorted(results.session.slice(2)), ["G:a|1200-1900=12"]);
    assert.deepEqual(sorted(results.continuous.slice(2)), ["C:a|global=15", "C:b|global=10"]);

    source.close();
    await job.wait();
  });
});
