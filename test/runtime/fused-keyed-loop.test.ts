// A source's generated record loop (runtime/fused-source-loop.ts) through a flatMap and a keyed
// reduce: word count at p=1 (the keyBy edge chained) runs as one loop compiled per task, the
// flatMap's collector running the rest of the chain. Through it, the output and every operator's
// counts equal the record-at-a-time path's, a failure names the operator that threw (the key
// selector's is the reduce's), a flatMap's returned elements go the same way, and a line's words
// all reach the sink before its watermark generator sees the line. The tests check that the loop
// ran: the reduce and sink operators' processElement, which it replaces, are never called.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CollectionSource,
  DataGeneratorSource,
  type FlatMapFn,
  JobExecutionError,
  type Sink,
  StreamExecutionEnvironment,
  type WatermarkGenerator,
  WatermarkStrategy,
} from "../../src/index.ts";
import { SinkOperator } from "../../src/runtime/operators/basic.ts";
import { KeyedReduceOperator } from "../../src/runtime/operators/keyed-reduce.ts";

/** processElement calls of the sink and reduce operators: the record-at-a-time path makes them. */
let perRecordCalls = 0;
const sinkOriginal = SinkOperator.prototype.processElement;
const reduceOriginal = KeyedReduceOperator.prototype.processElement;
before(() => {
  SinkOperator.prototype.processElement = function (this: SinkOperator, value: unknown) {
    perRecordCalls++;
    sinkOriginal.call(this, value);
  };
  KeyedReduceOperator.prototype.processElement = function (this: KeyedReduceOperator, value: unknown) {
    perRecordCalls++;
    reduceOriginal.call(this, value);
  };
});
after(() => {
  SinkOperator.prototype.processElement = sinkOriginal;
  KeyedReduceOperator.prototype.processElement = reduceOriginal;
});

interface WordCount {
  word: string;
  count: number;
}

const VOCABULARY = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu"];
/** Line i: 1..4 words of the vocabulary. */
const lineAt = (i: number) =>
  Array.from({ length: 1 + (i % 4) }, (_, k) => VOCABULARY[(i * 3 + k * 5) % VOCABULARY.length]).join(" ");

/** The rolling counts a word count emits for lines 0..n-1, in order. */
function expectedRolling(n: number): string[] {
  const counts = new Map<string, number>();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    for (const w of lineAt(i).split(" ")) {
      const c = (counts.get(w) ?? 0) + 1;
      counts.set(w, c);
      out.push(`${w}:${c}`);
    }
  }
  return out;
}

function listSink(out: WordCount[], failAt?: string): Sink<WordCount> {
  return {
    createWriter: () => ({
      write: (v: WordCount) => {
        if (`${v.word}:${v.count}` === failAt) throw new RangeError("boom in sink");
        out.push(v);
      },
    }),
  };
}

const tokenize: FlatMapFn<string, WordCount> = (line, out) => {
  for (const word of line.split(" ")) out.collect({ word, count: 1 });
};

type Where = "tokenize" | "key" | "reduce" | "sink" | "none";
type Form = "collect" | "return" | "both";

/** generated lines -> tokenize -> keyBy(word) -> reduce (count sum) -> sink, failing in `where` at "cat:40". */
async function runWordCount(where: Where, form: Form = "collect", n = 300) {
  const env = new StreamExecutionEnvironment({ parallelism: 1 });
  const out: WordCount[] = [];
  const tokenized = env
    .fromSource(new DataGeneratorSource(lineAt, { count: n }), "src")
    .flatMap<WordCount>((line: string, collector) => {
      const words = line.split(" ");
      if (where === "tokenize" && line === lineAt(150)) throw new RangeError("boom in tokenize");
      if (form === "return") return words.map((word) => ({ word, count: 1 }));
      if (form === "both") {
        collector.collect({ word: words[0]!, count: 1 });
        return words.slice(1).map((word) => ({ word, count: 1 }));
      }
      for (const word of words) collector.collect({ word, count: 1 });
      return undefined;
    })
    .name("tokenize");
  let catSeen = 0;
  tokenized
    .keyBy((r: WordCount) => {
      if (where === "key" && r.word === "cat" && ++catSeen === 40) throw new RangeError("boom in key");
      return r.word;
    })
    .reduce((a, b) => {
      if (where === "reduce" && a.word === "cat" && a.count === 39) throw new RangeError("boom in reduce");
      return { word: a.word, count: a.count + b.count };
    }, "reduce")
    .sinkTo(listSink(out, where === "sink" ? "cat:40" : undefined), "sink");
  const result = await env.execute(`fused-keyed-${where}-${form}`);
  return { result, out, n };
}

