// The two-input harnesses: a KeyedCoProcessFunction (state and timers through a snapshot), a
// non-keyed CoProcessFunction with operator list state split by a rescaled restore, a keyed and a
// non-keyed broadcast function (broadcast state restored on every subtask), and an interval join
// built as a job builds it.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type BroadcastContext,
  type BroadcastProcessFunction,
  type BroadcastReadOnlyContext,
  type CheckpointedFunction,
  type Collector,
  type CoProcessFunction,
  type DataStream,
  type FunctionInitializationContext,
  type KeyedBroadcastProcessFunction,
  type KeyedCoProcessFunction,
  ListStateDescriptor,
  type ListState,
  MapStateDescriptor,
  ReadOnlyStateError,
  ValueStateDescriptor,
} from "../../src/index.ts";
import {
  BroadcastHarness,
  HarnessError,
  KeyedBroadcastHarness,
  KeyedTwoInputHarness,
  TwoInputHarness,
} from "../../src/testing/index.ts";

interface Order {
  id: string;
  amount: number;
}
interface Payment {
  order: string;
  paid: number;
}

const PENDING = new ValueStateDescriptor<Order>("pending-order");

/** Matches orders with payments; an order not paid 30 s (event time) after it arrived times out. */
const matchPayments: KeyedCoProcessFunction<string, Order, Payment, string> = {
  processElement1(order, ctx, _out) {
    ctx.runtime.getState(PENDING).update(order);
    ctx.timerService().registerEventTimeTimer((ctx.timestamp() ?? 0) + 30_000);
  },
  processElement2(payment, ctx, out) {
    const pending = ctx.runtime.getState(PENDING);
    const order = pending.value();
    if (order === undefined) return;
    out.collect(`${order.id} paid ${payment.paid}/${order.amount}`);
    pending.clear();
  },
  onTimer(time, ctx, out) {
    const pending = ctx.runtime.getState(PENDING);
    if (pending.value() !== undefined) out.collect(`${ctx.getCurrentKey()} timed out at ${time}`);
    pending.clear();
  },
};

describe("KeyedTwoInputHarness", () => {
  const harness = () =>
    KeyedTwoInputHarness.forKeyedCoProcessFunction(
      matchPayments,
      (o: Order) => o.id,
      (p: Payment) => p.order,
    );

  it("keys both inputs, holds the operator's watermark at the slower input, and keeps state and timers through a snapshot", async () => {
    const h = harness();
    await h.open();
    h.processElement1({ id: "o1", amount: 10 }, 1_000);
    h.processElement1({ id: "o2", amount: 20 }, 2_000);
    h.processElement2({ order: "o1", paid: 10 }, 3_000);
    assert.deepEqual(h.values(), ["o1 paid 10/10"]);
    h.processWatermark1(40_000);
    assert.deepEqual(h.watermarks(), [], "input 2 has no watermark yet");
    const snapshot = await h.snapshot();
    await h.close();

    const restored = harness();
    await restored.initializeState(snapshot);
    await restored.open();
    assert.equal(
      restored.withKey("o2", (s) => s.getState(PENDING).value()?.amount),
      20,
    );
    restored.processWatermark1(40_000);
    restored.processWatermark2(31_999);
    assert.deepEqual(restored.values(), []);
    restored.processWatermark2(32_000);
    assert.deepEqual(restored.records(), [{ value: "o2 timed out at 32000", timestamp: 32_000 }]);
    assert.deepEqual(restored.watermarks(), [31_999, 32_000]);
    assert.equal(restored.numKeyedStateEntries(), 0);
  });

  it("drives an interval join built as in a job", async () => {
    const h = KeyedTwoInputHarness.of((orders: DataStream<Order>, payments: DataStream<Payment>) =>
      orders
        .keyBy((o) => o.id)
        .intervalJoin(payments.keyBy((p) => p.order))
        .between(0, 10_000)
        .process<string>({
          processElement: (o, p, ctx, out) => out.collect(`${o.id}:${p.paid}@${ctx.timestamp}`),
        }),
    );
    await h.open();
    h.processElement1({ id: "o1", amount: 5 }, 1_000);
    h.processElement2({ order: "o1", paid: 5 }, 11_000);
    h.processElement2({ order: "o1", paid: 6 }, 11_001);
    assert.deepEqual(h.values(), ["o1:5@11000"]);
  });
});

