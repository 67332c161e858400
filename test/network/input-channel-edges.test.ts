// Input channel edges found by mutation testing of input-gate.ts, beside input-channel-unit.test.ts:
// a new channel takes part in the watermark minimum (not idle, no watermark, not blocked); a
// recording that starts with a barrier at the head of the queue ends at once and holds nothing;
// a recording ended by a queued barrier whose data is taken right away (as the barrier aligner
// does) leaves the buffers queued behind the barrier alone. An empty element (a length of 0: no
// writer makes one, every element has its tag) is corrupt input, reported as a truncated tag, not
// decoded from the bytes after it.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataOutputSerializer } from "../../src/core/data-io.ts";
import { Types } from "../../src/index.ts";
import { BufferKind, ElementTag, NetworkBuffer } from "../../src/network/buffer.ts";
import { InputChannel } from "../../src/network/input-gate.ts";

const str = Types.STRING.createSerializer();

function record(v: string): NetworkBuffer {
  const out = new DataOutputSerializer(64);
  out.position = 4;
  out.writeU8(ElementTag.RECORD);
  str.write(v, out);
  const bytes = Uint8Array.from(out.buffer.subarray(0, out.position));
  new DataView(bytes.buffer).setUint32(0, out.position - 4, true);
  return new NetworkBuffer(bytes, bytes.length, BufferKind.DATA);
}

function channel(): InputChannel {
  const ch = new InputChannel(0, 0, str, "edge", () => {});
  ch.returner = { giveBack: () => {} };
  return ch;
}

describe("input channel edges", () => {
  it("a new channel counts in the watermark minimum: not idle, no watermark yet, not blocked", () => {
    const ch = channel();
    assert.equal(ch.idle, false);
    assert.equal(ch.watermark, Number.NEGATIVE_INFINITY);
    assert.equal(ch.blocked, false);
    assert.equal(ch.endOfPartition, false);
    assert.equal(ch.bytesIn, 0);
  });

  it("a recording that starts at a queued barrier of its checkpoint ends at once, empty", () => {
    const ch = channel();
    const done: number[] = [];
    ch.recorded = (id) => done.push(id);
    ch.deliver(NetworkBuffer.barrier(3, true));
    ch.deliver(record("after"));
    ch.startRecording(3);
    assert.deepEqual(done, [3]);
    assert.deepEqual(ch.takeRecording(), []);
  });

  it("when the ended recording is taken at once, the data queued behind the barrier is left alone", () => {
    const ch = channel();
    const a = record("a");
    const taken: Uint8Array[][] = [];
    ch.recorded = (_id, c) => taken.push(c.takeRecording());
    ch.deliver(a);
    ch.deliver(NetworkBuffer.barrier(5, true));
    ch.deliver(record("b"));
    ch.deliver(record("c"));
    ch.startRecording(5);
    assert.deepEqual(taken, [[a.memory.slice(0, a.size)]]);
    assert.equal(ch.recording, undefined, "not recording any more");
    ch.deliver(record("d"));
    assert.equal(ch.recording, undefined);
  });

  it("an empty element fails as a truncated tag, whatever bytes follow it in the buffer", () => {
    for (const after of [0, ElementTag.WATERMARK_STATUS, 0xee]) {
      const ch = channel();
      // [u32 0] at the end of the data; the buffer's memory goes on with `after` bytes.
      const mem = new Uint8Array(16).fill(after);
      mem.fill(0, 0, 4);
      ch.deliver(new NetworkBuffer(mem, 4, BufferKind.DATA));
      const seen: string[] = [];
      assert.throws(
        () =>
          ch.readBuffer({
            processRecord: (v) => seen.push(`record ${String(v)}`),
            processWatermark: (w) => seen.push(`watermark ${w}`),
            processWatermarkStatus: (idle) => seen.push(`idle ${idle}`),
            processBarrier: (id) => seen.push(`barrier ${id}`),
          }),
        /truncated input: reading a u8 needs 1 byte\(s\) at position 4/,
      );
      assert.deepEqual(seen, [], `nothing decoded (bytes after: ${after})`);
    }
  });
});
