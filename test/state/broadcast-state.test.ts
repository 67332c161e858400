// Broadcast state: a rule stream broadcast to every subtask of a keyed (or non-keyed) stream,
// read-only on the non-broadcast side, writable (and reaching keyed state through
// applyToKeyedState) on the broadcast side.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BroadcastStream,
  InvalidArgumentError,
  JobExecutionError,
  type BroadcastContext,
  type BroadcastProcessFunction,
  type BroadcastReadOnlyContext,
  type Collector,
  type KeyedBroadcastProcessFunction,
  OutputTag,
  ListStateDescriptor,
  MapStateDescriptor,
  ReadOnlyStateError,
  type RuntimeContext,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { KeyedBroadcastHarness } from "../../src/testing/index.ts";

interface Event {
  id: number;
  user: string;
  value: number;
}
interface Rule {
  name: string;
  threshold: number;
}

function event(i: number): Event {
  const h = Math.imul(i ^ 0x2c1b3c6d, 0x9e3779b1) >>> 0;
  return { id: i, user: `u${h % 11}`, value: (h >>> 8) % 100 };
}

const EVENTS = Array.from({ length: 3_000 }, (_v, i) => event(i));
const RULES: Rule[] = [
  { name: "low", threshold: 10 },
  { name: "mid", threshold: 50 },
  { name: "high", threshold: 90 },
  { name: "top", threshold: 99 },
];

const rulesDescriptor = new MapStateDescriptor<string, Rule>("rules");
const seenDescriptor = new ListStateDescriptor<Event>("seen");
const countDescriptor = new ValueStateDescriptor<number>("count");

const SMALL = new OutputTag<string>("small");

/** Each subtask reports the rules it receives, and checks at the end that it holds them all. */
class EveryRuleEverywhere implements BroadcastProcessFunction<number, Rule, string> {
  private runtime: RuntimeContext | undefined;
  open(ctx: RuntimeContext): void {
    this.runtime = ctx;
  }
  processElement(): void {}
  processBroadcastElement(r: Rule, ctx: BroadcastContext, out: Collector<string>): void {
    ctx.getBroadcastState(rulesDescriptor).put(r.name, r);
    out.collect(`${ctx.runtime.indexOfThisSubtask}:${r.name}`);
  }
  close(): void {
    const state = this.runtime!.getOperatorStateStore().getBroadcastState(rulesDescriptor);
    assert.deepEqual([...state.keys()].sort(), RULES.map((r) => r.name).sort());
  }
}

/** Events above the broadcast limit go out, the others to a side output; events before the limit wait. */
class Limit implements BroadcastProcessFunction<Event, Rule, string> {
  private pending: Event[] = [];
  processElement(e: Event, ctx: BroadcastReadOnlyContext, out: Collector<string>): void {
    assert.equal(ctx.timestamp(), undefined);
    assert.equal(typeof ctx.currentProcessingTime(), "number");
    assert.equal(typeof ctx.currentWatermark(), "number");
    const rule = ctx.getBroadcastState(rulesDescriptor).get("limit");
    if (rule === undefined) this.pending.push(e);
    else this.emit(e, rule, ctx, out);
  }
  processBroadcastElement(r: Rule, ctx: BroadcastContext, out: Collector<string>): void {
    ctx.getBroadcastState(rulesDescriptor).put(r.name, r);
    for (const e of this.pending) this.emit(e, r, ctx, out);
    this.pending = [];
  }
  private emit(e: Event, r: Rule, ctx: BroadcastReadOnlyContext | BroadcastContext, out: Collector<string>) {
    if (e.value >= r.threshold) out.collect(`big:${e.id}`);
    else ctx.output(SMALL, `small:${e.id}`);
  }
}

/** Every (rule, event) pair where the event reaches the rule's threshold: what the job must find. */
function reference(): string[] {
  const out: string[] = [];
  for (const r of RULES)
    for (const e of EVENTS) if (e.value >= r.threshold) out.push(`${r.name}:${e.user}:${e.id}`);
  return out.sort();
}

