// An input channel and the gate over them, with buffers built byte by byte: what each element kind
// becomes (records with and without a timestamp, watermarks, idleness, latency markers, corrupt
// tags, records that fail to deserialize), elements spanning buffers, barriers (aligned-only, the
// trigger time, unaligned ones announced on arrival), the end of a partition, the bytes-in count,
// in-flight recording (what it holds, when a barrier ends it), restored in-flight data (first,
// never given back), release, and the gate's round robin, blocked channels and ends of input.
// Deterministic: every read here has no deadline, so no clock decides anything.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataOutputSerializer } from "../../src/core/data-io.ts";
import { SerializationError } from "../../src/core/errors.ts";
import { Types } from "../../src/index.ts";
import { BufferKind, ElementTag, type LatencyMarker, NetworkBuffer } from "../../src/network/buffer.ts";
import { type ElementHandler, InputChannel, InputGate } from "../../src/network/input-gate.ts";

/** One element: [u32 length][u8 tag][payload]. */
function element(tag: number, payload: (out: DataOutputSerializer) => void = () => {}): Uint8Array {
  const out = new DataOutputSerializer(64);
  out.position = 4;
  out.writeU8(tag);
  payload(out);
  const bytes = Uint8Array.from(out.buffer.subarray(0, out.position));
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(0, out.position - 4, true);
  return bytes;
}

const str = Types.STRING.createSerializer();
const record = (v: string) => element(ElementTag.RECORD, (o) => str.write(v, o));
const stamped = (v: string, ts: number) =>
  element(ElementTag.RECORD_WITH_TIMESTAMP, (o) => {
    o.writeF64(ts);
    str.write(v, o);
  });
const watermark = (w: number) => element(ElementTag.WATERMARK, (o) => o.writeF64(w));
const status = (idle: boolean) => element(ElementTag.WATERMARK_STATUS, (o) => o.writeU8(idle ? 1 : 0));
const marker = (m: LatencyMarker) =>
  element(ElementTag.LATENCY_MARKER, (o) => {
    o.writeF64(m.markedTime);
    o.writeString(m.sourceUid);
    o.writeU32(m.sourceSubtask);
  });

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A data buffer of these bytes, in memory a little larger than them (as pool buffers are). */
function data(bytes: Uint8Array): NetworkBuffer {
  const mem = new Uint8Array(bytes.length + 16).fill(0xee);
  mem.set(bytes);
  return new NetworkBuffer(mem, bytes.length, BufferKind.DATA);
}

/** A handler that writes down what it gets. */
function recorder() {
  const seen: string[] = [];
  const handler: ElementHandler & { seen: string[] } = {
    seen,
    processRecord: (v, ts, input) => seen.push(`record ${String(v)} ts=${ts} input=${input}`),
    processWatermark: (w, ch) => seen.push(`watermark ${w} ch=${ch.index}`),
    processWatermarkStatus: (idle, ch) => seen.push(`${idle ? "idle" : "active"} ch=${ch.index}`),
    processBarrier: (id, ch, alignedOnly, t) =>
      seen.push(`barrier ${id} ch=${ch.index}${alignedOnly ? " aligned-only" : ""} t=${t}`),
    processLatencyMarker: (m) => seen.push(`marker ${m.markedTime} ${m.sourceUid}/${m.sourceSubtask}`),
  };
  return handler;
}

function channel(index = 0, inputIndex = 0) {
  const given: NetworkBuffer[] = [];
  let wakeups = 0;
  const ch = new InputChannel(index, inputIndex, str, `edge ${index}`, () => wakeups++);
  ch.returner = { giveBack: (b) => given.push(b) };
  return { ch, given, wakeups: () => wakeups };
}

/** Reads every queued buffer. */
function readAll(ch: InputChannel, h: ElementHandler): number {
  let n = 0;
  while (ch.hasData()) n += ch.readBuffer(h);
  return n;
}

