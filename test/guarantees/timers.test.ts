// Keyed timers, exactly:
// - deleting a timer and registering the same one again ("reset the timeout", the most common
//   KeyedProcessFunction pattern) leaves it registered: it fires, once;
// - event-time and processing-time timers restored from a savepoint fire after the restore.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  CollectionSource,
  type KeyedProcessFunction,
  ManualClock,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { type InternalTimer, InternalTimerService } from "../../src/runtime/time/internal-timer-service.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";
import { type Ev, ev, punctuated } from "../windowing/helpers.ts";
import { PausableSource, stopWithSavepoint, waitFor } from "./pausable-source.ts";

const dir = mkdtempSync(join(tmpdir(), "weir-timers-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function timerService() {
  const clock = new ManualClock(0);
  const pts = new ProcessingTimeService(clock);
  let key: unknown = "a";
  const fired: string[] = [];
  const service = new InternalTimerService<string>(
    "test",
    { getCurrentKey: () => key, setCurrentKey: (k) => void (key = k) },
    128,
    pts,
    {
      onEventTime: (t: InternalTimer<string>) => fired.push(`event ${String(t.key)}@${t.time}`),
      onProcessingTime: (t: InternalTimer<string>) => fired.push(`processing ${String(t.key)}@${t.time}`),
    },
  );
  return { clock, pts, service, fired, setKey: (k: string) => void (key = k) };
}

describe("delete a timer, then register the same timer again", () => {
  it("event time: the timer is registered and fires once", () => {
    const { service, fired, setKey } = timerService();
    service.registerEventTimeTimer("ns", 100);
    service.deleteEventTimeTimer("ns", 100);
    service.registerEventTimeTimer("ns", 100);
    assert.equal(service.numEventTimeTimers(), 1);
    setKey("b");
    service.registerEventTimeTimer("ns", 100);
    service.deleteEventTimeTimer("ns", 100);
    service.advanceWatermark(99);
    assert.deepEqual(fired, []);
    service.advanceWatermark(100);
    assert.deepEqual(fired, ["event a@100"]);
  });

  it("processing time: the timer is registered and fires once", () => {
    const { clock, pts, service, fired } = timerService();
    service.registerProcessingTimeTimer("ns", 100);
    service.deleteProcessingTimeTimer("ns", 100);
    service.registerProcessingTimeTimer("ns", 100);
    assert.equal(service.numProcessingTimeTimers(), 1);
    clock.setTime(100);
    pts.fireDue();
    assert.deepEqual(fired, ["processing a@100"]);
  });

  it("a KeyedProcessFunction resetting its timeout on every element fires it once per key", async () => {
    const timeout: KeyedProcessFunction<string, Ev, string> = {
      processElement(e, ctx) {
        const st = ctx.runtime.getState(new ValueStateDescriptor<number>("timeout"));
        const previous = st.value();
        if (previous !== undefined) ctx.timerService().deleteEventTimeTimer(previous);
        const at = e.t + 100;
        ctx.timerService().registerEventTimeTimer(at);
        st.update(at);
      },
      onTimer(ts, ctx, out) {
        out.collect(`${ctx.getCurrentKey()}@${ts}`);
      },
    };
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    // a@10 twice: the second deletes timer 110 and registers 110 again. b moves its timeout.
    const events = [ev("a", 10), ev("a", 10), ev("b", 10), ev("b", 20), ev("a", 30), ev("a", 30)];
    const out = env
      .fromCollection(events)
      .assignTimestampsAndWatermarks(punctuated<Ev>(1000))
      .keyBy((e) => e.k)
      .process(timeout)
      .collect();
    await env.execute();
    assert.deepEqual([...out.values].sort(), ["a@130", "b@120"]);
  });
});

describe("timers restored from a savepoint", () => {
  it("event-time and processing-time timers fire after the restore", async () => {
    const N = 100;
    const events = Array.from({ length: N }, (_, i) => ev(`k${i % 4}`, i));
    const fn: KeyedProcessFunction<string, Ev, string> = {
      processElement(e, ctx) {
        ctx.timerService().registerEventTimeTimer(e.t + 1000);
        ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 1000);
      },
      onTimer(ts, ctx, out) {
        out.collect(
          `${ctx.timeDomain() === "EVENT_TIME" ? "event" : "processing"} ${ctx.getCurrentKey()}@${ts}`,
        );
      },
    };
    const build = (env: StreamExecutionEnvironment, pauseAfter: number) => {
      const source = new PausableSource(new CollectionSource(events, undefined), pauseAfter);
      const out = env
        .fromSource(source, punctuated<Ev>(0), "events")
        .uid("events")
        .keyBy((e) => e.k)
        .process(fn)
        .uid("timers")
        .collect();
      return { source, out };
    };
    // First run, processing time 0: the reader pauses after its first batch (32 events, watermark
    // 30); no timer is due. Stop with a savepoint there.
    const env1 = new StreamExecutionEnvironment({
      parallelism: 1,
      clock: new ManualClock(0),
      checkpointInterval: 3_600_000,
      checkpointDirectory: join(dir, "cp1"),
    });
    const first = build(env1, 32);
    const client = await env1.executeAsync();
    await waitFor(() => first.source.paused === 1, "the reader paused");
    const savepoint = await stopWithSavepoint(client, join(dir, "savepoints"));
    assert.deepEqual(first.out.values, [], "no timer fired before the savepoint");

    // Restored at processing time 5000: the restored processing-time timers (at 1000) are due; the
    // end of input fires every event-time timer, restored or new.
    const env2 = new StreamExecutionEnvironment({
      parallelism: 1,
      clock: new ManualClock(5000),
      checkpointInterval: 3_600_000,
      checkpointDirectory: join(dir, "cp2"),
      restorePath: savepoint,
    });
    const second = build(env2, Number.POSITIVE_INFINITY);
    await env2.execute();
    const fired = second.out.values;
    const restoredEvent = events.slice(0, 32).map((e) => `event ${e.k}@${e.t + 1000}`);
    const newEvent = events.slice(32).map((e) => `event ${e.k}@${e.t + 1000}`);
    assert.deepEqual(
      fired.filter((f) => f.startsWith("event")).sort(),
      [...restoredEvent, ...newEvent].sort(),
      "every event-time timer fired once, the restored ones included",
    );
    assert.deepEqual(
      fired.filter((f) => f.startsWith("processing") && f.endsWith("@1000")).sort(),
      ["processing k0@1000", "processing k1@1000", "processing k2@1000", "processing k3@1000"],
      "the restored processing-time timers fired once",
    );
  });
});
