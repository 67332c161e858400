// The Async I/O operator (Flink's AsyncWaitOperator): starts one request per record without
// waiting for it, and emits its results when it completes, in input order or in completion order
// (see element-queue.ts). Completions, timeouts and retries run as mailbox actions in the task's
// thread. At most `capacity` requests are pending; while full, the operator buffers what is
// already on its way and tells the task to stop reading input (isInputAvailable): backpressure.
// A checkpoint stores the input of every request not emitted yet, and of the buffered input; a
// restore starts those requests again, in order, before any new input (see AsyncQueueSnapshot).

import { WeirError, errorMessage } from "../../../core/errors.ts";
import { OperatorFailure } from "../../operator-failure.ts";
import type { ScheduledHandle } from "../../time/processing-time-service.ts";
import { StreamOperator } from "../stream-operator.ts";
import type { AsyncFunction, AsyncOutputMode, AsyncRetryStrategy, ResultFuture } from "./async-function.ts";
import {
  type AsyncEntry,
  type ElementQueue,
  OrderedQueue,
  type QueueOutput,
  UnorderedQueue,
} from "./element-queue.ts";

/** An async request did not complete within its timeout, and the function has no timeout handler. */
export class AsyncTimeoutError extends WeirError {
  constructor(message: string) {
    super("USER_FUNCTION", message);
  }
}

export interface AsyncWaitOptions {
  mode: AsyncOutputMode;
  /** Per record, from the first call (retries included); 0 = no timeout. */
  timeoutMs: number;
  capacity: number;
  retryStrategy: AsyncRetryStrategy<unknown> | undefined;
}

/** Input that arrived while the queue was full: started (or queued) as room frees up. */
type Overflow = { record: true; value: unknown; timestamp: number } | { record: false; watermark: number };

/** One element of a checkpointed queue: a record's input and timestamp (NaN: none), or a watermark. */
export type QueuedElement = { value: unknown; timestamp: number } | { watermark: number };

/**
 * What a checkpoint holds of one subtask's Async I/O operator (its custom data): the elements it had
 * taken in and not emitted yet — requests in flight, completed ones waiting for their turn, retries
 * and timeouts pending, and input buffered while the queue was full — in input order, with the
 * watermarks between them. Plain data: the records as the user's function received them.
 */
export interface AsyncQueueSnapshot {
  /** The subtask that took the snapshot: a restore at parallelism p gives it to subtask `subtask % p`. */
  subtask: number;
  elements: QueuedElement[];
}

interface Timers {
  timeout: ScheduledHandle | undefined;
  retry: ScheduledHandle | undefined;
}

const MAX_FINISH_WAIT_MS = 50;

export class AsyncWaitOperator extends StreamOperator implements QueueOutput {
  private readonly queue: ElementQueue;
  private readonly overflow: Overflow[] = [];
  private overflowHead = 0;
  private readonly timers = new Map<AsyncEntry, Timers>();
  private closed = false;
  /** Resolves the wait of finish() when a completion arrives. */
  private wake: (() => void) | undefined;
  /** Records restored from a checkpoint, started again in open() before any new input. */
  private restored: Array<{ value: unknown; timestamp: number }> = [];

  constructor(
    private readonly fn: AsyncFunction<unknown, unknown>,
    private readonly options: AsyncWaitOptions,
  ) {
    super(fn);
    this.queue = options.mode === "ordered" ? new OrderedQueue() : new UnorderedQueue();
  }

  override isInputAvailable(): boolean {
    return this.overflowHead === this.overflow.length && this.queue.size < this.options.capacity;
  }

  processElement(value: unknown): void {
    this.submit(value, this.element.timestamp);
  }

  /** Start a request for a record, or buffer it behind earlier input while the queue is full. */
  private submit(value: unknown, timestamp: number): void {
    if (this.overflowHead < this.overflow.length || this.queue.size >= this.options.capacity) {
      this.overflow.push({ record: true, value, timestamp });
      return;
    }
    this.start(value, timestamp);
  }

  override processWatermark(watermark: number): void {
    this.currentWatermark = watermark;
    if (this.overflowHead < this.overflow.length) {
      this.overflow.push({ record: false, watermark });
      return;
    }
    this.queue.addWatermark(watermark);
    this.queue.emitReady(this);
  }

  // QueueOutput
  emitResult(entry: AsyncEntry): void {
    this.element.timestamp = entry.timestamp;
    for (const v of entry.result!) this.output.collect(v);
  }
  emitWatermark(watermark: number): void {
    this.output.emitWatermark(watermark);
  }