describe("input channel: elements", () => {
  it("decodes each kind of element, in order, and gives the buffer back once read", () => {
    const { ch, given } = channel(3, 1);
    const h = recorder();
    const buf = data(
      concat([
        record("a"),
        stamped("b", 1234.5),
        watermark(99),
        status(true),
        status(false),
        marker({ markedTime: 17, sourceUid: "src", sourceSubtask: 4 }),
        stamped("c", -5),
      ]),
    );
    ch.deliver(buf);
    assert.equal(ch.readBuffer(h), 3, "records counted, not watermarks or markers");
    assert.deepEqual(h.seen, [
      "record a ts=NaN input=1",
      "record b ts=1234.5 input=1",
      "watermark 99 ch=3",
      "idle ch=3",
      "active ch=3",
      "marker 17 src/4",
      "record c ts=-5 input=1",
    ]);
    assert.deepEqual(given, [buf]);
    assert.equal(ch.hasData(), false);
    assert.equal(ch.partlyRead, false);
  });

  it("a handler without latency markers drops them", () => {
    const { ch } = channel();
    const seen: string[] = [];
    ch.deliver(data(concat([marker({ markedTime: 1, sourceUid: "s", sourceSubtask: 0 }), record("x")])));
    ch.readBuffer({
      processRecord: (v) => seen.push(String(v)),
      processWatermark: () => {},
      processWatermarkStatus: () => {},
      processBarrier: () => {},
    });
    assert.deepEqual(seen, ["x"]);
  });

  it("a corrupt tag or an undeserializable record fails with the edge named", () => {
    const { ch } = channel(0);
    ch.deliver(data(element(9)));
    assert.throws(
      () => ch.readBuffer(recorder()),
      (e: Error) => {
        assert.ok(e instanceof SerializationError);
        assert.match(e.message, /corrupt element \(tag 9\) on edge edge 0/);
        return true;
      },
    );
    const bad = new InputChannel(1, 0, Types.INT.createSerializer(), "ints", () => {});
    bad.returner = { giveBack: () => {} };
    bad.deliver(data(element(ElementTag.RECORD)));
    assert.throws(() => bad.readBuffer(recorder()), /cannot deserialize a record on edge ints/);
  });

  it("an element spanning buffers comes out once its last part arrived", () => {
    const { ch, given } = channel();
    const h = recorder();
    const long = stamped("x".repeat(300), 5);
    const all = concat([record("first"), long, record("last")]);
    const cut1 = record("first").length + 4 + 100; // inside the long element's payload
    const cut2 = cut1 + 150;
    ch.deliver(data(all.slice(0, cut1)));
    ch.deliver(data(all.slice(cut1, cut2)));
    ch.deliver(data(all.slice(cut2)));
    assert.equal(ch.readBuffer(h), 1);
    assert.deepEqual(ch.partialElement()?.[0], long.length - 4, "the element's length");
    assert.deepEqual(ch.partialElement()?.[1], long.slice(4, 104), "its bytes so far");
    assert.equal(ch.readBuffer(h), 0, "still incomplete");
    assert.deepEqual(ch.partialElement()?.[1], long.slice(4, 254));
    assert.equal(ch.readBuffer(h), 2);
    assert.equal(ch.partialElement(), undefined);
    assert.deepEqual(h.seen, [
      "record first ts=NaN input=0",
      `record ${"x".repeat(300)} ts=5 input=0`,
      "record last ts=NaN input=0",
    ]);
    assert.equal(given.length, 3);
  });

  it("an element whose last part is a whole buffer, then another spanning element", () => {
    const { ch } = channel();
    const h = recorder();
    const a = record("a".repeat(40));
    const b = record("b".repeat(40));
    ch.deliver(data(a.slice(0, 10)));
    ch.deliver(data(a.slice(10)));
    ch.deliver(data(b.slice(0, 20)));
    ch.deliver(data(b.slice(20)));
    readAll(ch, h);
    assert.deepEqual(h.seen, [
      `record ${"a".repeat(40)} ts=NaN input=0`,
      `record ${"b".repeat(40)} ts=NaN input=0`,
    ]);
  });

  it("counts the bytes of data buffers received, wakes the task on every buffer", () => {
    const { ch, wakeups } = channel();
    ch.deliver(data(record("abc")));
    ch.deliver(NetworkBuffer.barrier(1));
    ch.deliver(NetworkBuffer.endOfPartition());
    assert.equal(ch.bytesIn, record("abc").length);
    assert.equal(wakeups(), 3);
  });
});

