// Exact output after a savepoint mid-stream through a source's generated record loop
// (runtime/fused-source-loop.ts): the loop emits a whole poll at once and the reader moves its
// position after it, so a savepoint between polls must hold exactly the position after the last
// record the sink got. PausableSource (source-restore.test.ts) cannot be used here: it wraps the
// reader's output, and a wrapped output gets no generated loop. This source pauses its reader
// between polls once the job's first map has seen `pauseAfter` records, passing the task's own
// output through.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  DataGeneratorSource,
  InputStatus,
  NumberSequenceSource,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumeratorContext,
  StreamExecutionEnvironment,
} from "../../src/index.ts";
import { SinkOperator } from "../../src/runtime/operators/basic.ts";
import { stopWithSavepoint, waitFor } from "./pausable-source.ts";

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

/** Pauses every reader (between polls) once `seen()` >= pauseAfter, until release(). */
class PausingSource<T, S> implements Source<T, S> {
  paused = 0;
  private released = false;
  private readonly waiters: Array<() => void> = [];
  constructor(
    readonly inner: Source<T, S>,
    private readonly seen: () => number,
    private readonly pauseAfter: number,
  ) {}
  get boundedness() {
    return this.inner.boundedness;
  }
  get type() {
    return this.inner.type;
  }
  release(): void {
    this.released = true;
    for (const w of this.waiters.splice(0)) w();
  }
  createEnumerator(ctx: SplitEnumeratorContext<S>) {
    return this.inner.createEnumerator(ctx);
  }
  restoreEnumerator(ctx: SplitEnumeratorContext<S>, splits: S[]) {
    return this.inner.restoreEnumerator!(ctx, splits);
  }
  createReader(ctx: SourceReaderContext): SourceReader<T, S> {
    const reader = this.inner.createReader(ctx);
    let pausedHere = false;
    let gated = false;
    return {
      start: () => reader.start(),
      pollNext: (output) => {
        if (!this.released && this.seen() >= this.pauseAfter) {
          if (!pausedHere) {
            pausedHere = true;
            this.paused++;
          }
          gated = true;
          return InputStatus.NOTHING_AVAILABLE;
        }
        gated = false;
        return reader.pollNext(output);
      },
      isAvailable: () => {
        if (!gated) return reader.isAvailable();
        return this.released ? Promise.resolve() : new Promise<void>((r) => this.waiters.push(r));
      },
      addSplits: (splits) => reader.addSplits(splits),
      notifyNoMoreSplits: () => reader.notifyNoMoreSplits(),
      snapshotState: (id) => reader.snapshotState!(id),
      close: () => reader.close(),
    };
  }
}

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
  const first = new PausingSource(make(), () => seen1.n, pauseAfter);
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
