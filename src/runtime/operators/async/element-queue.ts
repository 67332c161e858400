// The queues of the Async I/O operator: which completed requests may be emitted, and when a
// watermark may follow them. Ordered: strictly in input order. Unordered: in completion order
// within the records between two watermarks; a watermark never overtakes an earlier record and a
// record never overtakes an earlier watermark.

/** One async request: its input, the input's timestamp, and (once done) its results. */
export interface AsyncEntry {
  readonly input: unknown;
  readonly timestamp: number;
  result: unknown[] | undefined;
  done: boolean;
  /** Attempt number of the current call (1 = first call); results of older attempts are stale. */
  attempts: number;
  timedOut: boolean;
  /** The segment (between two watermarks) that holds the entry, unordered mode only. */
  segment: Segment | undefined;
}

export interface QueueOutput {
  emitResult(entry: AsyncEntry): void;
  emitWatermark(watermark: number): void;
}

export interface ElementQueue {
  /** Requests that were started and not yet emitted (completed or not). */
  readonly size: number;
  addRecord(entry: AsyncEntry): void;
  addWatermark(watermark: number): void;
  /** `entry` is done (its result is set). */
  completed(entry: AsyncEntry): void;
  /** Emit everything that may go now, in order. */
  emitReady(out: QueueOutput): void;
  /**
   * What the queue holds, in input order: every entry not emitted yet (pending or done) and the
   * watermarks between them (for a checkpoint).
   */
  contents(): Array<AsyncEntry | number>;
}

type Slot = AsyncEntry | number; // a number is a watermark

export class OrderedQueue implements ElementQueue {
  private readonly slots: Slot[] = [];
  private head = 0;
  size = 0;

  addRecord(entry: AsyncEntry): void {
    this.slots.push(entry);
    this.size++;
  }
  addWatermark(watermark: number): void {
    this.slots.push(watermark);
  }
  completed(_entry: AsyncEntry): void {}

  contents(): Array<AsyncEntry | number> {
    return this.slots.slice(this.head);
  }

  emitReady(out: QueueOutput): void {
    const slots = this.slots;
    while (this.head < slots.length) {
      const s = slots[this.head]!;
      if (typeof s === "number") {
        slots[this.head++] = 0;
        out.emitWatermark(s);
        continue;
      }
      if (!s.done) break;
      slots[this.head++] = 0;
      this.size--;
      out.emitResult(s);
    }
    if (this.head === slots.length) {
      slots.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > slots.length) {
      slots.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** The records between two watermarks (or a watermark on its own). */
export interface Segment {
  readonly watermark: number | undefined;
  /** The segment's entries not emitted yet (pending or done), in input order. */
  readonly entries: Set<AsyncEntry>;
  /** The done ones among them, in completion order. */
  readonly completed: AsyncEntry[];
}

export class UnorderedQueue implements ElementQueue {
  private readonly segments: Segment[] = [];
  size = 0;

  addRecord(entry: AsyncEntry): void {
    let last = this.segments[this.segments.length - 1];
    if (last === undefined || last.watermark !== undefined) {
      last = { watermark: undefined, entries: new Set(), completed: [] };
      this.segments.push(last);
    }
    last.entries.add(entry);
    entry.segment = last;
    this.size++;
  }
  addWatermark(watermark: number): void {
    this.segments.push({ watermark, entries: new Set(), completed: [] });
  }
  completed(entry: AsyncEntry): void {
    entry.segment!.completed.push(entry);
  }

  contents(): Array<AsyncEntry | number> {
    const out: Array<AsyncEntry | number> = [];
    for (const s of this.segments) {
      if (s.watermark !== undefined) out.push(s.watermark);
      else for (const e of s.entries) out.push(e);
    }
    return out;
  }

  emitReady(out: QueueOutput): void {
    const segments = this.segments;
    while (segments.length > 0) {
      const s = segments[0]!;
      if (s.watermark !== undefined) {
        segments.shift();
        out.emitWatermark(s.watermark);
        continue;
      }
      if (s.completed.length > 0) {
        const ready = s.completed.splice(0, s.completed.length);
        for (const e of ready) {
          s.entries.delete(e);
          this.size--;
          e.segment = undefined;
          out.emitResult(e);
        }
      }
      if (s.entries.size > 0) return;
      segments.shift();
    }
  }
}
