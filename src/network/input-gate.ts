// The consumer side of a task: its input channels, each with the buffers that arrived on it and a
// deserializer that reassembles elements spanning buffers. A buffer may be read in several slices
// (the channel keeps its place in it), so that a slow operator does not keep the task's mailbox
// waiting for a whole buffer; it goes back to the producer (which returns the credit) once it has
// been read to the end.

import { DataInputDeserializer } from "../core/data-io.ts";
import { SerializationError, errorMessage } from "../core/errors.ts";
import type { TypeSerializer } from "../core/types/type-info.ts";
import { BufferKind, ElementTag, type LatencyMarker, NetworkBuffer } from "./buffer.ts";
import type { BufferReceiver, BufferReturner, Wakeup } from "./channel.ts";

/**
 * A read looks at the clock every so many elements, to stop once its deadline has passed: as many
 * as take about CLOCK_CHECK_MS to process (measured as it reads), between 1 and
 * MAX_ELEMENTS_PER_CLOCK_CHECK. A clock read costs ~50 ns: a fast operator pays for it once every
 * 256 elements, and a slow one (ms per record) still stops within a record of its deadline.
 */
export const CLOCK_CHECK_MS = 0.2;
export const MAX_ELEMENTS_PER_CLOCK_CHECK = 256;
const FIRST_ELEMENTS_PER_CLOCK_CHECK = 16;

/** Receives the elements read from a channel. */
export interface ElementHandler {
  /** `keyGroup`: the record's key group when it came over a hash edge that carries it, else -1. */
  processRecord(value: unknown, timestamp: number, inputIndex: number, keyGroup: number): void;
  processWatermark(watermark: number, channel: InputChannel): void;
  processWatermarkStatus(idle: boolean, channel: InputChannel): void;
  /** `triggerTime`: when the coordinator triggered the checkpoint (ms since the epoch; 0: unknown). */
  processBarrier(
    checkpointId: number,
    channel: InputChannel,
    alignedOnly: boolean,
    triggerTime: number,
  ): void;
  /** A latency marker (only when the job tracks latency); handlers without it drop markers. */
  processLatencyMarker?(marker: LatencyMarker): void;
}

/** Told as soon as an unaligned barrier arrives on a channel, before it is read in order. */
export type BarrierAnnouncer = (checkpointId: number, channel: InputChannel, triggerTime: number) => void;

export class InputChannel implements BufferReceiver {
  readonly queue: NetworkBuffer[] = [];
  returner: BufferReturner | null = null;
  endOfPartition = false;
  /** Where reading stopped in the data buffer at the head of the queue (0: not started). */
  private readPos = 0;
  /** Elements read between two looks at the clock (see CLOCK_CHECK_MS). */
  private clockCheckEvery = FIRST_ELEMENTS_PER_CLOCK_CHECK;
  /** A partly received element: the bytes so far and the total it needs. */
  private spill: Uint8Array = new Uint8Array(0);
  private spillHave = 0;
  private spillNeed = 0;
  private readonly input = new DataInputDeserializer();
  /** The memory `input` reads (set again only when another buffer comes). */
  private inputMemory: Uint8Array | null = null;
  /** Highest watermark seen on this channel. */
  watermark = Number.NEGATIVE_INFINITY;
  /** The producer said it is idle: leave this channel out of the watermark minimum. */
  idle = false;
  /** Barrier alignment: do not read this channel until the checkpoint's other barriers arrive. */
  blocked = false;
  /**
   * A channel of a broadcast edge: its barriers never overtake data, so even an unaligned
   * checkpoint aligns it (see BarrierAligner), and it has no in-flight state.
   */
  alignedBarriers = false;
  /** Bytes of data received (the numBytesIn metric). */
  bytesIn = 0;

  constructor(
    readonly index: number,
    readonly inputIndex: number,
    private readonly serializer: TypeSerializer<unknown>,
    readonly edgeDescription: string,
    private readonly wakeup: Wakeup,
  ) {}

