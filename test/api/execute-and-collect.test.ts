// executeAndCollect, as Flink's tests use it: every record of a bounded job, or the first N of an
// unbounded one (the job is then cancelled), with and without checkpoints; a failing job still
// rejects, and a bad limit is refused by name.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError, StreamExecutionEnvironment } from "../../src/index.ts";

const env = (parallelism = 1) => new StreamExecutionEnvironment({ parallelism, bufferTimeout: 0 });

describe("DataStream.executeAndCollect", () => {
  it("returns every record of a bounded job, in order at parallelism 1", async () => {
    const e = env();
    const out = await e
      .fromElements(1, 2, 3, 4, 5)
      .map((x) => x * 2)
      .executeAndCollect();
    assert.deepEqual(out, [2, 4, 6, 8, 10]);
  });

  it("takes a job name, and collects from every subtask at parallelism 2", async () => {
    const e = env(2);
    const out = await e
      .fromSequence(1, 100)
      .keyBy((x) => x % 7)
      .sum()
      .executeAndCollect("running sums");
    assert.equal(out.length, 100);
    // the last running sum of each key is the sum of its numbers
    const last = new Map<number, number>();
    for (let x = 1; x <= 100; x++) last.set(x % 7, (last.get(x % 7) ?? 0) + x);
    for (const total of last.values()) assert.ok(out.includes(total), `${total} in the output`);
  });

  it("stops an unbounded job after the first `limit` records", async () => {
    const e = env();
    const out = await e
      .fromGenerator((i) => `event-${i}`)
      .filter((s) => !s.endsWith("3"))
      .executeAndCollect(5);
    assert.deepEqual(out, ["event-0", "event-1", "event-2", "event-4", "event-5"]);
  });

  it("stops an unbounded job with checkpoints once a checkpoint hands the records over", async () => {
    const e = env(2);
    e.enableCheckpointing(50);
    const out = await e
      .fromGenerator((i) => i, { recordsPerSecond: 2_000 })
      .map((i) => i + 1)
      .executeAndCollect("checkpointed sample", 10);
    assert.equal(out.length, 10);
    assert.equal(new Set(out).size, 10, "no record twice");
    for (const x of out) assert.ok(Number.isInteger(x) && x >= 1);
  });

  it("returns what a bounded job emitted when it ends before the limit", async () => {
    const out = await env().fromElements("a", "b").executeAndCollect(10);
    assert.deepEqual(out, ["a", "b"]);
  });

  it("rejects with the job's failure, and refuses a bad limit", async () => {
    const failing = env()
      .fromGenerator((i) => i)
      .map((i) => {
        if (i === 3) throw new Error("bad record 3");
        return i;
      });
    await assert.rejects(failing.executeAndCollect(100), /bad record 3/);
    await assert.rejects(env().fromElements(1).executeAndCollect(0), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(err.message, /executeAndCollect\(\) limit must be a positive integer, got 0/);
      return true;
    });
  });
});