describe("input channel: barriers and the end of the partition", () => {
  it("hands a barrier to the handler with its mode and trigger time; announces only unaligned ones", () => {
    const { ch, given } = channel(2);
    const announced: string[] = [];
    ch.announce = (id, c, t) => announced.push(`${id} ch=${c.index} t=${t}`);
    ch.deliver(NetworkBuffer.barrier(1, false, false, 10));
    ch.deliver(NetworkBuffer.barrier(2, false, true, 20));
    ch.deliver(NetworkBuffer.barrier(3, true, false, 30));
    assert.deepEqual(announced, ["3 ch=2 t=30"]);
    const h = recorder();
    assert.equal(readAll(ch, h), 0);
    assert.deepEqual(h.seen, [
      "barrier 1 ch=2 t=10",
      "barrier 2 ch=2 aligned-only t=20",
      "barrier 3 ch=2 t=30",
    ]);
    assert.deepEqual(given, [], "events are not pool buffers");
  });

  it("the end of the partition is read in order and ends the channel", () => {
    const { ch } = channel();
    const h = recorder();
    ch.deliver(data(record("a")));
    ch.deliver(NetworkBuffer.endOfPartition());
    ch.readBuffer(h);
    assert.equal(ch.endOfPartition, false);
    assert.equal(ch.readBuffer(h), 0);
    assert.equal(ch.endOfPartition, true);
    assert.equal(ch.hasData(), false);
  });
});

describe("input channel: in-flight recording", () => {
  it("records the queued and arriving data until a barrier of this checkpoint or a later one", () => {
    const { ch } = channel(1);
    const done: string[] = [];
    ch.recorded = (id, c) => done.push(`${id} ch=${c.index}`);
    const a = record("a");
    const b = record("b");
    const c = record("c");
    ch.deliver(data(a));
    ch.deliver(NetworkBuffer.barrier(4)); // an older checkpoint's barrier does not end it
    ch.startRecording(5);
    assert.deepEqual(done, []);
    ch.deliver(data(b));
    ch.deliver(NetworkBuffer.barrier(6));
    ch.deliver(data(c));
    assert.deepEqual(done, ["5 ch=1"], "ended by barrier 6, once");
    assert.deepEqual(ch.takeRecording(), [a, b]);
    assert.equal(ch.recording, undefined);
    ch.deliver(data(c));
    assert.deepEqual(ch.takeRecording(), [], "not recording any more");
  });

  it("a barrier already queued ends the recording as it starts; what comes after is not recorded", () => {
    const { ch } = channel();
    const done: number[] = [];
    ch.recorded = (id) => done.push(id);
    const a = record("a");
    ch.deliver(data(a));
    ch.deliver(NetworkBuffer.barrier(7, true));
    ch.deliver(data(record("late")));
    ch.startRecording(7);
    assert.deepEqual(done, [7]);
    assert.deepEqual(ch.takeRecording(), [a]);
  });

  it("starts with the unread rest of a partly read buffer, or the partial element held", () => {
    const { ch } = channel();
    const h = recorder();
    const long = record("y".repeat(100));
    ch.deliver(data(long.slice(0, 30)));
    ch.readBuffer(h);
    ch.startRecording(1);
    assert.equal(ch.recordingSpillNeed, long.length - 4);
    ch.deliver(data(long.slice(30)));
    assert.deepEqual(ch.takeRecording(), [long.slice(4, 30), long.slice(30)]);
    assert.equal(ch.recordingSpillNeed, long.length - 4);
    readAll(ch, h);
    assert.deepEqual(h.seen, [`record ${"y".repeat(100)} ts=NaN input=0`], "recording does not consume");
    ch.startRecording(2);
    assert.equal(ch.recordingSpillNeed, 0);
  });
});