describe("a source's generated loop through a flatMap and a keyed reduce", () => {
  for (const form of ["collect", "return", "both"] as const) {
    it(`counts every operator's records exactly (${form}), over several jobs in one process`, async () => {
      for (let job = 0; job < 3; job++) {
        perRecordCalls = 0;
        const { result, out, n } = await runWordCount("none", form);
        assert.equal(perRecordCalls, 0, "the generated loop ran, not the record-at-a-time path");
        const expected = expectedRolling(n);
        assert.deepEqual(
          out.map((r) => `${r.word}:${r.count}`),
          expected,
        );
        const v = result.vertices;
        assert.equal(v.length, 1, "one chained task at p=1");
        const op = (name: string) => v[0]!.operators.find((o) => o.name === name)!;
        assert.deepEqual(
          ["src", "tokenize", "reduce", "sink"].map((name) => [
            name,
            op(name).recordsIn,
            op(name).recordsOut,
          ]),
          [
            ["src", n, n],
            ["tokenize", n, expected.length],
            ["reduce", expected.length, expected.length],
            ["sink", expected.length, 0],
          ],
        );
      }
    });
  }

  it("runs the built-in sum() the same way", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const out: WordCount[] = [];
    env
      .fromSource(
        new CollectionSource(
          Array.from({ length: 200 }, (_, i) => lineAt(i)),
          undefined,
        ),
        "src",
      )
      .flatMap(tokenize)
      .keyBy("word")
      .sum("count")
      .sinkTo(listSink(out), "sink");
    perRecordCalls = 0;
    await env.execute("fused-keyed-sum");
    assert.equal(perRecordCalls, 0);
    assert.deepEqual(
      out.map((r) => `${r.word}:${r.count}`),
      expectedRolling(200),
    );
  });

  const named: Record<Exclude<Where, "none">, string> = {
    tokenize: "tokenize",
    key: "reduce",
    reduce: "reduce",
    sink: "sink",
  };
  for (const where of ["tokenize", "key", "reduce", "sink"] as const) {
    it(`names the operator that threw (${where})`, async () => {
      perRecordCalls = 0;
      await assert.rejects(runWordCount(where), (e) => {
        assert.ok(e instanceof JobExecutionError, String(e));
        assert.equal(e.location?.operatorName, named[where]);
        assert.match(e.message, new RegExp(`boom in ${where}`));
        return true;
      });
      assert.equal(perRecordCalls, 0, "it failed in the generated loop");
    });
  }

  it("fails a flatMap that returns a string, naming it", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    env
      .fromSource(new DataGeneratorSource(lineAt, { count: 10 }), "src")
      .flatMap<string>((line: string) => line as unknown as string[])
      .name("tokenize")
      .keyBy((w: string) => w)
      .reduce((a) => a, "reduce")
      .sinkTo({ createWriter: () => ({ write: () => {} }) }, "sink");
    await assert.rejects(env.execute("fused-keyed-string"), (e) => {
      assert.ok(e instanceof JobExecutionError, String(e));
      assert.equal(e.location?.operatorName, "tokenize");
      assert.match(e.message, /returned a string/);
      return true;
    });
  });

  it("hands a line to its watermark generator after all its words reached the sink", async () => {
    const log: string[] = [];
    const logging: WatermarkGenerator<string> = {
      onEvent: (line, ts, output) => {
        log.push(`event ${line} @${ts}`);
        output.emitWatermark(ts - 1);
      },
      onPeriodicEmit: () => {},
    };
    const lines = ["a b", "b", "c a b"];
    const strategy = WatermarkStrategy.forGenerator(() => logging).withTimestampAssigner(
      (line: string) => line.length * 10,
    );
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    env
      .fromSource(new CollectionSource(lines, undefined), strategy, "src")
      .flatMap(tokenize)
      .keyBy((r: WordCount) => r.word)
      .reduce((a, b) => ({ word: a.word, count: a.count + b.count }))
      .sinkTo(
        { createWriter: () => ({ write: (r: WordCount) => log.push(`${r.word}:${r.count}`) }) },
        "sink",
      );
    perRecordCalls = 0;
    await env.execute("fused-keyed-event-time");
    assert.equal(perRecordCalls, 0);
    assert.deepEqual(log, [
      "a:1",
      "b:1",
      "event a b @30",
      "b:2",
      "event b @10",
      "c:1",
      "a:2",
      "b:3",
      "event c a b @50",
    ]);
  });
});
