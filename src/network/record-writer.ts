// Writes stream elements of one outgoing edge into the subpartitions of its consumers: serialize
// once into a scratch buffer, then copy into the chosen subpartitions' network buffers, spanning
// buffers when an element does not fit.

import { DataOutputSerializer } from "../core/data-io.ts";
import { SerializationError, errorMessage } from "../core/errors.ts";
import type { TypeSerializer } from "../core/types/type-info.ts";
import { ElementTag, type LatencyMarker } from "./buffer.ts";
import type { ResultSubpartition } from "./result-subpartition.ts";

/** Picks the subpartition(s) of a record. Returns a channel index, or -1 for "all" (broadcast). */
export interface ChannelSelector<T> {
  selectChannel(record: T): number;
  /** Every selectChannel() computes the record's key group (hash edges to several consumers). */
  readonly carriesKeyGroup?: boolean;
  /** With carriesKeyGroup: the key group of the record last selected. */
  readonly keyGroup?: number;
  /** Every record goes to every channel (a broadcast edge: its barriers never overtake data). */
  readonly isBroadcast?: boolean;
}

export class RecordWriter<T> {
  private readonly scratch = new DataOutputSerializer(256);
  private readonly bufferSize: number;
  /** The selector gives each record's key group, which is written with the record. */
  private readonly keyGroups: boolean;
  recordsOut = 0;
  bytesOut = 0;

  constructor(
    readonly subpartitions: ResultSubpartition[],
    private readonly selector: ChannelSelector<T>,
    private readonly serializer: TypeSerializer<T>,
    bufferSize: number,
    /** Names the edge in errors: "operator 'tokenize' -> 'count' (hash)". */
    readonly edgeDescription: string,
    /** 0 = flush at the end of every processing step; >0 = after that many ms; -1 = only when full. */
    readonly bufferTimeout: number,
  ) {
    this.bufferSize = bufferSize;
    this.keyGroups = selector.carriesKeyGroup === true;
  }

  emit(record: T, timestamp: number): void {
    const out = this.scratch;
    out.clear();
    out.position = 4;
    const keyGroups = this.keyGroups;
    let keyGroupAt = 0;
    try {
      if (!Number.isNaN(timestamp)) {
        out.writeU8(
          keyGroups ? ElementTag.RECORD_WITH_TIMESTAMP_AND_KEY_GROUP : ElementTag.RECORD_WITH_TIMESTAMP,
        );
        out.writeF64(timestamp);
      } else {
        out.writeU8(keyGroups ? ElementTag.RECORD_WITH_KEY_GROUP : ElementTag.RECORD);
      }
      if (keyGroups) {
        // Filled in once the selector has computed it (after serializing, as before).
        keyGroupAt = out.position;
        out.writeU8(0);
        out.writeU8(0);
      }
      this.serializer.write(record, out);
    } catch (e) {
      throw new SerializationError(
        `cannot serialize a record on edge ${this.edgeDescription}: ${errorMessage(e)}`,
        { cause: e },
      );
    }
    this.recordsOut++;
    const ch = this.selector.selectChannel(record);
    if (keyGroups) {
      const kg = this.selector.keyGroup!;
      out.buffer[keyGroupAt] = kg & 255;
      out.buffer[keyGroupAt + 1] = kg >>> 8;
    }
    if (ch >= 0) {
      this.copyInto(this.subpartitions[ch]!, out);
    } else {
      for (const sp of this.subpartitions) this.copyInto(sp, out);
    }
  }

  emitWatermark(watermark: number): void {
    const out = this.scratch;
    out.clear();
    out.position = 4;
    out.writeU8(ElementTag.WATERMARK);
    out.writeF64(watermark);
    for (const sp of this.subpartitions) this.copyInto(sp, out);
  }

