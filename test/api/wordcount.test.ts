import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type FlatMapFn,
  type KeyedProcessFunction,
  StreamExecutionEnvironment,
  Types,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { corpus, countWords } from "../fixtures/helpers.ts";

const LINES = corpus(200_000, 5_000, 11);
const EXPECTED = countWords(LINES);

const splitWords: FlatMapFn<string, string> = (line, out) => {
  for (const w of line.split(" ")) out.collect(w);
};

function tokenized(env: StreamExecutionEnvironment) {
  return env.fromGenerator((i) => LINES[i]!, { count: LINES.length, type: Types.STRING }).flatMap(splitWords);
}

describe("word count in-thread", () => {
  for (const p of [1, 2, 4]) {
    it(`rolling sum: the largest sum per word equals a plain Map count (p=${p})`, async () => {
      const env = new StreamExecutionEnvironment({ parallelism: p });
      const out = tokenized(env)
        .map((w) => ({ word: w, count: 1 }))
        .keyBy("word")
        .sum("count")
        .collect();
      await env.execute("wordcount");
      const got = new Map<string, number>();
      for (const { word, count } of out.values) got.set(word, Math.max(got.get(word) ?? 0, count));
      assert.equal(out.values.length, 200_000);
      assert.deepStrictEqual(got, EXPECTED);
    });

    it(`ValueState counter: the last emission per word equals a plain Map count (p=${p})`, async () => {
      const env = new StreamExecutionEnvironment({ parallelism: p });
      // The state handle is taken from the context of each call: the function object itself is
      // shared by the parallel instances (see operators.test.ts for per-instance fields).
      const descriptor = new ValueStateDescriptor<number>("count");
      const counter: KeyedProcessFunction<string, string, [string, number, number]> = {
        processElement(word, ctx, out) {
          const state = ctx.runtime.getState(descriptor);
          const n = (state.value() ?? 0) + 1;
          state.update(n);
          assert.equal(ctx.getCurrentKey(), word);
          out.collect([word, n, ctx.runtime.indexOfThisSubtask]);
        },
      };
      const out = tokenized(env)
        .keyBy((w) => w)
        .process(counter)
        .collect();
      await env.execute("wordcount-state");
      const got = new Map<string, number>();
      const subtaskOf = new Map<string, number>();
      for (const [w, n, sub] of out.values) {
        got.set(w, n); // records of one key arrive in order, in one subtask
        const prev = subtaskOf.get(w);
        assert.ok(prev === undefined || prev === sub, `word ${w} counted in subtasks ${prev} and ${sub}`);
        subtaskOf.set(w, sub);
      }
      assert.deepStrictEqual(got, EXPECTED);
    });
  }
});
