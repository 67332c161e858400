// The bounded pool of network buffer memory of one thread (a slot, or the whole in-thread job).
// The pool is what bounds memory: a task whose channels hold their share of buffers stops taking
// input until buffers come back. A single input record may still overdraw the pool (a flatMap
// that emits a lot); overdraft is counted, not refused, so a record is never half-processed.

export interface BufferPoolStats {
  bufferSize: number;
  capacity: number;
  inUse: number;
  peakInUse: number;
  overdraftAllocations: number;
}

export class NetworkBufferPool {
  private readonly free: Uint8Array[] = [];
  private inUse = 0;
  private peakInUse = 0;
  private overdraft = 0;

  constructor(
    readonly bufferSize: number,
    readonly capacity: number,
  ) {}

  request(): Uint8Array {
    this.inUse++;
    if (this.inUse > this.peakInUse) this.peakInUse = this.inUse;
    if (this.inUse > this.capacity) this.overdraft++;
    return this.free.pop() ?? new Uint8Array(this.bufferSize);
  }

  recycle(memory: Uint8Array): void {
    this.inUse--;
    if (memory.byteLength === this.bufferSize && this.free.length < this.capacity) this.free.push(memory);
  }

  /** A buffer came back from another thread (its memory travelled there and back). */
  recycleTransferred(memory: ArrayBuffer): void {
    this.recycle(new Uint8Array(memory));
  }

  hasFree(): boolean {
    return this.inUse < this.capacity;
  }

  stats(): BufferPoolStats {
    return {
      bufferSize: this.bufferSize,
      capacity: this.capacity,
      inUse: this.inUse,
      peakInUse: this.peakInUse,
      overdraftAllocations: this.overdraft,
    };
  }
}
