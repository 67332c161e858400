// The DataStream operators, in-thread: results, lifecycle, side outputs, two-input operators,
// keyed aggregations with Flink's semantics, accumulators and record counts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Collector,
  type KeyedCoProcessFunction,
  OutputTag,
  type ProcessContext,
  type ProcessFunction,
  type RuntimeContext,
  StreamExecutionEnvironment,
  Types,
  ValueStateDescriptor,
} from "../../src/index.ts";

const sorted = <T>(xs: T[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const numSort = (xs: number[]) => [...xs].sort((a, b) => a - b);

const plusMinus = (x: number, c: Collector<number>): void => {
  c.collect(x);
  c.collect(-x);
};

describe("map, flatMap, filter", () => {
  it("plain functions", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    const out = env
      .fromSequence(1, 300)
      .map((x) => x * 10)
      .filter((x) => x % 20 === 0)
      .flatMap(plusMinus)
      .collect();
    await env.execute();
    const expected: number[] = [];
    for (let x = 2; x <= 300; x += 2) expected.push(x * 10, -x * 10);
    assert.deepStrictEqual(numSort(out.values), numSort(expected));
  });

  it("a flatMap function may return its elements (an array or iterable) instead of collecting them", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const words = env.fromCollection(["a b", "b c", "c a"]).flatMap((line: string) => line.split(" "));
    const fromGenerator = env.fromCollection([2, 3]).flatMap(function* (n: number) {
      for (let i = 0; i < n; i++) yield n;
    });
    const a = words.collect();
    const b = fromGenerator.collect();
    await env.execute();
    assert.deepStrictEqual(sorted(a.values), ["a", "a", "b", "b", "c", "c"]);
    assert.deepStrictEqual(numSort(b.values), [2, 2, 3, 3, 3]);
  });

  it("a flatMap function returning something that is not iterable fails the job, naming the operator", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    env
      .fromCollection(["a b"])
      .flatMap((line: string) => line.toUpperCase() as unknown as string[], "Shout")
      .collect();
    await assert.rejects(
      env.execute(),
      /flatMap\(\) function of operator 'Shout' .*returned a string; return an array/,
    );
  });

  it("function objects: open receives the RuntimeContext, close is called, per parallel instance", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    const events: string[] = [];
    const contexts: RuntimeContext[] = [];
    const mapper = {
      open(ctx: RuntimeContext) {
        contexts.push(ctx);
        events.push(`open map ${ctx.indexOfThisSubtask}`);
      },
      map(x: number) {
        return x + 1;
      },
      close() {
        events.push("close map");
      },
    };
    const filter = {
      open(ctx: RuntimeContext) {
        events.push(`open filter ${ctx.indexOfThisSubtask}`);
      },
      filter: (x: number) => x % 2 === 0,
      close() {
        events.push("close filter");
      },
    };
    const flat = {
      flatMap(x: number, out: Collector<string>) {
        out.collect(`v${x}`);
      },
      close() {
        events.push("close flatMap");
      },
    };
    const out = env
      .fromSequence(1, 100)
      .map(mapper)
      .name("the-map")
      .uid("map-uid")
      .filter(filter)
      .flatMap(flat)
      .collect();
    await env.execute("lifecycle");
    assert.deepStrictEqual(
      sorted(out.values),
      sorted(Array.from({ length: 50 }, (_, i) => `v${2 * (i + 1)}`)),
    );
    assert.deepStrictEqual(sorted(contexts.map((c) => c.indexOfThisSubtask)), [0, 1, 2]);
    for (const c of contexts) {
      assert.equal(c.numberOfParallelSubtasks, 3);
      assert.equal(c.maxNumberOfParallelSubtasks, 128);
      assert.equal(c.operatorName, "the-map");
      assert.equal(c.operatorUid, "map-uid");
      assert.equal(c.jobName, "lifecycle");
      assert.equal(typeof c.jobId, "string");
    }
    assert.equal(events.filter((e) => e.startsWith("open map")).length, 3);
    assert.equal(events.filter((e) => e.startsWith("open filter")).length, 3);
    assert.equal(events.filter((e) => e === "close map").length, 3);
    assert.equal(events.filter((e) => e === "close filter").length, 3);
    assert.equal(events.filter((e) => e === "close flatMap").length, 3);
  });

  it("a plain map function receives the RuntimeContext as its second argument", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const out = env
      .fromSequence(1, 20)
      .map((x: number, ctx) => [x, ctx.indexOfThisSubtask, ctx.numberOfParallelSubtasks])
      .collect();
    await env.execute();
    assert.equal(out.values.length, 20);
    for (const [, sub, n] of out.values) {
      assert.ok(sub === 0 || sub === 1);
      assert.equal(n, 2);
    }
  });

  it("fields a function object sets in open() belong to its parallel instance (as Flink's per-subtask copies)", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const fn = {
      subtask: -1,
      open(ctx: RuntimeContext) {
        this.subtask = ctx.indexOfThisSubtask;
      },
      map(x: number, ctx?: RuntimeContext): [number, number, number] {
        return [x, this.subtask, ctx?.indexOfThisSubtask ?? -1];
      },
    };
    const out = env
      .fromSequence(1, 100)
      .map(fn)
      .map((r: [number, number, number], ctx): [number, number, number] => [
        r[0],
        r[1],
        ctx.indexOfThisSubtask,
      ])
      .collect();
    await env.execute();
    for (const [x, fromOpen, actual] of out.values) {
      assert.equal(
        fromOpen,
        actual,
        `record ${x}: processed in subtask ${actual}, but the function's open() ran for subtask ${fromOpen}`,
      );
    }
  });
});

