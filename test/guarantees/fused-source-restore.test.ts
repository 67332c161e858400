// Exact output after a savepoint mid-stream through a source's generated record loop
// (runtime/fused-source-loop.ts): the loop emits a whole poll at once and the reader moves its
// position after it, so a savepoint between polls must hold exactly the position after the last
// record the sink got. PausableSource pauses the readers between polls once the job's first map
// has seen `pauseAfter` records, passing the task's own output through (so the loop still runs).
// A word count at p=1 (flatMap -> chained keyBy -> reduce) runs through the loop too: its rolling
// counts after the restore continue from the keyed state in the savepoint.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  DataGeneratorSource,
  type FlatMapFn,
  NumberSequenceSource,
  type Source,
  StreamExecutionEnvironment,
} from "../../src/index.ts";
import { SinkOperator } from "../../src/runtime/operators/basic.ts";
import { KeyedReduceOperator } from "../../src/runtime/operators/keyed-reduce.ts";
import { PausableSource, stopWithSavepoint, waitFor } from "./pausable-source.ts";

const dir = mkdtempSync(join(tmpdir(), "weir-fused-restore-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Calls of SinkOperator.processElement: the record-at-a-time path makes them, the loop does not. */
let perRecordSinkCalls = 0;
const original = SinkOperator.prototype.processElement;
const reduceOriginal = KeyedReduceOperator.prototype.processElement;
before(() => {
  SinkOperator.prototype.processElement = function (this: SinkOperator, value: unknown) {
    perRecordSinkCalls++;
    original.call(this, value);
  };
  KeyedReduceOperator.prototype.processElement = function (this: KeyedReduceOperator, value: unknown) {
    perRecordSinkCalls++;
    reduceOriginal.call(this, value);
  };
});
after(() => {
  SinkOperator.prototype.processElement = original;
  KeyedReduceOperator.prototype.processElement = reduceOriginal;
});

/** source -> map -> filter -> collect; `seen` counts what the map got (all subtasks). */
function build(env: StreamExecutionEnvironment, source: Source<number, unknown>, seen: { n: number }) {
  return env
    .fromSource(source, "source")
    .uid("source")
    .map((i: number) => {
      seen.n++;
      return { i, s: `r${i}` };
    })
    .uid("map")
    .filter((e) => e.i % 7 !== 0)
    .uid("filter")
    .collect();
}

/**
 * Word count: line i is "w{i%5} w{i%3}"; `seen` counts the lines the flatMap got. sum() keeps
 * the other fields of a word's first record, so i and count name each rolling count.
 */
function buildWordCount(
  env: StreamExecutionEnvironment,
  source: Source<number, unknown>,
  seen: { n: number },
) {
  const tokenize: FlatMapFn<number, { word: string; count: number; i: number }> = (i, out) => {
    seen.n++;
    out.collect({ word: `w${i % 5}`, count: 1, i });
    out.collect({ word: `w${i % 3}`, count: 1, i });
  };
  return env
    .fromSource(source, "source")
    .uid("source")
    .flatMap(tokenize)
    .uid("tokenize")
    .keyBy((r) => r.word)
    .sum("count")
    .uid("sum")
    .collect();
}

async function straightAndRestored(
  name: string,
  make: () => Source<number, unknown>,
  parallelism: number,
  pauseAfter: number,
  job: (
    env: StreamExecutionEnvironment,
    source: Source<number, unknown>,
    seen: { n: number },
  ) => { readonly values: ReadonlyArray<{ i: number; count?: number }> } = build,
) {
  const straightEnv = new StreamExecutionEnvironment({ parallelism });
  const straight = job(straightEnv, make(), { n: 0 });
  await straightEnv.execute(`${name} straight`);

  const base = join(dir, name);
  const seen1 = { n: 0 };
  const first = new PausableSource(make(), pauseAfter, () => seen1.n);
  const env1 = new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 3_600_000, // no periodic checkpoint: only the savepoint
    checkpointDirectory: join(base, "cp1"),
  });
  const h1 = job(env1, first, seen1);
  const client = await env1.executeAsync(`${name} first`);
  await waitFor(() => first.paused === parallelism, "every reader paused mid-stream");
  const savepoint = await stopWithSavepoint(client, join(base, "savepoints"));

  const env2 = new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 3_600_000,
    checkpointDirectory: join(base, "cp2"),
    restorePath: savepoint,
  });
  const h2 = job(env2, make(), { n: 0 });
  await env2.execute(`${name} restored`);
  const key = (e: { i: number; count?: number }) => (e.count === undefined ? e.i : e.i * 1000 + e.count);
  return { straight: straight.values.map(key), before: h1.values.map(key), after: h2.values.map(key) };
}

function assertExact(r: { straight: number[]; before: number[]; after: number[] }, ordered: boolean) {
  assert.ok(r.before.length > 0, "the first run emitted something before the savepoint");
  assert.ok(r.after.length > 0, "the savepoint was taken before the end");
  const both = [...r.before, ...r.after];
  assert.equal(both.length, r.straight.length, "as many records as a straight run");
  if (ordered) assert.deepEqual(both, r.straight);
  else
    assert.deepEqual(
      both.sort((a, b) => a - b),
      r.straight.sort((a, b) => a - b),
    );
}

describe("a savepoint between polls of a source's generated loop resumes exactly", () => {
  it("sequence at p=1", async () => {
    perRecordSinkCalls = 0;
    const r = await straightAndRestored("sequence", () => new NumberSequenceSource(0, 19_999), 1, 3000);
    assert.equal(perRecordSinkCalls, 0, "every run went through the generated loop");
    assertExact(r, true);
  });

  it("data generator at p=2 (each reader strides over the indexes)", async () => {
    perRecordSinkCalls = 0;
    const make = () => new DataGeneratorSource((i) => i, { count: 20_000 });
    const r = await straightAndRestored("generator-p2", make, 2, 3000);
    assert.equal(perRecordSinkCalls, 0, "every run went through the generated loop");
    assertExact(r, false);
  });

  it("word count (flatMap, keyed sum) at p=1, with its keyed state", async () => {
    perRecordSinkCalls = 0;
    const make = () => new DataGeneratorSource((i) => i, { count: 20_000 });
    const r = await straightAndRestored("wordcount", make, 1, 3000, buildWordCount);
    assert.equal(perRecordSinkCalls, 0, "every run went through the generated loop");
    assertExact(r, true);
  });
});