describe("input channel: restored in-flight data and release", () => {
  it("replays restored buffers first, completes a restored partial element, never gives them back", () => {
    const { ch, given } = channel();
    const h = recorder();
    const long = record("z".repeat(50));
    ch.deliver(data(record("live")));
    ch.restoreInFlight(long.length - 4, [long.slice(4, 20), concat([long.slice(20), record("r2")])]);
    assert.equal(readAll(ch, h), 3);
    assert.deepEqual(h.seen, [
      `record ${"z".repeat(50)} ts=NaN input=0`,
      "record r2 ts=NaN input=0",
      "record live ts=NaN input=0",
    ]);
    assert.equal(given.length, 1, "only the live buffer goes back");
  });

  it("restored data without a partial element is replayed whole", () => {
    const { ch } = channel();
    const h = recorder();
    ch.restoreInFlight(0, [record("a"), record("b")]);
    readAll(ch, h);
    assert.deepEqual(h.seen, ["record a ts=NaN input=0", "record b ts=NaN input=0"]);
  });

  it("release gives back the queued data buffers (not restored ones, not events) and empties the queue", () => {
    const { ch, given } = channel();
    const live = data(record("a"));
    ch.restoreInFlight(0, [record("r")]);
    ch.deliver(live);
    ch.deliver(NetworkBuffer.barrier(1));
    ch.release();
    assert.deepEqual(given, [live]);
    assert.equal(ch.hasData(), false);
    assert.equal(ch.partlyRead, false);
  });
});

describe("input gate", () => {
  it("polls channels with data round robin, skipping blocked ones", () => {
    const chs = [0, 1, 2].map((i) => channel(i).ch);
    const gate = new InputGate(chs);
    assert.equal(gate.pollChannel(), undefined);
    for (const c of chs) {
      c.deliver(data(record("1")));
      c.deliver(data(record("2")));
    }
    const order: number[] = [];
    for (let i = 0; i < 6; i++) {
      const c = gate.pollChannel()!;
      order.push(c.index);
      gate.read(c, recorder());
    }
    assert.deepEqual(order, [0, 1, 2, 0, 1, 2]);
    chs[1]!.deliver(data(record("3")));
    chs[2]!.deliver(data(record("3")));
    chs[1]!.blocked = true;
    assert.equal(gate.pollChannel()!.index, 2);
    chs[1]!.blocked = false;
    assert.equal(gate.pollChannel()!.index, 1, "from the channel after the last one polled, round");
  });

  it("is finished when every channel ended; an input when each of its channels did", () => {
    const chs = [channel(0, 0).ch, channel(1, 1).ch, channel(2, 1).ch];
    const gate = new InputGate(chs);
    const end = (c: InputChannel) => {
      c.deliver(NetworkBuffer.endOfPartition());
      gate.read(c, recorder());
    };
    assert.equal(gate.isInputFinished(1), false);
    end(chs[1]!);
    assert.equal(gate.isInputFinished(1), false);
    assert.equal(gate.isFinished(), false);
    end(chs[2]!);
    assert.equal(gate.isInputFinished(1), true);
    assert.equal(gate.isInputFinished(0), false);
    assert.equal(gate.isFinished(), false);
    end(chs[0]!);
    assert.equal(gate.isInputFinished(0), true);
    assert.equal(gate.isFinished(), true);
  });

  it("read returns the records read; release releases every channel", () => {
    const a = channel(0);
    const b = channel(1);
    const gate = new InputGate([a.ch, b.ch]);
    a.ch.deliver(data(concat([record("x"), watermark(1), record("y")])));
    b.ch.deliver(data(record("z")));
    assert.equal(gate.read(a.ch, recorder()), 2);
    gate.release();
    assert.equal(b.ch.hasData(), false);
    assert.equal(b.given.length, 1);
  });
});