describe("process and side outputs", () => {
  it("routes records to the main output and to side outputs by tag", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const odd = new OutputTag<number>("odd", Types.NUMBER);
    const big = new OutputTag<string>("big");
    const fn: ProcessFunction<number, number> = {
      processElement(x, ctx, out) {
        if (x % 2 === 1) ctx.output(odd, x);
        else out.collect(x);
        if (x > 95) ctx.output(big, `big ${x}`);
        assert.equal(ctx.timestamp(), undefined);
        assert.ok(ctx.runtime.indexOfThisSubtask < 2);
      },
    };
    const main = env.fromSequence(1, 100).process(fn).name("split");
    const evens = main.collect("evens");
    const odds = main
      .getSideOutput(odd)
      .map((x) => x * -1)
      .collect("odds");
    const bigs = main.getSideOutput(big).collect("bigs");
    await env.execute();
    assert.deepStrictEqual(
      numSort(evens.values),
      Array.from({ length: 50 }, (_, i) => 2 * (i + 1)),
    );
    assert.deepStrictEqual(numSort(odds.values), numSort(Array.from({ length: 50 }, (_, i) => -(2 * i + 1))));
    assert.deepStrictEqual(sorted(bigs.values), sorted(["big 96", "big 97", "big 98", "big 99", "big 100"]));
  });

  it("side outputs cross the network to operators of another parallelism", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    const rest = new OutputTag<number>("rest");
    const main = env.fromSequence(0, 899).process<number>({
      processElement(x, ctx, out) {
        if (x % 3 === 0) out.collect(x);
        else ctx.output(rest, x);
      },
    });
    const side = main
      .getSideOutput(rest)
      .map((x: number, ctx) => [x, ctx.indexOfThisSubtask])
      .setParallelism(2)
      .collect();
    const m = main.collect();
    await env.execute();
    assert.equal(m.values.length, 300);
    assert.equal(side.values.length, 600);
    assert.deepStrictEqual(new Set(side.values.map((v) => v[1])), new Set([0, 1]));
  });
});