const BUFFER = new ListStateDescriptor<string>("buffer");

/** Buffers both inputs' values in operator list state (one element per value), emitting nothing. */
class Buffering implements CoProcessFunction<string, string, string>, CheckpointedFunction {
  buffered: string[] = [];
  private state!: ListState<string>;
  initializeState(ctx: FunctionInitializationContext): void {
    this.state = ctx.getOperatorStateStore().getListState(BUFFER);
    this.buffered = [...this.state.get()];
  }
  snapshotState(): void {
    this.state.update(this.buffered);
  }
  processElement1(v: string): void {
    this.buffered.push(v);
  }
  processElement2(v: string, _ctx: unknown, out: Collector<string>): void {
    if (v === "flush") for (const b of this.buffered.splice(0)) out.collect(b);
  }
}

describe("TwoInputHarness", () => {
  it("restores operator list state split over the new subtasks (element i to subtask i mod p)", async () => {
    const h = TwoInputHarness.forCoProcessFunction(new Buffering());
    await h.open();
    for (const v of ["a", "b", "c", "d", "e"]) h.processElement1(v);
    const snapshot = await h.snapshot();
    const flushed: string[][] = [];
    for (const subtaskIndex of [0, 1]) {
      const part = TwoInputHarness.forCoProcessFunction(new Buffering(), { parallelism: 2, subtaskIndex });
      await part.initializeState(snapshot);
      await part.open();
      part.processElement2("flush");
      flushed.push(part.values());
    }
    assert.deepEqual(flushed, [
      ["a", "c", "e"],
      ["b", "d"],
    ]);
  });

  it("refuses a keyed operator, and use before open()", async () => {
    assert.throws(
      () =>
        TwoInputHarness.of((a: DataStream<Order>, b: DataStream<Payment>) =>
          a
            .connect(b)
            .keyBy(
              (o) => o.id,
              (p) => p.order,
            )
            .process(matchPayments as never),
        ),
      (e) => e instanceof HarnessError && /use the KeyedTwoInputHarness/.test(e.message),
    );
    const h = TwoInputHarness.forCoProcessFunction(new Buffering());
    assert.throws(() => h.processElement1("x"), /call await harness.open\(\) before processElement\(\)/);
  });
});

interface Rule {
  name: string;
  threshold: number;
}
const RULES = new MapStateDescriptor<string, Rule>("rules");

/** Non-keyed: values at or above any rule's threshold go out, tagged with the rule. */
const alerts: BroadcastProcessFunction<number, Rule, string> = {
  processElement(v: number, ctx: BroadcastReadOnlyContext, out: Collector<string>) {
    for (const [name, r] of ctx.getBroadcastState(RULES).immutableEntries())
      if (v >= r.threshold) out.collect(`${name}:${v}`);
  },
  processBroadcastElement(r: Rule, ctx: BroadcastContext) {
    ctx.getBroadcastState(RULES).put(r.name, r);
  },
};

describe("BroadcastHarness", () => {
  it("holds the broadcast state on every subtask after a restore at another parallelism", async () => {
    const h = BroadcastHarness.forBroadcastProcessFunction(alerts, [RULES]);
    await h.open();
    h.processBroadcastElement({ name: "high", threshold: 90 });
    h.processElement(95);
    h.processElement(10);
    assert.deepEqual(h.values(), ["high:95"]);
    const snapshot = await h.snapshot();
    for (const subtaskIndex of [0, 1, 2]) {
      const r = BroadcastHarness.forBroadcastProcessFunction(alerts, [RULES], {
        parallelism: 3,
        subtaskIndex,
      });
      await r.initializeState(snapshot);
      await r.open();
      assert.deepEqual([...r.broadcastState(RULES).keys()], ["high"]);
      r.processElement(91);
      assert.deepEqual(r.values(), ["high:91"]);
    }
  });
});