  /** Set by the task: unaligned barriers are announced on arrival. */
  announce: BarrierAnnouncer | undefined;
  /** Set by the task: the recording of checkpoint `id` on this channel is complete. */
  recorded: ((checkpointId: number, channel: InputChannel) => void) | undefined;
  private recordingId = 0;
  /** In-flight data recorded for an unaligned checkpoint (until this channel's barrier is read). */
  recording: Uint8Array[] | undefined;
  /** Bytes still missing of the partial record at the start of the recording (0 when none). */
  recordingSpillNeed = 0;

  deliver(buffer: NetworkBuffer): void {
    if (buffer.kind === BufferKind.DATA) this.bytesIn += buffer.size;
    this.queue.push(buffer);
    if (this.recording !== undefined) this.record(buffer);
    if (buffer.kind === BufferKind.BARRIER && buffer.unaligned)
      this.announce?.(buffer.checkpointId, this, buffer.triggerTime);
    this.wakeup();
  }

  /**
   * Record the in-flight data of unaligned checkpoint `id`: what has not been processed yet — the
   * partial record held now, or the unread rest of a partly read buffer (it starts at an element:
   * a read stops only between elements, and never while a record spanning buffers is incomplete)
   * — then every data buffer queued, and every one that arrives, until this channel's barrier
   * `id` arrives. The data is still processed as usual; the copy goes into the checkpoint.
   */
  startRecording(checkpointId: number): void {
    this.recording = this.spillNeed > 0 ? [this.spill.slice(0, this.spillHave)] : [];
    this.recordingSpillNeed = this.spillNeed;
    this.recordingId = checkpointId;
    const q = this.queue;
    for (let i = 0; i < q.length; i++) {
      const b = q[i]!;
      if (i === 0 && this.readPos > 0) this.recording.push(b.memory.slice(this.readPos, b.size));
      else this.record(b);
      if (this.recording === undefined) return;
    }
  }

  private record(buffer: NetworkBuffer): void {
    if (this.stopRecordingLater) return;
    if (buffer.kind === BufferKind.DATA) {
      this.recording!.push(buffer.memory.slice(0, buffer.size));
    } else if (buffer.kind === BufferKind.BARRIER && buffer.checkpointId >= this.recordingId) {
      const id = this.recordingId;
      const done = this.recorded;
      this.stopRecordingLater = true;
      done?.(id, this);
    }
  }
  /** Set once this channel's barrier arrived: the recording is complete (taken by the task). */
  stopRecordingLater = false;

  /** Hand over the recorded data and stop recording. */
  takeRecording(): Uint8Array[] {
    const r = this.recording ?? [];
    this.recording = undefined;
    this.stopRecordingLater = false;
    return r;
  }

  /** Restore: in-flight data of a checkpoint, replayed before anything from the network. */
  restoreInFlight(spillNeed: number, buffers: Uint8Array[]): void {
    let rest = buffers;
    if (spillNeed > 0 && buffers.length > 0) {
      const first = buffers[0]!;
      if (this.spill.length < spillNeed) this.spill = new Uint8Array(spillNeed);
      this.spill.set(first, 0);
      this.spillHave = first.length;
      this.spillNeed = spillNeed;
      rest = buffers.slice(1);
    }
    // In front of anything a restored producer already re-sent: recorded input came first.
    this.queue.unshift(...rest.map((b) => new NetworkBuffer(b, b.length, BufferKind.DATA, 0, false, true)));
  }

  /**
   * The element this channel has received the start of and not the rest: [its length, the bytes
   * so far], or undefined. Only an unaligned barrier can come between the two parts (it overtook
   * the rest at the producer): the start is then in-flight data of that barrier's checkpoint.
   */
  partialElement(): [number, Uint8Array] | undefined {
    return this.spillNeed > 0 ? [this.spillNeed, this.spill.slice(0, this.spillHave)] : undefined;
  }

