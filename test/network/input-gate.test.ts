// Reading a channel in slices: a read stops once its deadline has passed (here: always, with a
// deadline in the past) and the next one goes on from the same place. Elements come out in the
// same order as with whole-buffer reads, records spanning buffers included; a buffer goes back to
// its producer only once read to the end; and the in-flight input recorded for an unaligned
// checkpoint is exactly what was not read yet, so that a restore replays every element once.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Types } from "../../src/index.ts";
import { BufferKind, type NetworkBuffer } from "../../src/network/buffer.ts";
import { NetworkBufferPool } from "../../src/network/buffer-pool.ts";
import { type ElementHandler, InputChannel } from "../../src/network/input-gate.ts";
import { RecordWriter } from "../../src/network/record-writer.ts";
import { ResultSubpartition } from "../../src/network/result-subpartition.ts";

const BUFFER_SIZE = 1024;
/** Stops every read at its first clock check. */
const PAST = Number.NEGATIVE_INFINITY;

type Element = string;

/** One producer subpartition wired to one consumer channel, with every buffer given back counted. */
function pipe() {
  const pool = new NetworkBufferPool(BUFFER_SIZE, 64);
  const sp = new ResultSubpartition(pool, 1000, () => {});
  const channel = new InputChannel(0, 0, Types.STRING.createSerializer(), "test edge", () => {});
  const returned: NetworkBuffer[] = [];
  sp.receiver = channel;
  channel.returner = {
    giveBack: (b) => {
      returned.push(b);
      sp.giveBack(b);
    },
  };
  const writer = new RecordWriter(
    [sp],
    { selectChannel: () => 0 },
    Types.STRING.createSerializer(),
    BUFFER_SIZE,
    "test edge",
    -1,
  );
  return { pool, sp, channel, writer, returned };
}

/** Short records, a watermark now and then, and every 40th record longer than a buffer. */
function emit(writer: RecordWriter<string>, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const long = i % 40 === 39;
    writer.emit(long ? `r${i}:${"x".repeat(BUFFER_SIZE + 300 + (i % 7) * 311)}` : `r${i}`, Number.NaN);
    if (i % 25 === 24) writer.emitWatermark(i);
  }
}

function collector(): { handler: ElementHandler; events: Element[] } {
  const events: Element[] = [];
  const handler: ElementHandler = {
    processRecord: (value) => events.push(String(value).slice(0, 12)),
    processWatermark: (w) => events.push(`wm${w}`),
    processWatermarkStatus: (idle) => events.push(`idle ${idle}`),
    processBarrier: (id) => events.push(`barrier ${id}`),
  };
  return { handler, events };
}

function readAll(channel: InputChannel, handler: ElementHandler, deadline: number): void {
  for (let guard = 0; channel.hasData() && !channel.endOfPartition; guard++) {
    assert.ok(guard < 100_000, "reading does not end");
    channel.readBuffer(handler, deadline);
  }
}

const N = 600;

/** The elements of `emit(0, N)` then end of partition, read whole buffer by whole buffer. */
function reference(): Element[] {
  const p = pipe();
  emit(p.writer, 0, N);
  p.writer.finish();
  const c = collector();
  readAll(p.channel, c.handler, Number.POSITIVE_INFINITY);
  return c.events;
}

