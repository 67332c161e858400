// The producer end of a channel on its own, against a recording consumer: credit-based flow control
// (a data buffer goes out only with a credit; barriers and the end of partition need none), when
// the producing task must wait (backpressure), unaligned barriers overtaking unsent data, and
// every buffer going back to the pool. Found unguarded by mutation testing (TESTING.md).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferKind, type NetworkBuffer } from "../../src/network/buffer.ts";
import { NetworkBufferPool } from "../../src/network/buffer-pool.ts";
import { ResultSubpartition } from "../../src/network/result-subpartition.ts";

const SIZE = 16;

function producer(credits: number) {
  const pool = new NetworkBufferPool(SIZE, 32);
  let creditNews = 0;
  const sp = new ResultSubpartition(pool, credits, () => creditNews++);
  const delivered: NetworkBuffer[] = [];
  sp.receiver = { deliver: (b) => delivered.push(b) };
  /** Fill a buffer with `n` bytes of `fill` and finish it. */
  const write = (fill: number, n = 4) => {
    const mem = sp.newBuffer(0);
    mem.fill(fill, 0, n);
    sp.currentSize = n;
    sp.flush();
  };
  const seen = () =>
    delivered.map((b) =>
      b.kind === BufferKind.DATA
        ? `data ${b.memory[0]}x${b.size}`
        : b.kind === BufferKind.BARRIER
          ? `barrier ${b.checkpointId}${b.unaligned ? " unaligned" : ""}${b.alignedOnly ? " aligned-only" : ""}`
          : "end",
    );
  return { pool, sp, delivered, write, seen, creditNews: () => creditNews };
}

describe("result subpartition", () => {
  it("sends data only with credit; a given-back buffer returns the credit and its memory", () => {
    const p = producer(2);
    p.write(1);
    p.write(2);
    p.write(3);
    assert.deepEqual(p.seen(), ["data 1x4", "data 2x4"], "two credits: two buffers out");
    assert.equal(p.sp.hasPendingData(), true);
    assert.equal(p.sp.outstanding, 3);
    p.sp.giveBack(p.delivered[0]!);
    assert.deepEqual(p.seen(), ["data 1x4", "data 2x4", "data 3x4"]);
    assert.equal(p.sp.hasPendingData(), false);
    assert.equal(p.creditNews(), 1, "the producer is told about the credit");
    assert.equal(p.pool.stats().inUse, 2);
    p.sp.giveBack(p.delivered[1]!);
    p.sp.giveBack(p.delivered[2]!);
    assert.equal(p.pool.stats().inUse, 0);
    assert.equal(p.sp.outstanding, 0);
  });

  it("barriers and the end of partition need no credit but stay behind earlier data", () => {
    const p = producer(1);
    p.write(1);
    p.write(2);
    p.sp.addBarrier(7);
    p.sp.addBarrier(8, true);
    p.sp.finish();
    assert.deepEqual(p.seen(), ["data 1x4"]);
    p.sp.giveBack(p.delivered[0]!);
    assert.deepEqual(p.seen(), ["data 1x4", "data 2x4", "barrier 7", "barrier 8 aligned-only", "end"]);
  });

  it("a buffer with nothing in it is not sent; its memory goes back", () => {
    const p = producer(4);
    p.sp.newBuffer(0);
    assert.equal(p.sp.outstanding, 1, "the buffer being filled counts");
    p.sp.flush();
    assert.deepEqual(p.seen(), []);
    assert.equal(p.pool.stats().inUse, 0);
    assert.equal(p.sp.current, null);
  });

  it("the task must wait once queued and unreturned buffers reach credits + 2", () => {
    const p = producer(1);
    p.write(1); // out, waiting to come back
    assert.equal(p.sp.isAvailable(), true);
    p.write(2);
    assert.equal(p.sp.isAvailable(), true, "2 held, limit 3");
    p.write(3);
    assert.equal(p.sp.isAvailable(), false, "3 held");
    p.sp.giveBack(p.delivered[0]!);
    assert.equal(p.sp.isAvailable(), true);
  });

  it("an unaligned barrier overtakes unsent data and returns a copy of it; the data still follows", () => {
    const p = producer(1);
    p.write(1);
    p.write(2);
    const mem = p.sp.newBuffer(0);
    mem.fill(3, 0, 5);
    p.sp.currentSize = 5; // not flushed yet: the barrier flushes it
    const overtaken = p.sp.addPriorityBarrier(9);
    assert.deepEqual(
      overtaken.map((b) => [...b]),
      [
        [2, 2, 2, 2],
        [3, 3, 3, 3, 3],
      ],
    );
    assert.deepEqual(p.seen(), ["data 1x4", "barrier 9 unaligned"]);
    p.sp.giveBack(p.delivered[0]!);
    p.sp.giveBack(p.delivered[2]!);
    assert.deepEqual(p.seen(), ["data 1x4", "barrier 9 unaligned", "data 2x4", "data 3x5"]);
  });

  it("after finish(), barriers and a second finish send nothing", () => {
    const p = producer(4);
    p.write(1);
    p.sp.finish();
    p.sp.finish();
    p.sp.addBarrier(3);
    assert.deepEqual(p.sp.addPriorityBarrier(4), []);
    assert.deepEqual(p.seen(), ["data 1x4", "end"]);
  });

  it("restored in-flight data is sent as data buffers, with credit", () => {
    const p = producer(1);
    p.sp.addRestoredData([new Uint8Array([5, 5]), new Uint8Array([6, 6, 6])]);
    assert.deepEqual(p.seen(), ["data 5x2"]);
    p.sp.giveBack(p.delivered[0]!);
    assert.deepEqual(p.seen(), ["data 5x2", "data 6x3"]);
  });

  it("release() gives every buffer it holds back to the pool", () => {
    const p = producer(1);
    p.write(1);
    p.write(2);
    p.write(3);
    p.sp.addBarrier(1);
    p.sp.newBuffer(0);
    assert.equal(p.pool.stats().inUse, 4);
    p.sp.release();
    assert.equal(p.pool.stats().inUse, 1, "only the buffer at the consumer is still out");
    assert.equal(p.sp.hasPendingData(), false);
    assert.equal(p.sp.current, null);
  });
});

// Credits and unaligned barriers, exactly: one credit per given-back buffer, and the in-flight
// output state an unaligned barrier takes is the queued data only.
describe("result subpartition credits", () => {
  it("each given-back buffer returns exactly one credit", () => {
    const p = producer(1);
    for (let i = 1; i <= 4; i++) p.write(i);
    assert.deepEqual(p.seen(), ["data 1x4"]);
    p.sp.giveBack(p.delivered[0]!);
    assert.deepEqual(p.seen(), ["data 1x4", "data 2x4"], "one credit back: one buffer more");
    p.sp.giveBack(p.delivered[1]!);
    assert.deepEqual(p.seen(), ["data 1x4", "data 2x4", "data 3x4"]);
  });

  it("the data an unaligned barrier overtakes is the data only, not the events queued with it", () => {
    const p = producer(0);
    p.write(1);
    p.sp.addBarrier(4); // aligned, waiting behind data 1
    p.write(2);
    const overtaken = p.sp.addPriorityBarrier(5);
    assert.deepEqual(
      overtaken.map((b) => [...b]),
      [
        [1, 1, 1, 1],
        [2, 2, 2, 2],
      ],
    );
    assert.deepEqual(p.seen(), ["barrier 5 unaligned"]);
  });
});