  hasData(): boolean {
    return this.queue.length > 0;
  }

  /** A data buffer has been read in part: the rest is read first (and is in-flight data). */
  get partlyRead(): boolean {
    return this.readPos > 0;
  }

  /**
   * Read the elements of the buffer at the head of the queue, from where the last read stopped,
   * until its end — or, once `deadline` (performance.now()) has passed, at the next clock check
   * (see CLOCK_CHECK_MS), leaving the rest for the next read. The buffer goes back to its producer
   * when it has been read to the end. Returns the number of records read.
   */
  readBuffer(handler: ElementHandler, deadline = Number.POSITIVE_INFINITY): number {
    const buffer = this.queue[0]!;
    if (buffer.kind === BufferKind.END_OF_PARTITION) {
      this.queue.shift();
      this.endOfPartition = true;
      return 0;
    }
    if (buffer.kind === BufferKind.BARRIER) {
      this.queue.shift();
      handler.processBarrier(buffer.checkpointId, this, buffer.alignedOnly, buffer.triggerTime);
      return 0;
    }
    const mem = buffer.memory;
    const size = buffer.size;
    let pos = this.readPos;
    let records = 0;
    if (pos === 0 && this.spillNeed > 0) {
      const take = Math.min(this.spillNeed - this.spillHave, size);
      this.spill.set(mem.subarray(0, take), this.spillHave);
      this.spillHave += take;
      pos = take;
      if (this.spillHave === this.spillNeed) {
        records += this.decode(this.spill, 0, this.spillNeed, handler);
        this.spillNeed = 0;
        this.spillHave = 0;
      }
    }
    let untilClockCheck = this.clockCheckEvery;
    let lastClockCheck = performance.now();
    while (pos < size) {
      const len = mem[pos]! | (mem[pos + 1]! << 8) | (mem[pos + 2]! << 16) | (mem[pos + 3]! << 24);
      pos += 4;
      if (pos + len <= size) {
        records += this.decode(mem, pos, pos + len, handler);
        pos += len;
      } else {
        if (this.spill.length < len) this.spill = new Uint8Array(Math.max(len, this.spill.length * 2));
        const have = size - pos;
        this.spill.set(mem.subarray(pos, size), 0);
        this.spillHave = have;
        this.spillNeed = len;
        pos = size;
      }
      if (--untilClockCheck === 0 && pos < size) {
        const now = performance.now();
        if (now >= deadline) {
          // Stop between two elements; the buffer stays at the head of the queue.
          this.readPos = pos;
          return records;
        }
        untilClockCheck = this.adaptClockCheck(now - lastClockCheck);
        lastClockCheck = now;
      }
    }
    this.readPos = 0;
    this.queue.shift();
    if (!buffer.restored) this.returner!.giveBack(buffer);
    return records;
  }

  /** `elapsed` ms went by over the last clockCheckEvery elements: how many to read until the next check. */
  private adaptClockCheck(elapsed: number): number {
    const perElement = elapsed / this.clockCheckEvery;
    const every =
      perElement * MAX_ELEMENTS_PER_CLOCK_CHECK <= CLOCK_CHECK_MS
        ? MAX_ELEMENTS_PER_CLOCK_CHECK
        : Math.max(1, Math.floor(CLOCK_CHECK_MS / perElement));
    this.clockCheckEvery = every;
    return every;
  }