  /** `triggerTime`: when the coordinator triggered the checkpoint (carried for checkpointStartDelayNanos). */
  /** A latency marker goes to one consumer channel, round robin (as Flink's goes to a random one). */
  emitLatencyMarker(marker: LatencyMarker): void {
    const out = this.scratch;
    out.clear();
    out.position = 4;
    out.writeU8(ElementTag.LATENCY_MARKER);
    out.writeF64(marker.markedTime);
    out.writeString(marker.sourceUid);
    out.writeU32(marker.sourceSubtask);
    const n = this.subpartitions.length;
    if (n === 0) return;
    this.nextMarkerChannel = (this.nextMarkerChannel + 1) % n;
    this.copyInto(this.subpartitions[this.nextMarkerChannel]!, out);
  }
  private nextMarkerChannel = -1;

  broadcastBarrier(checkpointId: number, alignedOnly = false, triggerTime = 0): void {
    for (const sp of this.subpartitions) sp.addBarrier(checkpointId, alignedOnly, triggerTime);
  }

  /**
   * An unaligned checkpoint's barrier: it overtakes unsent data, which is returned per subpartition
   * (this edge's output in-flight state). On a broadcast edge it goes in order, after that data,
   * and nothing is returned: its consumers read at their own pace, and a barrier overtaking data
   * would let one apply an element another holds in flight (FLINK-22815; see BarrierAligner).
   */
  broadcastUnalignedBarrier(checkpointId: number, triggerTime = 0): Uint8Array[][] {
    if (this.selector.isBroadcast === true) {
      this.broadcastBarrier(checkpointId, false, triggerTime);
      return this.subpartitions.map(() => []);
    }
    return this.subpartitions.map((sp) => sp.addPriorityBarrier(checkpointId, triggerTime));
  }

  emitWatermarkStatus(idle: boolean): void {
    const out = this.scratch;
    out.clear();
    out.position = 4;
    out.writeU8(ElementTag.WATERMARK_STATUS);
    out.writeU8(idle ? 1 : 0);
    for (const sp of this.subpartitions) this.copyInto(sp, out);
  }

  private copyInto(sp: ResultSubpartition, element: DataOutputSerializer): void {
    const src = element.buffer;
    const len = element.position - 4;
    this.bytesOut += len + 4;
    let buf = sp.current;
    let pos = sp.currentSize;
    if (buf === null || this.bufferSize - pos < 4) {
      if (buf !== null) sp.flush();
      buf = sp.newBuffer(performance.now());
      pos = 0;
    }
    buf[pos] = len & 255;
    buf[pos + 1] = (len >>> 8) & 255;
    buf[pos + 2] = (len >>> 16) & 255;
    buf[pos + 3] = len >>> 24;
    pos += 4;
    let from = 4;
    let left = len;
    for (;;) {
      const room = this.bufferSize - pos;
      if (left <= room) {
        if (left < 32) {
          for (let i = 0; i < left; i++) buf[pos + i] = src[from + i]!;
        } else {
          buf.set(src.subarray(from, from + left), pos);
        }
        sp.currentSize = pos + left;
        break;
      }
      buf.set(src.subarray(from, from + room), pos);
      from += room;
      left -= room;
      sp.currentSize = this.bufferSize;
      sp.flush();
      buf = sp.newBuffer(performance.now());
      pos = 0;
    }
    if (sp.currentSize === this.bufferSize) sp.flush();
  }

  /** Flush buffers older than the buffer timeout; returns the earliest time another flush is due. */
  flushTimedOut(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    const timeout = this.bufferTimeout;
    for (const sp of this.subpartitions) {
      if (sp.current === null || sp.currentSize === 0) continue;
      const due = sp.currentSince + timeout;
      if (timeout <= 0 || due <= now) {
        if (timeout >= 0) sp.flush();
      } else if (due < next) next = due;
    }
    return next;
  }

  flushAll(): void {
    for (const sp of this.subpartitions) sp.flush();
  }

  isAvailable(): boolean {
    for (const sp of this.subpartitions) if (!sp.isAvailable()) return false;
    return true;
  }

  finish(): void {
    for (const sp of this.subpartitions) sp.finish();
  }

  release(): void {
    for (const sp of this.subpartitions) sp.release();
  }
}