/**
 * The classic pattern, independent of how the two inputs interleave: an event is matched against the
 * rules already known, and a new rule against the events already seen (kept in keyed state).
 */
function rulesJob(parallelism: number) {
  const env = new StreamExecutionEnvironment({ parallelism });
  const rules = env.fromCollection(RULES).broadcast(rulesDescriptor);
  const matches = env
    .fromCollection(EVENTS)
    .keyBy((e) => e.user)
    .connect(rules)
    .process<string>({
      processElement(e, ctx, out) {
        assert.equal(ctx.getCurrentKey(), e.user);
        ctx.runtime.getListState(seenDescriptor).add(e);
        const count = ctx.runtime.getState(countDescriptor);
        count.update((count.value() ?? 0) + 1);
        for (const [, r] of ctx.getBroadcastState(rulesDescriptor).immutableEntries())
          if (e.value >= r.threshold) out.collect(`${r.name}:${e.user}:${e.id}`);
      },
      processBroadcastElement(r, ctx, out) {
        ctx.getBroadcastState(rulesDescriptor).put(r.name, r);
        ctx.applyToKeyedState(seenDescriptor, (user, seen) => {
          for (const e of seen.get()) {
            assert.equal(e.user, user);
            if (e.value >= r.threshold) out.collect(`${r.name}:${user}:${e.id}`);
          }
        });
      },
    })
    .collect();
  return { env, matches };
}

/** Counts per user; a broadcast command reports and clears every count; "timer" sets a timer, "write" writes broadcast state. */
const cmds = new MapStateDescriptor<string, string>("cmds");
const counter: KeyedBroadcastProcessFunction<string, string, string, string> = {
  processElement(u, ctx, out) {
    if (u === "write") {
      (ctx.getBroadcastState(cmds) as unknown as { clear(): void }).clear();
    }
    if (u === "timer") ctx.timerService().registerEventTimeTimer(1_000);
    const c = ctx.runtime.getState(countDescriptor);
    c.update((c.value() ?? 0) + 1);
    const last = ctx.getBroadcastState(cmds).get("last");
    if (last !== undefined) out.collect(`${u}:${c.value()}:${last}`);
  },
  processBroadcastElement(cmd, ctx, out) {
    ctx.getBroadcastState(cmds).put("last", cmd);
    ctx.applyToKeyedState(countDescriptor, (user, count) => {
      out.collect(`${cmd}:${user}:${count.value()}`);
      count.clear();
    });
  },
  onTimer(t, ctx, out) {
    assert.equal(ctx.timeDomain(), "EVENT_TIME");
    out.collect(`fired:${ctx.getCurrentKey()}@${t}`);
  },
};