describe("input channel: reads in slices", () => {
  const ref = reference();

  it("gives the same elements in the same order as whole reads; a buffer goes back only once read to the end", () => {
    const p = pipe();
    emit(p.writer, 0, N);
    p.writer.finish();
    const c = collector();
    let slices = 0;
    let partial = 0;
    while (p.channel.hasData() && !p.channel.endOfPartition) {
      const head = p.channel.queue[0]!;
      const returnedBefore = p.returned.length;
      p.channel.readBuffer(c.handler, PAST);
      slices++;
      if (p.channel.partlyRead) {
        partial++;
        assert.equal(p.channel.queue[0], head, "a partly read buffer stays at the head of the queue");
        assert.equal(p.returned.length, returnedBefore, "a partly read buffer is not given back");
      } else if (head.kind === BufferKind.DATA) {
        assert.equal(p.returned.length, returnedBefore + 1, "a buffer read to the end is given back");
        assert.equal(p.returned.at(-1), head);
      }
    }
    assert.deepEqual(c.events, ref);
    assert.ok(partial > 0 && slices > partial, `${partial} of ${slices} reads stopped within a buffer`);
    assert.equal(p.pool.stats().inUse, 0, "every buffer went back to the pool");
  });

  it("a deadline not reached reads whole buffers", () => {
    const p = pipe();
    emit(p.writer, 0, N);
    p.writer.finish();
    const c = collector();
    while (p.channel.hasData() && !p.channel.endOfPartition) {
      p.channel.readBuffer(c.handler, Number.POSITIVE_INFINITY);
      assert.equal(p.channel.partlyRead, false);
    }
    assert.deepEqual(c.events, ref);
  });

  it("release gives back a partly read buffer", () => {
    const p = pipe();
    emit(p.writer, 0, 100);
    p.writer.flushAll();
    const c = collector();
    p.channel.readBuffer(c.handler, PAST);
    assert.ok(p.channel.partlyRead);
    p.channel.release();
    assert.equal(p.channel.partlyRead, false);
    assert.equal(p.pool.stats().inUse, 0);
  });
});

describe("input channel: unaligned checkpoint in-flight input with a partly read buffer", () => {
  /** Records 0..AT are sent before the barrier, the rest after it. */
  const AT = 450;
  const ref = reference();

  /**
   * Read `slices` slices, start recording for checkpoint 1, send the rest of the data before the
   * barrier, then the barrier and the data after it. A restored channel replays the recording and
   * then gets only the data after the barrier: what was read before the checkpoint plus what the
   * restored channel reads must be every element exactly once, in order.
   */
  function checkpointAfter(slices: number): { partlyRead: boolean; spillNeed: number } {
    const p = pipe();
    emit(p.writer, 0, 300);
    p.writer.flushAll();
    const before = collector();
    for (let i = 0; i < slices && p.channel.hasData(); i++) p.channel.readBuffer(before.handler, PAST);
    const partlyRead = p.channel.partlyRead;

    let recorded: [number, Uint8Array[]] | undefined;
    p.channel.recorded = (_id, ch) => {
      recorded = [ch.recordingSpillNeed, ch.takeRecording()];
    };
    p.channel.startRecording(1);
    emit(p.writer, 300, AT);
    p.writer.broadcastBarrier(1);
    assert.ok(recorded !== undefined, "the recording ends at the barrier");
    emit(p.writer, AT, N);
    p.writer.finish();

    // The channel itself goes on unaffected.
    const rest = collector();
    readAll(p.channel, rest.handler, PAST);
    assert.deepEqual(
      [...before.events, ...rest.events.filter((e) => e !== "barrier 1")],
      ref,
      `slices=${slices}: the recording channel reads on as before`,
    );

    // Restore: the recorded input first, then what the producer sends after the barrier.
    const q = pipe();
    const [spillNeed, buffers] = recorded;
    q.channel.restoreInFlight(spillNeed, buffers);
    emit(q.writer, AT, N);
    q.writer.finish();
    const restored = collector();
    readAll(q.channel, restored.handler, PAST);
    assert.deepEqual(
      [...before.events, ...restored.events],
      ref,
      `slices=${slices} (partly read: ${partlyRead}, partial record of ${spillNeed} bytes): every element exactly once after the restore`,
    );
    assert.equal(q.pool.stats().inUse, 0, "restored buffers are not given back to a producer");
    return { partlyRead, spillNeed };
  }

  it("records exactly what was not read, wherever reading stopped", () => {
    let partly = 0;
    let spilled = 0;
    for (let slices = 0; slices < 60; slices++) {
      const r = checkpointAfter(slices);
      if (r.partlyRead) partly++;
      if (r.spillNeed > 0) spilled++;
      assert.ok(!(r.partlyRead && r.spillNeed > 0), "a read never stops within a record spanning buffers");
    }
    assert.ok(partly > 0, "some checkpoints were taken with a buffer read in part");
    assert.ok(spilled > 0, "some checkpoints were taken with a record spanning buffers half read");
  });
});
