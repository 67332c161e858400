// When a read of a channel looks at the clock, driven by a clock the test moves (performance.now()
// is replaced while these tests run, and each record moves it by a fixed amount): the first check
// after 16 elements; then as many elements as take about 0.2 ms (slow records: fewer, at least 1;
// fast ones: 256); a read stops at a check once the deadline is reached, between two elements, and
// never at the end of a buffer. Also: the gate counts a channel as finished once, when its end of
// partition is read, not on reads of data.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DataOutputSerializer } from "../../src/core/data-io.ts";
import { Types } from "../../src/index.ts";
import { BufferKind, ElementTag, NetworkBuffer } from "../../src/network/buffer.ts";
import { type ElementHandler, InputChannel, InputGate } from "../../src/network/input-gate.ts";

let now = 0;
const realNow = performance.now.bind(performance);
before(() => {
  performance.now = () => now;
});
after(() => {
  performance.now = realNow;
});

const str = Types.STRING.createSerializer();

/** One data buffer of `n` records "0".."n-1". */
function records(n: number): NetworkBuffer {
  const out = new DataOutputSerializer(1024);
  for (let i = 0; i < n; i++) {
    const at = out.position;
    out.position += 4;
    out.writeU8(ElementTag.RECORD);
    str.write(String(i), out);
    out.dv.setUint32(at, out.position - at - 4, true);
  }
  const bytes = Uint8Array.from(out.buffer.subarray(0, out.position));
  return new NetworkBuffer(bytes, bytes.length, BufferKind.DATA);
}

/** A handler whose every record moves the clock by `msPerRecord`. */
function handler(msPerRecord: number): ElementHandler & { seen: number } {
  const h = {
    seen: 0,
    processRecord: () => {
      h.seen++;
      now += msPerRecord;
    },
    processWatermark: () => {},
    processWatermarkStatus: () => {},
    processBarrier: () => {},
  };
  return h;
}

function channel(): { ch: InputChannel; given: NetworkBuffer[] } {
  const given: NetworkBuffer[] = [];
  const ch = new InputChannel(0, 0, str, "edge", () => {});
  ch.returner = { giveBack: (b) => given.push(b) };
  return { ch, given };
}

describe("a read's clock checks", () => {
  // Times in 1/32 ms steps: exact in binary, so no rounding decides anything.
  it("slow records (1/32 ms): first check after 16, then every 6 (~0.2 ms); stops at the check reaching the deadline", () => {
    now = 0;
    const { ch, given } = channel();
    ch.deliver(records(100));
    const h = handler(1 / 32);
    // Checks at 16 (0.5 ms), then every floor(0.2 / (1/32)) = 6: 22 (0.6875), 28 (0.875 ≥ 0.7) stops.
    assert.equal(ch.readBuffer(h, 0.7), 28);
    assert.equal(ch.partlyRead, true);
    assert.deepEqual(given, []);
  });

  it("stops at a check that finds the deadline exactly reached", () => {
    now = 0;
    const { ch } = channel();
    ch.deliver(records(100));
    assert.equal(ch.readBuffer(handler(1 / 32), 0.5), 16);
  });

  it("fast records: 256 between checks", () => {
    now = 0;
    const { ch } = channel();
    ch.deliver(records(600));
    // 0.0001 ms each: at 16 (0.0016 ms) the next check is 256 on, at 272 (0.0272 ms).
    assert.equal(ch.readBuffer(handler(0.0001), 0.002), 272);
  });

  it("the check interval carries over to the next read of the channel", () => {
    now = 0;
    const { ch } = channel();
    ch.deliver(records(100));
    assert.equal(ch.readBuffer(handler(1 / 32), 0.7), 28);
    // Every 6 now: the next read stops at its 6th element, the deadline long past.
    assert.equal(ch.readBuffer(handler(1 / 32), 0), 6);
  });

  it("never stops at the end of a buffer: a buffer of exactly 16 records is read whole and given back", () => {
    now = 100;
    const { ch, given } = channel();
    const b = records(16);
    ch.deliver(b);
    assert.equal(ch.readBuffer(handler(0), 0), 16, "the deadline has passed, but the 16th is the last");
    assert.equal(ch.partlyRead, false);
    assert.deepEqual(given, [b]);
  });
});

describe("the gate's finished channels", () => {
  it("counts a channel's end once, when read; reads of data do not count", () => {
    now = 0;
    const a = channel().ch;
    const b = channel().ch;
    const gate = new InputGate([a, b]);
    const h = handler(0);
    a.deliver(records(2));
    a.deliver(records(2));
    b.deliver(records(1));
    gate.read(a, h);
    gate.read(a, h);
    gate.read(b, h);
    assert.equal(gate.isFinished(), false);
    a.deliver(NetworkBuffer.endOfPartition());
    gate.read(a, h);
    assert.equal(gate.isFinished(), false);
    b.deliver(NetworkBuffer.endOfPartition());
    gate.read(b, h);
    assert.equal(gate.isFinished(), true);
  });
});
