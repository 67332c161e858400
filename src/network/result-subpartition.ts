// The producer side of one channel: the buffer being filled, the finished buffers waiting for
// credit, and the count of buffers out at the consumer.

import { BufferKind, NetworkBuffer } from "./buffer.ts";
import type { NetworkBufferPool } from "./buffer-pool.ts";
import type { BufferReceiver, BufferReturner } from "./channel.ts";

export class ResultSubpartition implements BufferReturner {
  /** The buffer being filled, or null. */
  current: Uint8Array | null = null;
  currentSize = 0;
  /** When the first element went into `current` (ms, performance.now()). */
  currentSince = 0;
  private readonly queue: NetworkBuffer[] = [];
  private inFlight = 0;
  private credits: number;
  receiver: BufferReceiver | null = null;
  private finished = false;

  constructor(
    private readonly pool: NetworkBufferPool,
    readonly initialCredits: number,
    private readonly onCredit: () => void,
  ) {
    this.credits = initialCredits;
  }

  /** Buffers this channel holds: queued, at the consumer, and the one being filled. */
  get outstanding(): number {
    return this.queue.length + this.inFlight + (this.current === null ? 0 : 1);
  }

  /** Backpressure: a channel may hold its credits plus a little queue before its task must wait. */
  isAvailable(): boolean {
    return this.queue.length + this.inFlight < this.initialCredits + 2;
  }

  newBuffer(now: number): Uint8Array {
    this.current = this.pool.request();
    this.currentSize = 0;
    this.currentSince = now;
    return this.current;
  }

  /** Finish the buffer being filled (if it holds anything) and send what credit allows. */
  flush(): void {
    const cur = this.current;
    if (cur !== null) {
      if (this.currentSize > 0) {
        this.queue.push(new NetworkBuffer(cur, this.currentSize, BufferKind.DATA));
      } else {
        this.pool.recycle(cur);
      }
      this.current = null;
      this.currentSize = 0;
    }
    this.trySend();
  }

  /**
   * An unaligned barrier: it overtakes the data not sent yet, which is returned (copied) as this
   * channel's in-flight output state; the data is still sent, after the barrier.
   */
  addPriorityBarrier(checkpointId: number, triggerTime = 0): Uint8Array[] {
    if (this.finished) return [];
    this.flush();
    const overtaken: Uint8Array[] = [];
    for (const b of this.queue) if (b.kind === BufferKind.DATA) overtaken.push(b.memory.slice(0, b.size));
    this.queue.unshift(NetworkBuffer.barrier(checkpointId, true, false, triggerTime));
    this.trySend();
    return overtaken;
  }

  /** Restore: data that was in flight at the checkpoint goes out first. */
  addRestoredData(bytes: Uint8Array[]): void {
    for (const b of bytes) {
      const mem = this.pool.request();
      mem.set(b);
      this.queue.push(new NetworkBuffer(mem, b.length, BufferKind.DATA));
    }
    this.trySend();
  }

  /** Send a checkpoint barrier after everything written so far. */
  addBarrier(checkpointId: number, alignedOnly = false, triggerTime = 0): void {
    if (this.finished) return;
    this.flush();
    this.queue.push(NetworkBuffer.barrier(checkpointId, false, alignedOnly, triggerTime));
    this.trySend();
  }

  finish(): void {
    if (this.finished) return;
    this.flush();
    this.finished = true;
    this.queue.push(NetworkBuffer.endOfPartition());
    this.trySend();
  }

  hasPendingData(): boolean {
    return this.queue.length > 0;
  }

  trySend(): void {
    const q = this.queue;
    const receiver = this.receiver!;
    while (q.length > 0) {
      const head = q[0]!;
      if (head.kind === BufferKind.DATA) {
        if (this.credits === 0) return;
        this.credits--;
        this.inFlight++;
      }
      q.shift();
      receiver.deliver(head);
    }
  }

  /** The consumer read a buffer: its memory comes back to the pool and the credit to us. */
  giveBack(buffer: NetworkBuffer): void {
    this.inFlight--;
    this.credits++;
    this.pool.recycle(buffer.memory);
    this.trySend();
    this.onCredit();
  }

  /** Release all memory (task cancelled or failed). */
  release(): void {
    if (this.current !== null) this.pool.recycle(this.current);
    this.current = null;
    for (const b of this.queue) if (b.kind === BufferKind.DATA) this.pool.recycle(b.memory);
    this.queue.length = 0;
  }
}
