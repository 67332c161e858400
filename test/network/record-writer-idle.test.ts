// A record writer with nothing waiting asks for no flush timer: flushTimedOut() returns "never"
// for subpartitions that hold no data, whatever their last buffer's age, so an idle task does not
// wake up for nothing. Found unguarded by mutation testing (TESTING.md).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Types } from "../../src/index.ts";
import { NetworkBufferPool } from "../../src/network/buffer-pool.ts";
import { RecordWriter } from "../../src/network/record-writer.ts";
import { ResultSubpartition } from "../../src/network/result-subpartition.ts";

describe("record writer without pending data", () => {
  it("needs no flush, before anything was written and after everything was sent", () => {
    const pool = new NetworkBufferPool(64, 8);
    const sp = new ResultSubpartition(pool, 4, () => {});
    sp.receiver = { deliver() {} };
    const writer = new RecordWriter(
      [sp],
      { selectChannel: () => 0 },
      Types.STRING.createSerializer(),
      64,
      "e",
      100,
    );
    assert.equal(writer.flushTimedOut(50), Number.POSITIVE_INFINITY, "nothing written yet");
    writer.emit("a", Number.NaN);
    sp.currentSince = 1000;
    assert.equal(writer.flushTimedOut(1050), 1100);
    writer.flushAll();
    assert.equal(writer.flushTimedOut(1050), Number.POSITIVE_INFINITY, "everything sent");
    sp.newBuffer(1000); // an empty buffer being filled holds no data either
    assert.equal(writer.flushTimedOut(1050), Number.POSITIVE_INFINITY);
  });
});