describe("union and connect", () => {
  it("union merges streams, each record once", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const a = env.fromSequence(1, 100);
    const b = env.fromSequence(101, 150).map((x) => x);
    const c = env.fromElements(1000, 2000);
    const out = a
      .union(b, c)
      .map((x) => x)
      .collect();
    await env.execute();
    assert.deepStrictEqual(numSort(out.values), [
      ...Array.from({ length: 150 }, (_, i) => i + 1),
      1000,
      2000,
    ]);
  });

  it("connect + map and flatMap see both inputs, with different types", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const nums = env.fromSequence(1, 10);
    const words = env.fromElements("a", "bb", "ccc");
    const mapped = nums
      .connect(words)
      .map<string>({ map1: (n: number) => `n${n}`, map2: (w: string) => `w${w}` })
      .collect();
    const flat = nums
      .connect(words)
      .flatMap<number>({
        flatMap1(n: number, out) {
          out.collect(n);
        },
        flatMap2(w: string, out) {
          for (let i = 0; i < w.length; i++) out.collect(100);
        },
      })
      .collect();
    await env.execute();
    assert.deepStrictEqual(
      sorted(mapped.values),
      sorted([...Array.from({ length: 10 }, (_, i) => `n${i + 1}`), "wa", "wbb", "wccc"]),
    );
    assert.deepStrictEqual(numSort(flat.values), [
      ...Array.from({ length: 10 }, (_, i) => i + 1),
      100,
      100,
      100,
      100,
      100,
      100,
    ]);
  });

  it("connect + process; open and close of the co-function run", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    let opened = 0;
    let closed = 0;
    const out = env
      .fromSequence(1, 5)
      .connect(env.fromElements("x"))
      .process<string>({
        open() {
          opened++;
        },
        processElement1(v: number, _ctx: ProcessContext, o: Collector<string>) {
          o.collect(`1:${v}`);
        },
        processElement2(v: string, _ctx: ProcessContext, o: Collector<string>) {
          o.collect(`2:${v}`);
        },
        close() {
          closed++;
        },
      })
      .collect();
    await env.execute();
    assert.deepStrictEqual(sorted(out.values), ["1:1", "1:2", "1:3", "1:4", "1:5", "2:x"]);
    assert.equal(opened, 2);
    assert.equal(closed, 2);
  });

  it("keyed connect: both inputs of a key meet in one subtask and share its ValueState", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    // Rules set a factor per key (input 1); values count themselves per key (input 2).
    const rules = env.fromElements<[string, number]>(["a", 2], ["b", 3], ["c", 5]);
    const values = env.fromSequence(1, 300).map((x): [string, number] => [["a", "b", "c", "d"][x % 4]!, x]);
    const factor = new ValueStateDescriptor<number>("factor");
    const seen = new ValueStateDescriptor<number>("seen");
    const fn: KeyedCoProcessFunction<
      string,
      [string, number],
      [string, number],
      [string, string, number, number]
    > = {
      processElement1(rule, ctx, out) {
        ctx.runtime.getState(factor).update(rule[1]);
        out.collect(["rule", ctx.getCurrentKey(), rule[1], ctx.runtime.indexOfThisSubtask]);
      },
      processElement2(v, ctx, out) {
        assert.equal(ctx.getCurrentKey(), v[0]);
        const s = ctx.runtime.getState(seen);
        s.update((s.value() ?? 0) + 1);
        out.collect(["value", ctx.getCurrentKey(), s.value()!, ctx.runtime.indexOfThisSubtask]);
      },
    };
    const out = rules
      .connect(values)
      .keyBy(
        (r) => r[0],
        (v) => v[0],
      )
      .process(fn)
      .collect();
    await env.execute();
    const subtaskOf = new Map<string, number>();
    const maxSeen = new Map<string, number>();
    for (const [kind, key, n, sub] of out.values) {
      const prev = subtaskOf.get(key);
      assert.ok(prev === undefined || prev === sub, `key ${key} (${kind}) in subtasks ${prev} and ${sub}`);
      subtaskOf.set(key, sub);
      if (kind === "value") maxSeen.set(key, Math.max(maxSeen.get(key) ?? 0, n));
    }
    assert.deepStrictEqual(Object.fromEntries(maxSeen), { a: 75, b: 75, c: 75, d: 75 });
    assert.equal(out.values.filter((r) => r[0] === "rule").length, 3);
  });
});

