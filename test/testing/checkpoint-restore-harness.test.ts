// A harness restores an operator's state from a real job's savepoint: the job runs in this thread
// at parallelism 2, takes a savepoint once every word was counted, and the savepoint restores into
// harnesses of parallelism 3. A harness reads what a job writes.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  type DataStream,
  InputStatus,
  type KeyedProcessFunction,
  type Source,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { HarnessError, KeyedOneInputHarness, subtaskForKey } from "../../src/testing/index.ts";

const COUNT = new ValueStateDescriptor<number>("count");

/** Words counted by the job in this thread, over all subtasks. */
let counted = 0;

/** Counts words; emits "word=n" for each occurrence. */
const countWords: KeyedProcessFunction<string, string, string> = {
  processElement(word, ctx, out) {
    counted++;
    const count = ctx.runtime.getState(COUNT);
    const n = (count.value() ?? 0) + 1;
    count.update(n);
    out.collect(`${word}=${n}`);
  },
};

const wordCounts = (words: DataStream<string>) =>
  words
    .keyBy((w) => w)
    .process(countWords)
    .uid("word-counts");

const WORDS = "to be or not to be that is the question whether tis nobler in the mind to suffer".split(" ");

/** Subtask 0 emits WORDS, then nothing; it never ends: the job runs until it is cancelled. */
const wordsThenIdle: Source<string, never> = {
  boundedness: "unbounded",
  createEnumerator: () => ({
    start() {},
    handleSplitRequest() {},
    addReader() {},
    snapshotState: () => [],
    close() {},
  }),
  createReader: (ctx) => {
    let next = ctx.subtaskIndex === 0 ? 0 : WORDS.length;
    return {
      start() {},
      pollNext(out) {
        if (next === WORDS.length) return InputStatus.NOTHING_AVAILABLE;
        out.collect(WORDS[next++]!);
        return InputStatus.MORE_AVAILABLE;
      },
      isAvailable: () => new Promise<void>(() => {}),
      snapshotState: () => [],
      addSplits() {},
      notifyNoMoreSplits() {},
      close() {},
    };
  },
};

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; !condition(); ) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("a harness restored from a job's checkpoint", () => {
  it("takes the share of the job's keyed state its subtask owns", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "weir-harness-cp-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env.enableCheckpointing(3_600_000).getCheckpointConfig().setCheckpointStorage(join(dir, "checkpoints"));
    wordCounts(env.fromSource(wordsThenIdle, "words")).collect();
    counted = 0;
    const client = await env.executeAsync("word counts");
    let checkpoint: string;
    try {
      await waitFor(() => counted === WORDS.length, "every word counted");
      checkpoint = await client.triggerSavepoint(join(dir, "savepoints"));
    } finally {
      await client.cancel();
    }

    const counts = new Map<string, number>();
    for (const w of WORDS) counts.set(w, (counts.get(w) ?? 0) + 1);
    for (const subtaskIndex of [0, 1, 2]) {
      const h = KeyedOneInputHarness.of(wordCounts, { parallelism: 3, subtaskIndex });
      await h.initializeStateFromCheckpoint(checkpoint);
      await h.open();
      const mine = [...counts.keys()].filter((w) => subtaskForKey(w, 3) === subtaskIndex);
      assert.equal(h.numKeyedStateEntries("count"), mine.length);
      for (const w of mine) h.processElement(w);
      assert.deepEqual(
        h.values(),
        mine.map((w) => `${w}=${counts.get(w)! + 1}`),
      );
    }

    const other = KeyedOneInputHarness.of((words: DataStream<string>) =>
      words
        .keyBy((w) => w)
        .process(countWords)
        .uid("another-uid"),
    );
    await assert.rejects(
      other.initializeStateFromCheckpoint(checkpoint),
      (e) =>
        e instanceof HarnessError &&
        /no operator with uid 'another-uid' \(it has: .*word-counts/.test(e.message),
    );
  });
});
