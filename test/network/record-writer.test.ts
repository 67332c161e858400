// The record writer of one edge, against real subpartitions and input channels: a record goes to
// the channel its selector picks or to all (broadcast), watermarks and idleness go to all, records
// and bytes are counted (the numRecordsOut/numBytesOut metrics), a record that cannot be serialized
// fails naming the edge, and the buffer timeout decides which partly filled buffers go out and
// when the next flush is due. Found unguarded by mutation testing (TESTING.md). An unaligned
// checkpoint's barrier overtakes unsent data, except on a broadcast edge (FLINK-22815).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SerializationError } from "../../src/core/errors.ts";
import { Types } from "../../src/index.ts";
import { NetworkBufferPool } from "../../src/network/buffer-pool.ts";
import { type ElementHandler, InputChannel } from "../../src/network/input-gate.ts";
import { RecordWriter } from "../../src/network/record-writer.ts";
import { ResultSubpartition } from "../../src/network/result-subpartition.ts";
import { createChannelSelector } from "../../src/runtime/partitioners.ts";
import { wiredChannels } from "./wired-channels.ts";

const BUFFER_SIZE = 64;

/** `n` channels from one writer; `select` picks a channel per record (-1: all). */
function edge(n: number, select: (r: string) => number, bufferTimeout = -1) {
  const pool = new NetworkBufferPool(BUFFER_SIZE, 64);
  const { subpartitions, channels } = wiredChannels(pool, n);
  const writer = new RecordWriter(
    subpartitions,
    { selectChannel: select },
    Types.STRING.createSerializer(),
    BUFFER_SIZE,
    "operator 'a' -> 'b' (test)",
    bufferTimeout,
  );
  /** Everything each channel received so far, as text. */
  const read = () =>
    channels.map((ch) => {
      const got: string[] = [];
      const handler: ElementHandler = {
        processRecord: (v, ts) => got.push(Number.isNaN(ts) ? String(v) : `${v}@${ts}`),
        processWatermark: (w) => got.push(`wm ${w}`),
        processWatermarkStatus: (idle) => got.push(idle ? "idle" : "active"),
        processBarrier: (id) => got.push(`barrier ${id}`),
      };
      while (ch.hasData()) ch.readBuffer(handler);
      return got;
    });
  return { writer, subpartitions, pool, read };
}

describe("record writer", () => {
  it("routes records by the selector, broadcasts on -1, and sends watermarks and idleness to all", () => {
    const e = edge(3, (r) => (r.startsWith("all") ? -1 : Number(r[0])));
    e.writer.emit("0a", Number.NaN);
    e.writer.emit("2b", 5);
    e.writer.emit("all", 7);
    e.writer.emit("1c", Number.NaN);
    e.writer.emitWatermark(42);
    e.writer.emitWatermarkStatus(true);
    e.writer.emitWatermarkStatus(false);
    e.writer.broadcastBarrier(3);
    assert.deepEqual(e.read(), [
      ["0a", "all@7", "wm 42", "idle", "active", "barrier 3"],
      ["all@7", "1c", "wm 42", "idle", "active", "barrier 3"],
      ["2b@5", "all@7", "wm 42", "idle", "active", "barrier 3"],
    ]);
  });

  it("counts records once and bytes per channel written", () => {
    const e = edge(2, (r) => (r === "both" ? -1 : 0));
    e.writer.emit("x", Number.NaN); // 4 length + 1 tag + 1 varint length + 1 char = 7
    e.writer.emit("both", Number.NaN); // (4 + 1 + 1 + 4) x 2 channels
    assert.equal(e.writer.recordsOut, 2);
    assert.equal(e.writer.bytesOut, 7 + 2 * 10);
  });

  it("a record longer than a buffer spans buffers and arrives whole; a full buffer goes out at once", () => {
    const e = edge(1, () => 0);
    const long = "y".repeat(BUFFER_SIZE * 3 + 5);
    e.writer.emit("first", Number.NaN);
    e.writer.emit(long, 1);
    e.writer.emit("last", Number.NaN);
    e.writer.flushAll();
    assert.deepEqual(e.read(), [["first", `${long}@1`, "last"]]);
    const exact = edge(1, () => 0);
    exact.writer.emit("z".repeat(BUFFER_SIZE - 6), Number.NaN); // 4 + 1 + 1 + 58 = 64: exactly one buffer
    assert.equal(exact.subpartitions[0]!.current, null, "sent without a flush");
    assert.deepEqual(exact.read(), [["z".repeat(BUFFER_SIZE - 6)]]);
  });

  it("a record that cannot be serialized fails naming the edge, and is not counted", () => {
    const e = edge(1, () => 0);
    assert.throws(
      () => e.writer.emit(12 as unknown as string, Number.NaN),
      (err: unknown) =>
        err instanceof SerializationError && err.message.includes("operator 'a' -> 'b' (test)"),
    );
    assert.equal(e.writer.recordsOut, 0);
  });

  it("buffer timeout > 0: flushes buffers older than the timeout and returns when the next is due", () => {
    const e = edge(2, (r) => Number(r[0]), 100);
    e.writer.emit("0a", Number.NaN);
    const [a, b] = e.subpartitions;
    a!.currentSince = 1000;
    e.writer.emit("1b", Number.NaN);
    b!.currentSince = 1050;
    assert.equal(e.writer.flushTimedOut(1099), 1100, "nothing due yet; the first at 1100");
    assert.deepEqual(e.read(), [[], []]);
    assert.equal(e.writer.flushTimedOut(1100), 1150, "the first is due exactly at 1000 + 100");
    assert.deepEqual(e.read(), [["0a"], []]);
    assert.equal(e.writer.flushTimedOut(1200), Number.POSITIVE_INFINITY);
    assert.deepEqual(e.read(), [[], ["1b"]]);
  });

  it("buffer timeout 0 flushes every partly filled buffer; -1 (only when full) flushes none", () => {
    const zero = edge(1, () => 0, 0);
    zero.writer.emit("a", Number.NaN);
    assert.equal(zero.writer.flushTimedOut(0), Number.POSITIVE_INFINITY);
    assert.deepEqual(zero.read(), [["a"]]);
    const never = edge(1, () => 0, -1);
    never.writer.emit("a", Number.NaN);
    assert.equal(never.writer.flushTimedOut(1e12), Number.POSITIVE_INFINITY);
    assert.deepEqual(never.read(), [[]]);
  });

  it("is available while every subpartition is, and release() returns all memory", () => {
    const e = edge(2, (r) => Number(r[0]));
    assert.equal(e.writer.isAvailable(), true);
    e.writer.emit(`1${"q".repeat(BUFFER_SIZE * 110)}`, Number.NaN); // more buffers than credits + 2
    assert.equal(e.writer.isAvailable(), false);
    e.writer.release();
    assert.equal(e.pool.stats().inUse, 100, "only the 100 buffers sent on credit are still out");
  });
});