  private start(input: unknown, timestamp: number): void {
    const entry: AsyncEntry = {
      input,
      timestamp,
      result: undefined,
      done: false,
      attempts: 0,
      timedOut: false,
      segment: undefined,
    };
    this.queue.addRecord(entry);
    const timers: Timers = { timeout: undefined, retry: undefined };
    this.timers.set(entry, timers);
    if (this.options.timeoutMs > 0) {
      timers.timeout = this.processingTime.schedule(this.processingTime.now() + this.options.timeoutMs, () =>
        this.onTimeout(entry),
      );
    }
    this.invoke(entry);
  }

  private invoke(entry: AsyncEntry): void {
    const future = this.resultFuture(entry, ++entry.attempts);
    try {
      const r = this.fn.asyncInvoke(entry.input, future);
      if (r !== undefined && typeof (r as Promise<void>).then === "function") {
        (r as Promise<void>).then(undefined, (e: unknown) => future.completeExceptionally(e));
      }
    } catch (e) {
      future.completeExceptionally(e);
    }
  }

  /** A future for one attempt: the first call wins; its result is handled in the mailbox. */
  private resultFuture(entry: AsyncEntry, attempt: number): ResultFuture<unknown> {
    let used = false;
    const deliver = (values: unknown[] | undefined, error: unknown, failed: boolean) => {
      if (used || this.closed) return;
      used = true;
      this.mailbox.execute(() => this.onResult(entry, attempt, values, error, failed));
      this.wake?.();
    };
    return {
      complete: (values) => {
        if (values === null || typeof (values as Iterable<unknown>)?.[Symbol.iterator] !== "function") {
          deliver(
            undefined,
            new TypeError(
              `ResultFuture.complete() needs an array of results (use [] for none, [value] for one), got ${values === null ? "null" : typeof values}`,
            ),
            true,
          );
          return;
        }
        deliver(Array.from(values), undefined, false);
      },
      completeExceptionally: (error) => deliver(undefined, error, true),
    };
  }

  private onResult(
    entry: AsyncEntry,
    attempt: number,
    values: unknown[] | undefined,
    error: unknown,
    failed: boolean,
  ): void {
    if (entry.done || attempt !== entry.attempts || this.closed) return; // stale: timed out or retried
    const rs = this.options.retryStrategy;
    if (rs !== undefined && !entry.timedOut) {
      const retry = failed ? rs.exceptionPredicate?.(error) === true : rs.resultPredicate?.(values!) === true;
      if (retry && rs.canRetry(entry.attempts)) {
        const delay = Math.max(0, rs.getBackoffTimeMillis(entry.attempts));
        const timers = this.timers.get(entry)!;
        timers.retry = this.processingTime.schedule(this.processingTime.now() + delay, () => {
          timers.retry = undefined;
          if (!entry.done && !entry.timedOut && !this.closed) this.invoke(entry);
        });
        return;
      }
    }
    if (failed) {
      const tried = entry.attempts > 1 && !entry.timedOut ? ` after ${entry.attempts} attempts` : "";
      throw this.failure(
        new AsyncRequestError(
          `async request for record ${preview(entry.input)} failed${tried}: ${errorMessage(error)}`,
          error,
        ),
      );
    }
    this.complete(entry, values!);
  }

  private onTimeout(entry: AsyncEntry): void {
    const timers = this.timers.get(entry);
    if (entry.done || timers === undefined || this.closed) return;
    timers.timeout = undefined;
    timers.retry?.cancel();
    timers.retry = undefined;
    entry.timedOut = true;
    const future = this.resultFuture(entry, ++entry.attempts);
    if (this.fn.timeout === undefined) {
      throw this.failure(
        new AsyncTimeoutError(
          `async request for record ${preview(entry.input)} did not complete within ${this.options.timeoutMs} ms; give the AsyncFunction a timeout(input, resultFuture) method to complete it with a fallback, or raise the timeout`,
        ),
      );
    }
    try {
      this.fn.timeout(entry.input, future);
    } catch (e) {
      future.completeExceptionally(e);
    }
  }

  private complete(entry: AsyncEntry, values: unknown[]): void {
    entry.done = true;
    entry.result = values;
    const timers = this.timers.get(entry);
    timers?.timeout?.cancel();
    timers?.retry?.cancel();
    this.timers.delete(entry);
    this.queue.completed(entry);
    this.queue.emitReady(this);
    this.startOverflow();
  }

