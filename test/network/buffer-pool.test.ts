// The network buffer pool is what bounds a task's memory: it hands out buffers, says when its share
// is used up (hasFree, which backpressure waits on), counts overdraft instead of refusing it, and
// keeps at most `capacity` recycled buffers of its own size for reuse. Found unguarded by
// mutation testing (TESTING.md).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NetworkBufferPool } from "../../src/network/buffer-pool.ts";

describe("network buffer pool", () => {
  it("has free buffers until capacity is in use, and again after a recycle", () => {
    const pool = new NetworkBufferPool(64, 2);
    assert.equal(pool.hasFree(), true);
    const a = pool.request();
    assert.equal(pool.hasFree(), true);
    const b = pool.request();
    assert.equal(pool.hasFree(), false, "both buffers in use");
    assert.equal(a.byteLength, 64);
    assert.notEqual(a, b);
    pool.recycle(a);
    assert.equal(pool.hasFree(), true);
    pool.recycle(b);
    assert.deepEqual(pool.stats(), {
      bufferSize: 64,
      capacity: 2,
      inUse: 0,
      peakInUse: 2,
      overdraftAllocations: 0,
    });
  });

  it("counts requests beyond capacity as overdraft, and keeps the peak", () => {
    const pool = new NetworkBufferPool(16, 2);
    const taken = [pool.request(), pool.request(), pool.request(), pool.request()];
    assert.equal(pool.hasFree(), false);
    for (const m of taken) pool.recycle(m);
    pool.request();
    assert.deepEqual(pool.stats(), {
      bufferSize: 16,
      capacity: 2,
      inUse: 1,
      peakInUse: 4,
      overdraftAllocations: 2,
    });
  });

  it("reuses recycled memory, keeps no more than capacity, and drops buffers of another size", () => {
    const pool = new NetworkBufferPool(8, 2);
    const [a, b, c] = [pool.request(), pool.request(), pool.request()];
    pool.recycle(a);
    pool.recycle(b);
    pool.recycle(c); // the free list is full: c is dropped
    const again = [pool.request(), pool.request(), pool.request()];
    assert.ok(again.includes(a) && again.includes(b), "both kept buffers are handed out again");
    assert.ok(!again.includes(c), "a third free buffer was not kept");
    for (const m of again) pool.recycle(m);

    const small = new NetworkBufferPool(8, 4);
    small.request();
    small.recycle(new Uint8Array(4));
    assert.equal(small.stats().inUse, 0);
    assert.equal(small.request().byteLength, 8, "a buffer of another size is never handed out");
  });

  it("takes back memory that travelled to another thread", () => {
    const pool = new NetworkBufferPool(32, 1);
    const m = pool.request();
    const copy = new ArrayBuffer(m.byteLength); // as if it came back through postMessage
    pool.recycleTransferred(copy);
    assert.equal(pool.stats().inUse, 0);
    const back = pool.request();
    assert.equal(back.buffer, copy, "the transferred memory is reused");
  });
});