describe("record writer, an unaligned checkpoint's barrier", () => {
  /** Two consumers with one credit each: the first buffer goes out, the others wait at the producer. */
  function creditBound(kind: "broadcast" | "rebalance") {
    const pool = new NetworkBufferPool(BUFFER_SIZE, 64);
    const announced: string[] = [];
    const subpartitions: ResultSubpartition[] = [];
    const channels: InputChannel[] = [];
    for (let i = 0; i < 2; i++) {
      const sp = new ResultSubpartition(pool, 1, () => {});
      const ch = new InputChannel(i, 0, Types.STRING.createSerializer(), "edge", () => {});
      ch.announce = (id) => announced.push(`${i}: ${id}`);
      sp.receiver = ch;
      ch.returner = sp;
      subpartitions.push(sp);
      channels.push(ch);
    }
    const writer = new RecordWriter(
      subpartitions,
      createChannelSelector({ kind }, 2, 0, 128, () => "edge"),
      Types.STRING.createSerializer(),
      BUFFER_SIZE,
      "operator 'a' -> 'b' (test)",
      -1,
    );
    const read = (ch: InputChannel) => {
      const got: string[] = [];
      const handler: ElementHandler = {
        processRecord: (v) => got.push(String(v)),
        processWatermark: () => {},
        processWatermarkStatus: () => {},
        processBarrier: (id) => got.push(`barrier ${id}`),
      };
      while (ch.hasData()) ch.readBuffer(handler);
      return got;
    };
    return { writer, channels, announced, read };
  }
  /** Records of ~20 bytes: three to a 64-byte buffer. */
  const records = Array.from({ length: 12 }, (_, i) => `record-${String(i).padStart(2, "0")}-xxxxxx`);

  it("overtakes the unsent data of a rebalance edge, which it returns as the edge's in-flight output", () => {
    const e = creditBound("rebalance");
    for (const r of records) e.writer.emit(r, Number.NaN);
    e.writer.flushAll();
    const overtaken = e.writer.broadcastUnalignedBarrier(1);
    assert.ok(
      overtaken.every((buffers) => buffers.length > 0),
      "data waited at the producer",
    );
    assert.deepEqual(e.announced, ["0: 1", "1: 1"], "announced on arrival");
    const got = e.read(e.channels[0]!);
    const at = got.indexOf("barrier 1");
    assert.ok(at > 0 && at < got.length - 1, `the barrier is inside the data: ${got.join(", ")}`);
  });

  it("goes in order after the data on a broadcast edge, unannounced, and returns no in-flight output", () => {
    const e = creditBound("broadcast");
    for (const r of records.slice(0, 6)) e.writer.emit(r, Number.NaN);
    e.writer.flushAll();
    const overtaken = e.writer.broadcastUnalignedBarrier(1);
    assert.deepEqual(overtaken, [[], []]);
    e.writer.emit("after", Number.NaN);
    e.writer.flushAll();
    assert.deepEqual(e.announced, [], "an in-order barrier is read in order, never announced");
    for (const ch of e.channels) {
      assert.deepEqual(e.read(ch), [...records.slice(0, 6), "barrier 1", "after"]);
    }
  });
});