  /** Start buffered input while there is room. */
  private startOverflow(): void {
    const o = this.overflow;
    while (this.overflowHead < o.length) {
      const next = o[this.overflowHead]!;
      if (next.record) {
        if (this.queue.size >= this.options.capacity) break;
        this.overflowHead++;
        this.start(next.value, next.timestamp);
      } else {
        this.overflowHead++;
        this.queue.addWatermark(next.watermark);
        this.queue.emitReady(this);
      }
    }
    if (this.overflowHead === o.length) {
      o.length = 0;
      this.overflowHead = 0;
    }
  }

  private failure(error: Error): OperatorFailure {
    return new OperatorFailure({ name: this.runtime.operatorName, uid: this.runtime.operatorUid }, error);
  }

  // ---- checkpoints ---------------------------------------------------------------------

  /**
   * Every element taken in and not emitted yet: the queue's (in input order, watermarks between
   * them), then the buffered input. The records' input values go into the snapshot as they are
   * (the task copies the snapshot at the barrier), not their results: a restore asks again.
   */
  protected override snapshotCustom(_checkpointId: number): AsyncQueueSnapshot | undefined {
    const elements: QueuedElement[] = [];
    for (const e of this.queue.contents()) {
      elements.push(typeof e === "number" ? { watermark: e } : { value: e.input, timestamp: e.timestamp });
    }
    for (let i = this.overflowHead; i < this.overflow.length; i++) {
      const o = this.overflow[i]!;
      elements.push(o.record ? { value: o.value, timestamp: o.timestamp } : { watermark: o.watermark });
    }
    if (elements.length === 0) return undefined;
    return { subtask: this.runtime.indexOfThisSubtask, elements };
  }

  /**
   * Take the queues of the old subtasks `k` with `k % parallelism === this subtask` (so that each
   * is restored by exactly one new subtask, whole and in order; several ones one after another, in
   * subtask order). Their records are started again in open().
   *
   * Their watermarks are not emitted again: after a restore, the sources hand their splits out
   * anew, so the input of this subtask may now hold records an old watermark has passed, which
   * would arrive late downstream. Watermarks start again from the sources, as they do for the
   * in-flight data of unaligned checkpoints, and new ones queue behind the restored records.
   */
  protected override restoreCustom(custom: unknown[], checkpointId: number): void {
    const p = this.runtime.numberOfParallelSubtasks;
    const me = this.runtime.indexOfThisSubtask;
    const mine: AsyncQueueSnapshot[] = [];
    for (const c of custom) {
      if (!isAsyncQueueSnapshot(c)) {
        throw new WeirError(
          "INVALID_JOB",
          `operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid}) is an Async I/O operator, but its state in checkpoint ${checkpointId} is not an Async I/O queue: the uid belonged to another kind of operator; give this operator a uid of its own`,
        );
      }
      if (c.subtask % p === me) mine.push(c);
    }
    mine.sort((a, b) => a.subtask - b.subtask);
    for (const c of mine) {
      for (const e of c.elements) if (!("watermark" in e)) this.restored.push(e);
    }
  }

  /** The user function opens first; then the restored records are started, before any new input. */
  override async open(): Promise<void> {
    await super.open();
    const restored = this.restored;
    this.restored = [];
    for (const r of restored) this.submit(r.value, r.timestamp);
  }

  /** Wait for every pending request: results and timeouts arrive as mail, which we run here. */
  override async finish(): Promise<void> {
    for (;;) {
      this.mailbox.drain();
      this.processingTime.fireDue();
      if (this.queue.size === 0 && this.overflowHead === this.overflow.length) return;
      const due = this.processingTime.nextDue() - this.processingTime.now();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, Math.min(MAX_FINISH_WAIT_MS, due)));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  override async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) {
      t.timeout?.cancel();
      t.retry?.cancel();
    }
    this.timers.clear();
    await super.close();
  }
}

/** An async request failed (completeExceptionally, a throw, or a rejected promise) and was not retried. */
export class AsyncRequestError extends WeirError {
  constructor(message: string, cause: unknown) {
    super("USER_FUNCTION", message, { cause });
  }
}

function isAsyncQueueSnapshot(c: unknown): c is AsyncQueueSnapshot {
  if (typeof c !== "object" || c === null) return false;
  const s = c as Partial<AsyncQueueSnapshot>;
  return Number.isInteger(s.subtask) && Array.isArray(s.elements);
}

function preview(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