describe("keyed aggregations (Flink semantics)", () => {
  type Rec = { k: string; v: number; tag: string };
  const recs: Rec[] = [
    { k: "a", v: 5, tag: "a1" },
    { k: "b", v: 1, tag: "b1" },
    { k: "a", v: 3, tag: "a2" },
    { k: "a", v: 3, tag: "a3" },
    { k: "b", v: 7, tag: "b2" },
    { k: "a", v: 9, tag: "a4" },
  ];
  async function run<T>(build: (env: StreamExecutionEnvironment) => { values: T[] }): Promise<T[]> {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const h = build(env);
    await env.execute();
    return h.values;
  }
  /** Rolling results of one key, in order (one key lives in one subtask; order is kept). */
  const ofKey = (values: Rec[], k: string) => values.filter((r) => r.k === k);

  it("reduce emits the running value per key", async () => {
    const values = await run((env) =>
      env
        .fromCollection(recs)
        .keyBy("k")
        .reduce((a, b) => ({ k: a.k, v: a.v + b.v, tag: `${a.tag}+${b.tag}` }))
        .collect(),
    );
    assert.deepStrictEqual(
      ofKey(values, "a").map((r) => [r.v, r.tag]),
      [
        [5, "a1"],
        [8, "a1+a2"],
        [11, "a1+a2+a3"],
        [20, "a1+a2+a3+a4"],
      ],
    );
    assert.deepStrictEqual(
      ofKey(values, "b").map((r) => r.v),
      [1, 8],
    );
  });

  it("sum keeps the other fields of the first record", async () => {
    const values = await run((env) => env.fromCollection(recs).keyBy("k").sum("v").collect());
    assert.deepStrictEqual(ofKey(values, "a"), [
      { k: "a", v: 5, tag: "a1" },
      { k: "a", v: 8, tag: "a1" },
      { k: "a", v: 11, tag: "a1" },
      { k: "a", v: 20, tag: "a1" },
    ]);
    assert.deepStrictEqual(ofKey(values, "b"), [
      { k: "b", v: 1, tag: "b1" },
      { k: "b", v: 8, tag: "b1" },
    ]);
  });

  it("min / max keep the other fields of the first record", async () => {
    const min = await run((env) => env.fromCollection(recs).keyBy("k").min("v").collect());
    assert.deepStrictEqual(
      ofKey(min, "a").map((r) => [r.v, r.tag]),
      [
        [5, "a1"],
        [3, "a1"],
        [3, "a1"],
        [3, "a1"],
      ],
    );
    const max = await run((env) => env.fromCollection(recs).keyBy("k").max("v").collect());
    assert.deepStrictEqual(
      ofKey(max, "a").map((r) => [r.v, r.tag]),
      [
        [5, "a1"],
        [5, "a1"],
        [5, "a1"],
        [9, "a1"],
      ],
    );
    assert.deepStrictEqual(
      ofKey(max, "b").map((r) => [r.v, r.tag]),
      [
        [1, "b1"],
        [7, "b1"],
      ],
    );
  });

  it("minBy / maxBy return the whole record (the first one on ties)", async () => {
    const minBy = await run((env) => env.fromCollection(recs).keyBy("k").minBy("v").collect());
    assert.deepStrictEqual(
      ofKey(minBy, "a").map((r) => r.tag),
      ["a1", "a2", "a2", "a2"],
    );
    const maxBy = await run((env) => env.fromCollection(recs).keyBy("k").maxBy("v").collect());
    assert.deepStrictEqual(
      ofKey(maxBy, "a").map((r) => r.tag),
      ["a1", "a1", "a1", "a4"],
    );
    assert.deepStrictEqual(ofKey(maxBy, "b"), [recs[1], recs[4]]);
  });

  it("sum/min/max of a stream of numbers", async () => {
    const values = await run((env) =>
      env
        .fromElements(4, 1, 7, 2)
        .keyBy(() => "all")
        .sum()
        .collect(),
    );
    assert.deepStrictEqual(values, [4, 5, 12, 14]);
    const mins = await run((env) =>
      env
        .fromElements(4, 1, 7, 2)
        .keyBy(() => "all")
        .min()
        .collect(),
    );
    assert.deepStrictEqual(mins, [4, 1, 1, 1]);
  });
});

describe("accumulators and metrics", () => {
  it("a Counter is merged over subtasks into JobResult.accumulators", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 4 });
    env
      .fromSequence(1, 1000)
      .map((x: number, ctx) => {
        ctx.getCounter("seen").add();
        if (x % 10 === 0) ctx.getCounter("tens").add(2);
        return x;
      })
      .sinkTo({ createWriter: () => ({ write() {} }) });
    const r = await env.execute();
    assert.equal(r.accumulators.seen, 1000);
    assert.equal(r.getAccumulatorResult<number>("tens"), 200);
  });

  it("per-vertex record counts in JobResult.vertices", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env
      .fromSequence(1, 1000)
      .name("src")
      .filter((x) => x % 4 === 0)
      .name("quarter")
      .keyBy((x) => x % 7)
      .map((x) => x)
      .name("after-key")
      .collect("sink");
    const r = await env.execute();
    assert.equal(r.vertices.length, 2);
    const first = r.vertex("quarter")!;
    const second = r.vertex("after-key")!;
    assert.notEqual(first, second);
    assert.equal(first.parallelism, 2);
    assert.equal(first.recordsIn, 1000, "records read by the source");
    assert.equal(first.recordsOut, 250, "records sent over the network");
    assert.ok(first.bytesOut > 0);
    assert.equal(second.recordsIn, 250);
    assert.equal(second.recordsOut, 0);
    const op = (v: typeof first, name: string) => v.operators.find((o) => o.name === name)!;
    assert.equal(op(first, "quarter").recordsIn, 1000);
    assert.equal(op(first, "quarter").recordsOut, 250);
    assert.equal(op(second, "after-key").recordsIn, 250);
    assert.equal(op(second, "sink").recordsIn, 250);
    assert.ok(r.runtimeMs >= 0);
    assert.equal(typeof r.jobId, "string");
  });
});
