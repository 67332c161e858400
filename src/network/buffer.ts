// Network buffers: fixed-size blocks of serialized stream elements, or one in-band event.
//
// Element layout inside a data buffer: [u32 length][u8 tag][payload], length = 1 + payload bytes.
// The 4-byte length never spans two buffers; the tag and payload may. A record's payload is
// [f64 timestamp]? [u16 key group]? [record]: the key group travels with records of hash edges
// to more than one consumer, so that the consumer's keyed operator need not hash the key again.

export enum BufferKind {
  DATA = 0,
  END_OF_PARTITION = 1,
  /** A checkpoint barrier: everything before it belongs to the checkpoint, nothing after. */
  BARRIER = 2,
}

export enum ElementTag {
  RECORD = 0,
  RECORD_WITH_TIMESTAMP = 1,
  WATERMARK = 2,
  /** u8 payload: 1 = idle, 0 = active. */
  WATERMARK_STATUS = 3,
  /** f64 marked time, string source uid, u32 source subtask: a latency marker (LatencyMarker). */
  LATENCY_MARKER = 4,
  /** u16 key group (little endian), then the record: RECORD on a hash edge. */
  RECORD_WITH_KEY_GROUP = 5,
  /** f64 timestamp, u16 key group, then the record. */
  RECORD_WITH_TIMESTAMP_AND_KEY_GROUP = 6,
}

/**
 * Flink's latency marker: emitted by a source every latency-tracking interval with the wall-clock
 * time it was made, passed on to every operator downstream (not through user functions), each of
 * which records the time since in its `latency` histogram for that source.
 */
export interface LatencyMarker {
  /** Wall-clock time the source made it (ms since the epoch). */
  markedTime: number;
  /** The uid of the source operator. */
  sourceUid: string;
  sourceSubtask: number;
}

export const DEFAULT_BUFFER_SIZE = 32 * 1024;

export class NetworkBuffer {
  constructor(
    public memory: Uint8Array,
    public size: number,
    public readonly kind: BufferKind,
    /** For a barrier: its checkpoint id. */
    public readonly checkpointId = 0,
    /** For a barrier: unaligned (it overtook data; the overtaken data is in the checkpoint). */
    public readonly unaligned = false,
    /** Replayed from a checkpoint's channel state: no producer to give it back to. */
    public readonly restored = false,
    /** For a barrier: the checkpoint must be aligned (a savepoint), whatever the checkpoint mode. */
    public readonly alignedOnly = false,
    /** For a barrier: when the coordinator triggered its checkpoint (ms since the epoch; 0: unknown). */
    public readonly triggerTime = 0,
  ) {}

  static endOfPartition(): NetworkBuffer {
    return new NetworkBuffer(EMPTY, 0, BufferKind.END_OF_PARTITION);
  }

  static barrier(
    checkpointId: number,
    unaligned = false,
    alignedOnly = false,
    triggerTime = 0,
  ): NetworkBuffer {
    return new NetworkBuffer(
      EMPTY,
      0,
      BufferKind.BARRIER,
      checkpointId,
      unaligned,
      false,
      alignedOnly,
      triggerTime,
    );
  }
}

const EMPTY = new Uint8Array(0);