  private decode(mem: Uint8Array, start: number, end: number, handler: ElementHandler): number {
    const input = this.input;
    if (start >= end) {
      input.setBuffer(mem, start, end);
      this.inputMemory = mem;
      input.readU8(); // throws: an element has at least its tag
    }
    if (mem !== this.inputMemory) {
      input.setBuffer(mem, start, end);
      this.inputMemory = mem;
    }
    // An element is at least its tag; a record's key group is read from the bytes directly.
    const tag = mem[start]!;
    if (tag === ElementTag.RECORD_WITH_KEY_GROUP && start + 3 <= end) {
      input.setRange(start + 3, end);
      handler.processRecord(
        this.read(input),
        Number.NaN,
        this.inputIndex,
        mem[start + 1]! | (mem[start + 2]! << 8),
      );
      return 1;
    }
    input.setRange(start + 1, end);
    if (tag === ElementTag.RECORD) {
      handler.processRecord(this.read(input), Number.NaN, this.inputIndex, -1);
      return 1;
    }
    if (tag === ElementTag.RECORD_WITH_KEY_GROUP) {
      const kg = input.readU8() | (input.readU8() << 8);
      handler.processRecord(this.read(input), Number.NaN, this.inputIndex, kg);
      return 1;
    }
    if (tag === ElementTag.RECORD_WITH_TIMESTAMP) {
      const ts = input.readF64();
      handler.processRecord(this.read(input), ts, this.inputIndex, -1);
      return 1;
    }
    if (tag === ElementTag.RECORD_WITH_TIMESTAMP_AND_KEY_GROUP) {
      const ts = input.readF64();
      const kg = input.readU8() | (input.readU8() << 8);
      handler.processRecord(this.read(input), ts, this.inputIndex, kg);
      return 1;
    }
    if (tag === ElementTag.WATERMARK) {
      handler.processWatermark(input.readF64(), this);
      return 0;
    }
    if (tag === ElementTag.WATERMARK_STATUS) {
      handler.processWatermarkStatus(input.readU8() === 1, this);
      return 0;
    }
    if (tag === ElementTag.LATENCY_MARKER) {
      const markedTime = input.readF64();
      const sourceUid = input.readString();
      handler.processLatencyMarker?.({ markedTime, sourceUid, sourceSubtask: input.readU32() });
      return 0;
    }
    throw new SerializationError(`corrupt element (tag ${tag}) on edge ${this.edgeDescription}`);
  }

  private read(input: DataInputDeserializer): unknown {
    try {
      return this.serializer.read(input);
    } catch (e) {
      throw new SerializationError(
        `cannot deserialize a record on edge ${this.edgeDescription}: ${errorMessage(e)}`,
        { cause: e },
      );
    }
  }

  /** Return every queued buffer (task cancelled or failed). */
  release(): void {
    for (const b of this.queue) if (b.kind === BufferKind.DATA && !b.restored) this.returner?.giveBack(b);
    this.queue.length = 0;
    this.readPos = 0;
  }
}

export class InputGate {
  private next = 0;
  private finishedChannels = 0;

  constructor(readonly channels: InputChannel[]) {}

  /** A channel with a buffer to read, round-robin, or undefined. */
  pollChannel(): InputChannel | undefined {
    const chs = this.channels;
    const n = chs.length;
    for (let i = 0; i < n; i++) {
      const c = chs[(this.next + i) % n]!;
      if (c.queue.length > 0 && !c.blocked) {
        this.next = (this.next + i + 1) % n;
        return c;
      }
    }
    return undefined;
  }

  /**
   * Read the next buffer of `channel`, or its next slice once `deadline` has passed (see
   * InputChannel.readBuffer); returns records read. Tracks end of partition.
   */
  read(channel: InputChannel, handler: ElementHandler, deadline = Number.POSITIVE_INFINITY): number {
    const wasEnded = channel.endOfPartition;
    const n = channel.readBuffer(handler, deadline);
    if (!wasEnded && channel.endOfPartition) this.finishedChannels++;
    return n;
  }

  isFinished(): boolean {
    return this.finishedChannels === this.channels.length;
  }

  /** All channels of one input (0 or 1) have ended. */
  isInputFinished(inputIndex: number): boolean {
    for (const c of this.channels) if (c.inputIndex === inputIndex && !c.endOfPartition) return false;
    return true;
  }

  release(): void {
    for (const c of this.channels) c.release();
  }
}
