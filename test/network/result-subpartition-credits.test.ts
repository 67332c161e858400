// Credits and unaligned barriers of a subpartition, exactly: one credit per given-back buffer, and
// the in-flight output state an unaligned barrier takes is the queued data only. Found unguarded by
// mutation testing (TESTING.md); the rest of the subpartition is in result-subpartition.test.ts.

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
