// Exact output after a savepoint mid-stream through a source's generated record loop
// (runtime/fused-source-loop.ts): the loop emits a whole poll at once and the reader moves its
// position after it, so a savepoint between polls must hold exactly the position after the last
// record the sink got. PausableSource pauses the readers between polls once the job's first map
// has seen `pauseAfter` records, passing the task's own output through (so the loop still runs).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  DataGeneratorSource,
  NumberSequenceSource,
  type Source,
  StreamExecutionEnvironment,
} from "../../src/index.ts";
import { SinkOperator } from "../../src/runtime/operators/basic.ts";
import { PausableSource, stopWithSavepoint, waitFor } from "./pausable-source.ts";

const dir = mkdtempSync(join(tmpdir(), "weir-fused-restore-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Calls of SinkOperator.processElement: the record-at-a-time path makes them, the loop does not. */
let perRecordSinkCalls = 0;
const original = SinkOperator.prototype.processElement;
before(() => {
  SinkOperator.prototype.processElement = function (this: SinkOperator, value: unknown) {
    perRecordSinkCalls++;
    original.call(this, value);
  };
});
after(() => {
  SinkOperator.prototype.processElement = original;
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

async function straightAndRestored(
  name: string,
  make: () => Source<number, unknown>,
  parallelism: number,
  pauseAfter: number,
) {
  const straightEnv = new StreamExecutionEnvironment({ parallelism });
  const straight = build(straightEnv, make(), { n: 0 });
  await straightEnv.execute(`${name} straight`);

  const base = join(dir, name);
  const seen1 = { n: 0 };
  const first = new PausableSource(make(), pauseAfter, () => seen1.n);
  const env1 = new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 3_600_000, // no periodic checkpoint: only the savepoint
    checkpointDirectory: join(base, "cp1"),
  });
  const h1 = build(env1, first, seen1);
  const client = await env1.executeAsync(`${name} first`);
  await waitFor(() => first.paused === parallelism, "every reader paused mid-stream");
  const savepoint = await stopWithSavepoint(client, join(base, "savepoints"));

  const env2 = new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 3_600_000,
    checkpointDirectory: join(base, "cp2"),
    restorePath: savepoint,
  });
  const h2 = build(env2, make(), { n: 0 });
  await env2.execute(`${name} restored`);
  const key = (e: { i: number }) => e.i;
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
});
