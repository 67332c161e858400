// KeyedOneInputHarness with a KeyedProcessFunction: event- and processing-time timers, keyed
// state, side outputs, and a snapshot taken in the middle of the scenario restored into a new
// harness (heap and embedded backends), also at another parallelism.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type OnTimerContext,
  OutputTag,
  StateTtlConfig,
  ValueStateDescriptor,
} from "../../src/index.ts";
import {
  HarnessError,
  type HarnessSnapshot,
  KeyedOneInputHarness,
  subtaskForKey,
} from "../../src/testing/index.ts";

interface Click {
  user: string;
  page: string;
}

const COUNT = new ValueStateDescriptor<number>("count");
const IDLE = new OutputTag<string>("idle");

/**
 * Counts clicks per user; a session ends 10 s of event time after the user's first click (the
 * count goes out), and a user idle for 60 s of processing time is reported on a side output.
 */
class Sessions implements KeyedProcessFunction<string, Click, string> {
  processElement(_c: Click, ctx: KeyedProcessContext<string>): void {
    const count = ctx.runtime.getState(COUNT);
    const n = count.value() ?? 0;
    if (n === 0) ctx.timerService().registerEventTimeTimer((ctx.timestamp() ?? 0) + 10_000);
    count.update(n + 1);
    ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 60_000);
  }
  onTimer(time: number, ctx: OnTimerContext<string>, out: Collector<string>): void {
    if (ctx.timeDomain() === "PROCESSING_TIME") {
      ctx.output(IDLE, `${ctx.getCurrentKey()} idle at ${time}`);
      return;
    }
    const count = ctx.runtime.getState(COUNT);
    out.collect(`${ctx.getCurrentKey()}: ${count.value()} clicks`);
    count.clear();
  }
}

const byUser = (c: Click) => c.user;

for (const stateBackend of ["heap", "embedded"] as const) {
  describe(`KeyedOneInputHarness, KeyedProcessFunction (${stateBackend})`, () => {
    it("fires event-time timers at the watermark with their timestamp, and processing-time timers by the clock", async () => {
      const h = KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser, { stateBackend });
      await h.open();
      h.processElement({ user: "ann", page: "/" }, 1_000);
      h.processElement({ user: "bob", page: "/" }, 2_000);
      h.processElement({ user: "ann", page: "/a" }, 5_000);
      assert.equal(h.numEventTimeTimers(), 2);
      assert.equal(h.numProcessingTimeTimers(), 2, "one per key (same time)");
      h.processWatermark(10_999);
      assert.deepEqual(h.values(), []);
      h.processWatermark(11_000);
      assert.deepEqual(h.records(), [{ value: "ann: 2 clicks", timestamp: 11_000 }]);
      assert.deepEqual(h.watermarks(), [10_999, 11_000]);
      assert.equal(
        h.withKey("ann", (s) => s.getState(COUNT).value()),
        undefined,
      );
      assert.equal(
        h.withKey("bob", (s) => s.getState(COUNT).value()),
        1,
      );
      h.advanceProcessingTime(59_999);
      assert.deepEqual(h.sideOutputValues(IDLE), []);
      h.advanceProcessingTime(1);
      assert.deepEqual(h.sideOutputValues(IDLE).sort(), ["ann idle at 60000", "bob idle at 60000"]);
      await h.close();
    });

    it("restores state and timers from a snapshot taken mid-scenario; the copy goes on exactly as the original", async () => {
      const scenarioStart = async () => {
        const h = KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser, { stateBackend });
        await h.open();
        h.processElement({ user: "ann", page: "/" }, 1_000);
        h.processElement({ user: "bob", page: "/" }, 4_000);
        h.advanceProcessingTime(30_000);
        h.processElement({ user: "bob", page: "/b" }, 6_000);
        return h;
      };
      const rest = (h: KeyedOneInputHarness<string, Click, string>) => {
        h.processElement({ user: "ann", page: "/c" }, 9_000);
        h.processWatermark(20_000);
        h.advanceProcessingTime(60_000);
      };
      const original = await scenarioStart();
      const snapshot = await original.snapshot();
      assert.ok(snapshot.size > 0);
      rest(original);

      const restored = KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser, {
        stateBackend,
        processingTime: 30_000,
      });
      await restored.initializeState(snapshot);
      await restored.open();
      assert.equal(restored.numEventTimeTimers(), 2);
      assert.equal(restored.numProcessingTimeTimers(), 3, "ann at 60 s, bob at 60 s and 90 s");
      rest(restored);
      assert.deepEqual(restored.records(), original.records());
      assert.deepEqual(restored.values(), ["ann: 2 clicks", "bob: 2 clicks"]);
      // Timers of one time fire in no defined order (as in Flink).
      assert.deepEqual(restored.sideOutputValues(IDLE).sort(), original.sideOutputValues(IDLE).sort());
      await original.close();
      await restored.close();
    });
  });
}

