// Checkpoint ids as the coordinator takes them (src/checkpoint/checkpoint-ids.ts): counted alone,
// or reserved in blocks from a source shared by every JobManager of the job (an in-memory one
// here; test/cluster/checkpoint-id-counter.test.ts runs the etcd one). Two users of one source —
// a deposed leader and the new one — never get the same id; the next block is reserved before
// the current one runs out (once half of it is used); a failing source is reported, never
// papered over.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CHECKPOINT_ID_BLOCK, CheckpointIds } from "../../src/checkpoint/checkpoint-ids.ts";
import { testIdSource } from "../harness/coordinator-harness.ts";

const turns = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe("checkpoint ids", () => {
  it("without a source: counted from the first id, always available", () => {
    const ids = new CheckpointIds(7);
    assert.equal(ids.available, true);
    assert.deepEqual([ids.take(), ids.take(), ids.take()], [7, 8, 9]);
  });

  it("with a source: none before the first block is reserved, then consecutive ids across blocks", async () => {
    const source = testIdSource();
    const ids = new CheckpointIds(1, source);
    assert.equal(ids.available, false);
    assert.equal(ids.take(), undefined);
    await ids.ready();
    const taken: number[] = [];
    for (let i = 0; i < 3 * CHECKPOINT_ID_BLOCK; i++) {
      const id = ids.take();
      assert.notEqual(id, undefined, `id ${i + 1} was not reserved ahead`);
      taken.push(id!);
      await turns();
    }
    assert.deepEqual(
      taken,
      Array.from({ length: 3 * CHECKPOINT_ID_BLOCK }, (_, i) => i + 1),
    );
    assert.ok(source.calls.every(([count]) => count === CHECKPOINT_ID_BLOCK));
    assert.equal(source.calls.length, 4, "the first block, then one ahead for each block used");
  });

  it("the next block is asked for once half of the current one is used, not before", async () => {
    // The second half's checkpoints are the time the source (etcd) has to answer; asking earlier
    // only holds more ids that a leader losing its leadership would leave unused.
    const source = testIdSource();
    const ids = new CheckpointIds(1, source);
    await ids.ready();
    assert.equal(source.calls.length, 1);
    for (let taken = 1; taken <= CHECKPOINT_ID_BLOCK; taken++) {
      assert.equal(ids.take(), taken);
      await turns();
      const asked = taken >= CHECKPOINT_ID_BLOCK / 2 ? 2 : 1;
      assert.equal(source.calls.length, asked, `blocks asked for after ${taken} ids`);
    }
    assert.equal(ids.take(), CHECKPOINT_ID_BLOCK + 1, "the next block follows on");
  });

  it("a restored job asks for ids above its restored checkpoint", async () => {
    const source = testIdSource();
    const ids = new CheckpointIds(42, source);
    await ids.ready();
    assert.equal(ids.take(), 42);
    assert.deepEqual(source.calls[0], [CHECKPOINT_ID_BLOCK, 42]);
  });

  it("a deposed leader and the new one, sharing the source, never take the same id", async () => {
    const source = testIdSource();
    const old = new CheckpointIds(1, source);
    await old.ready();
    const oldIds = [old.take()!, old.take()!];
    // The new leader restores checkpoint 1 (published), while the old one still triggers.
    const fresh = new CheckpointIds(2, source);
    await fresh.ready();
    const freshIds: number[] = [];
    for (let i = 0; i < 2 * CHECKPOINT_ID_BLOCK; i++) {
      oldIds.push(old.take() ?? Number.NaN);
      freshIds.push(fresh.take() ?? Number.NaN);
      await turns();
    }
    const both = [...oldIds, ...freshIds].filter((id) => !Number.isNaN(id));
    assert.equal(new Set(both).size, both.length, `ids taken twice: old ${oldIds}, new ${freshIds}`);
    assert.ok(Math.min(...freshIds) > 2, "the new leader starts above the old leader's first block");
  });

  it("a failing source: no id, ready() rejects with its error; it recovers when the source does", async () => {
    const source = testIdSource();
    source.fail = new Error("etcd unavailable");
    const ids = new CheckpointIds(1, source);
    await assert.rejects(ids.ready(), /etcd unavailable/);
    assert.equal(ids.available, false);
    assert.match(String(ids.error), /etcd unavailable/);
    source.fail = undefined;
    await ids.ready();
    assert.equal(ids.error, undefined);
    assert.equal(ids.take(), 1);
  });

  it("a source that hands out an id below the one asked for is an error", async () => {
    const ids = new CheckpointIds(10, { reserve: async () => 3 });
    await assert.rejects(ids.ready(), /gave 3, below the 10 asked for/);
  });
});
