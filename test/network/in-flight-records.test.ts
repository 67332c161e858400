// Reading records back out of in-flight data: the bytes of a channel as a record writer wrote them,
// cut anywhere — inside an element whose length was already read (the start a consumer held), and
// between the input part and the output part — give back every record after the cut, in order,
// with its timestamp; watermarks are skipped; data that ends inside an element is refused.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Types } from "../../src/index.ts";
import { NetworkBufferPool } from "../../src/network/buffer-pool.ts";
import { readInFlightRecords } from "../../src/network/in-flight-records.ts";
import { RecordWriter } from "../../src/network/record-writer.ts";
import { ResultSubpartition } from "../../src/network/result-subpartition.ts";

const BUFFER_SIZE = 64;
const serializer = Types.STRING.createSerializer();

/** What a writer sends: records (some longer than a buffer, some with timestamps) and watermarks. */
function written(): { bytes: Uint8Array; records: Array<[string, number]> } {
  const pool = new NetworkBufferPool(BUFFER_SIZE, 4096);
  const sp = new ResultSubpartition(pool, 1_000_000, () => {});
  const buffers: Uint8Array[] = [];
  sp.receiver = { deliver: (b) => buffers.push(b.memory.slice(0, b.size)) };
  const writer = new RecordWriter([sp], { selectChannel: () => 0 }, serializer, BUFFER_SIZE, "test", -1);
  const records: Array<[string, number]> = [];
  for (let i = 0; i < 60; i++) {
    const value = `r${i}:${"y".repeat((i * 37) % 150)}`;
    const ts = i % 3 === 0 ? Number.NaN : i * 10;
    writer.emit(value, ts);
    records.push([value, ts]);
    if (i % 7 === 0) writer.emitWatermark(i * 10 - 5);
    if (i % 11 === 0) writer.emitWatermarkStatus(i % 2 === 0);
  }
  writer.flushAll();
  const bytes = new Uint8Array(buffers.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of buffers) {
    bytes.set(b, at);
    at += b.length;
  }
  return { bytes, records };
}

/** Where each element's body starts and how long it is. */
function elements(bytes: Uint8Array): Array<{ body: number; length: number; isRecord: boolean }> {
  const out = [];
  for (let pos = 0; pos < bytes.length; ) {
    const length = bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16) | (bytes[pos + 3]! << 24);
    out.push({ body: pos + 4, length, isRecord: bytes[pos + 4]! <= 1 });
    pos += 4 + length;
  }
  return out;
}

function read(partial: number, chunks: Uint8Array[]): Array<[string, number]> {
  const got: Array<[string, number]> = [];
  readInFlightRecords(partial, chunks, serializer, (v, ts) => got.push([v as string, ts]));
  return got;
}

describe("records of in-flight data", () => {
  const { bytes, records } = written();
  const els = elements(bytes);

  it("from an element boundary, in chunks cut anywhere: every record, in order, with its timestamp", () => {
    for (let cut = 0; cut <= bytes.length; cut += 13) {
      assert.deepEqual(read(0, [bytes.slice(0, cut), bytes.slice(cut)]), records);
    }
  });

  it("from inside an element (its start held by the consumer), across input and output parts", () => {
    let checked = 0;
    for (let e = 0; e < els.length; e++) {
      const { body, length } = els[e]!;
      const after = records.slice(els.slice(0, e).filter((x) => x.isRecord).length);
      for (const have of [0, 1, Math.floor(length / 2), length - 1]) {
        if (have < 0 || have >= length) continue;
        for (const split of [body + have, body + length, Math.min(bytes.length, body + length + 30)]) {
          // The consumer's part: the element's start, then buffers; the producer's part: the rest.
          const input = [bytes.slice(body, body + have), bytes.slice(body + have, split)];
          const output = [bytes.slice(split)];
          assert.deepEqual(read(length, [...input, ...output]), after, `element ${e}, ${have} bytes held`);
          checked++;
        }
      }
    }
    assert.ok(checked > 100);
  });

  it("refuses data that ends inside an element, or that is not elements", () => {
    const last = els[els.length - 1]!;
    assert.throws(
      () => read(0, [bytes.slice(0, last.body + 1)]),
      /needs \d+ bytes at offset \d+, but the data ends/,
    );
    assert.throws(() => read(0, [bytes.slice(0, last.body - 2)]), /ends inside the length of element/);
    const bad = bytes.slice(0, els[1]!.body - 4);
    bad[4] = 9;
    assert.throws(() => read(0, [bad]), /element 1 \(offset 4\) cannot be read: unknown element tag 9/);
  });
});