const SEEN = new ValueStateDescriptor<number>("seen");

/** Keyed: counts per user; a "reset" rule clears every user's count through applyToKeyedState. */
const perUser: KeyedBroadcastProcessFunction<string, string, string, string> = {
  processElement(user, ctx, out) {
    const seen = ctx.runtime.getState(SEEN);
    seen.update((seen.value() ?? 0) + 1);
    const last = ctx.getBroadcastState(new MapStateDescriptor<string, string>("cmds")).get("last");
    if (last !== undefined) out.collect(`${user}:${seen.value()}:${last}`);
    if (user === "write") {
      (
        ctx.getBroadcastState(new MapStateDescriptor<string, string>("cmds")) as unknown as { clear(): void }
      ).clear();
    }
  },
  processBroadcastElement(cmd, ctx, out) {
    ctx.getBroadcastState(new MapStateDescriptor<string, string>("cmds")).put("last", cmd);
    ctx.applyToKeyedState(SEEN, (user, seen) => {
      out.collect(`${cmd}:${user}:${seen.value()}`);
      seen.clear();
    });
  },
};

describe("KeyedBroadcastHarness", () => {
  it("reaches every key's state from the broadcast side, refuses writes on the keyed side, and restores both states", async () => {
    const cmds = new MapStateDescriptor<string, string>("cmds");
    const make = () =>
      KeyedBroadcastHarness.forKeyedBroadcastProcessFunction(perUser, (u: string) => u, [cmds]);
    const h = make();
    await h.open();
    for (const u of ["a", "b", "a"]) h.processElement(u);
    const snapshot = await h.snapshot();
    h.processBroadcastElement("reset");
    assert.deepEqual(h.values().sort(), ["reset:a:2", "reset:b:1"]);
    assert.throws(() => h.processElement("write"), ReadOnlyStateError);

    const restored = make();
    await restored.initializeState(snapshot);
    await restored.open();
    assert.equal(
      restored.withKey("a", (s) => s.getState(SEEN).value()),
      2,
    );
    assert.equal(restored.broadcastState(cmds).size, 0);
    restored.processBroadcastElement("again");
    restored.processElement("b");
    assert.deepEqual(restored.values().sort(), ["again:a:2", "again:b:1", "b:1:again"]);
  });

  it("sets and deletes timers of both domains per key; onTimer sees the key, the domain and the time", async () => {
    // "<key>:<domain>:<time>" sets a timer, "<key>:-<domain>:<time>" deletes it. ctx.timestamp() in
    // onTimer is the timer's time in both domains, as in Flink.
    const timers: KeyedBroadcastProcessFunction<string, string, string, string> = {
      processElement(v, ctx) {
        const [, what, at] = v.split(":");
        const t = ctx.timerService();
        if (what === "event") t.registerEventTimeTimer(Number(at));
        else if (what === "proc") t.registerProcessingTimeTimer(Number(at));
        else if (what === "-event") t.deleteEventTimeTimer(Number(at));
        else t.deleteProcessingTimeTimer(Number(at));
      },
      processBroadcastElement() {},
      onTimer(time, ctx, out) {
        out.collect(`${ctx.getCurrentKey()}:${ctx.timeDomain()}:${time}:${ctx.timestamp()}`);
      },
    };
    const h = KeyedBroadcastHarness.forKeyedBroadcastProcessFunction(
      timers,
      (v: string) => v.split(":")[0]!,
      [new MapStateDescriptor<string, string>("unused")],
    );
    await h.open();
    for (const v of ["a:event:100", "a:event:200", "a:-event:200", "b:proc:50", "b:proc:60", "b:-proc:60"])
      h.processElement(v);
    h.setProcessingTime(100);
    assert.deepEqual(
      h.values(),
      ["b:PROCESSING_TIME:50:50"],
      "the deleted processing-time timer never fires",
    );
    h.processWatermark(300);
    assert.deepEqual(h.values(), ["b:PROCESSING_TIME:50:50", "a:EVENT_TIME:100:100"]);
  });
});