describe("broadcast state", () => {
  for (const p of [1, 2, 4]) {
    it(`rules broadcast to a keyed event stream at p=${p}: every match once, as a plain reference finds`, async () => {
      const { env, matches } = rulesJob(p);
      await env.execute(`rules p=${p}`);
      assert.deepEqual(matches.values.sort(), reference());
    });
  }

  it("broadcast(...descriptors) gives a BroadcastStream; broadcast() stays the broadcast partitioner", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    assert.ok(env.fromCollection([1]).broadcast(rulesDescriptor) instanceof BroadcastStream);
    const copies = env
      .fromCollection([1, 2])
      .broadcast()
      .map((v, ctx) => `${ctx.indexOfThisSubtask}:${v}`)
      .collect();
    await env.execute();
    assert.deepEqual(copies.values.sort(), ["0:1", "0:2", "1:1", "1:2", "2:1", "2:2"]);
  });

  it("non-keyed: the broadcast input reaches every parallel instance, which all hold the same state", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    const rules = env.fromCollection(RULES).broadcast(rulesDescriptor);
    const out = env
      .fromCollection([1, 2, 3])
      .connect(rules)
      .process<string>(new EveryRuleEverywhere())
      .collect();
    await env.execute();
    const expected = [0, 1, 2].flatMap((s) => RULES.map((r) => `${s}:${r.name}`)).sort();
    assert.deepEqual(out.values.sort(), expected);
  });

  it("non-keyed: processElement reads the rules; side outputs and times are available", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const rules = env.fromCollection([{ name: "limit", threshold: 50 }]).broadcast(rulesDescriptor);
    const big = env.fromCollection(EVENTS.slice(0, 200)).connect(rules).process<string>(new Limit());
    const small = big.getSideOutput(SMALL).collect();
    const bigValues = big.collect();
    await env.execute();
    const expected = (f: (e: Event) => boolean, tag: string) =>
      EVENTS.slice(0, 200)
        .filter(f)
        .map((e) => `${tag}:${e.id}`)
        .sort();
    assert.deepEqual(
      bigValues.values.sort(),
      expected((e) => e.value >= 50, "big"),
    );
    assert.deepEqual(
      small.values.sort(),
      expected((e) => e.value < 50, "small"),
    );
  });

  it("writing broadcast state on the keyed side is refused with ReadOnlyStateError", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const rules = env.fromCollection(RULES).broadcast(rulesDescriptor);
    env
      .fromCollection(EVENTS.slice(0, 10))
      .keyBy((e) => e.user)
      .connect(rules)
      .process<string>({
        processElement(e, ctx) {
          const state = ctx.getBroadcastState(rulesDescriptor);
          assert.equal(typeof state.get, "function");
          // The type has no put(); plain JavaScript (or a cast) must still be stopped.
          (state as unknown as { put(k: string, v: Rule): void }).put(e.user, { name: e.user, threshold: 0 });
        },
        processBroadcastElement() {},
      })
      .uid("rules-op")
      .collect();
    await assert.rejects(env.execute("read-only"), (e) => {
      assert.ok(e instanceof JobExecutionError, `expected a JobExecutionError, got ${e}`);
      assert.match(e.message, /broadcast state 'rules' is read-only on the non-broadcast side: put/);
      assert.match(e.message, /rules-op/);
      return true;
    });
  });

  it("a broadcast state that broadcast(...) did not declare is refused", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const other = new MapStateDescriptor<string, number>("other");
    const rules = env.fromCollection(RULES).broadcast(rulesDescriptor);
    env
      .fromCollection([1])
      .connect(rules)
      .process<string>({
        processElement() {},
        processBroadcastElement(_r, ctx) {
          ctx.getBroadcastState(other).put("x", 1);
        },
      })
      .collect();
    await assert.rejects(
      env.execute(),
      /broadcast state 'other', which the broadcast stream does not declare/,
    );
  });

  it("broadcast(...) takes MapStateDescriptors only, each once", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const s = env.fromCollection([1]);
    assert.throws(
      () => s.broadcast(new ValueStateDescriptor<number>("v") as never),
      (e) => e instanceof InvalidArgumentError && /MapStateDescriptors/.test(e.message),
    );
    assert.throws(() => s.broadcast(rulesDescriptor, rulesDescriptor), /'rules' is given twice/);
  });

  it("applyToKeyedState reaches every key's state and may change it (operator driven directly)", async () => {
    const h = KeyedBroadcastHarness.forKeyedBroadcastProcessFunction(counter, (u: string) => u, [cmds]);
    await h.open();
    for (const u of ["a", "b", "a", "c", "a", "b"]) h.processElement(u);
    h.processBroadcastElement("reset");
    assert.deepEqual(h.values().sort(), ["reset:a:3", "reset:b:2", "reset:c:1"]);
    assert.equal(h.numKeyedStateEntries("count"), 0, "the broadcast side cleared every count");
    h.clearOutput();
    h.processElement("b");
    assert.deepEqual(h.values(), ["b:1:reset"]);
    // The keyed side reads the broadcast state, but cannot write it.
    assert.throws(() => h.processElement("write"), ReadOnlyStateError);
    // Timers are the keyed side's: registered per key, fired with that key current.
    h.processElement("timer");
    h.processWatermark(1_000);
    assert.deepEqual(h.values().slice(-1), ["fired:timer@1000"]);
    await h.close();
  });
});