describe("KeyedOneInputHarness, rescaled restore", () => {
  const users = Array.from({ length: 40 }, (_v, i) => `user-${i}`);

  /** Two subtasks each count the users they own; snapshots of both restore into one, and one into two. */
  it("restores the snapshots of 2 subtasks into 1, and that one's into subtask k of 3", async () => {
    const harnesses = [0, 1].map((subtaskIndex) =>
      KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser, { parallelism: 2, subtaskIndex }),
    );
    for (const h of harnesses) await h.open();
    for (const u of users) harnesses[subtaskForKey(u, 2)]!.processElement({ user: u, page: "/" }, 1_000);
    assert.ok(
      harnesses.every((h) => h.numKeyedStateEntries() > 0),
      "both subtasks own some users",
    );
    const snapshots: HarnessSnapshot[] = [];
    for (const h of harnesses) snapshots.push(await h.snapshot(7));

    const one = KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser);
    await one.initializeState(snapshots);
    await one.open();
    assert.equal(one.numKeyedStateEntries("count"), users.length);
    assert.equal(one.numEventTimeTimers(), users.length);
    one.processElement({ user: "user-3", page: "/x" }, 2_000);
    const merged = await one.snapshot(8);

    const thirds = [0, 1, 2].map((subtaskIndex) =>
      KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser, { parallelism: 3, subtaskIndex }),
    );
    for (const h of thirds) {
      await h.initializeState(merged);
      await h.open();
      h.processWatermark(11_000);
    }
    const fired = thirds.flatMap((h) => h.values()).sort();
    assert.deepEqual(fired, users.map((u) => `${u}: ${u === "user-3" ? 2 : 1} clicks`).sort());
    for (const [k, h] of thirds.entries()) {
      for (const v of h.values()) assert.equal(subtaskForKey(v.split(":")[0], 3), k);
    }
  });

  it("restores a heap snapshot into the embedded backend and back", async () => {
    const heap = KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser);
    await heap.open();
    for (const u of users) heap.processElement({ user: u, page: "/" }, 1_000);
    const embedded = KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser, {
      stateBackend: "embedded",
    });
    await embedded.initializeState(await heap.snapshot());
    await embedded.open();
    embedded.processElement({ user: "user-0", page: "/again" }, 2_000);
    const back = KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser);
    await back.initializeState(await embedded.snapshot());
    await embedded.close();
    await back.open();
    back.processWatermark(11_000);
    assert.equal(back.values().length, users.length);
    assert.ok(back.values().includes("user-0: 2 clicks"));
  });

  it("refuses a key another subtask owns, naming the owner", async () => {
    const h = KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser, {
      parallelism: 2,
      subtaskIndex: 0,
    });
    await h.open();
    const foreign = ["a", "b", "c", "d", "e", "f"].find((u) => subtaskForKey(u, 2) === 1)!;
    assert.throws(
      () => h.processElement({ user: foreign, page: "/" }, 1),
      (e) => e instanceof HarnessError && /subtask 1 of 2 owns/.test(e.message),
    );
  });

  it("refuses a snapshot of another max parallelism, as a job restore does", async () => {
    const h = KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser, { maxParallelism: 64 });
    await h.open();
    h.processElement({ user: "ann", page: "/" }, 1);
    const snapshot = await h.snapshot();
    const other = KeyedOneInputHarness.forKeyedProcessFunction(new Sessions(), byUser);
    await assert.rejects(
      other.initializeState(snapshot),
      /max parallelism 128.*written with max parallelism 64/,
    );
  });
});

describe("KeyedOneInputHarness, state TTL", () => {
  it("expires state by the harness's processing time", async () => {
    const last = new ValueStateDescriptor<string>("last-page");
    last.enableTimeToLive(StateTtlConfig.newBuilder(60_000).build());
    const h = KeyedOneInputHarness.forKeyedProcessFunction<string, Click, string>(
      {
        processElement(c, ctx, out) {
          const state = ctx.runtime.getState(last);
          out.collect(`${c.user}: ${state.value() ?? "-"} -> ${c.page}`);
          state.update(c.page);
        },
      },
      byUser,
      { processingTime: 1_000 },
    );
    await h.open();
    h.processElement({ user: "ann", page: "/a" });
    h.advanceProcessingTime(59_999);
    h.processElement({ user: "ann", page: "/b" });
    h.advanceProcessingTime(60_000);
    h.processElement({ user: "ann", page: "/c" });
    assert.deepEqual(h.values(), ["ann: - -> /a", "ann: /a -> /b", "ann: - -> /c"]);
  });
});
