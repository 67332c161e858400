// Helpers of the window tests: deterministic (punctuated) watermarks, a source the test feeds
// while the job runs, a sink into a test-side array, and small independent references that
// compute window results directly from sorted input.

import {
  InputStatus,
  type ReaderOutput,
  type Sink,
  type Source,
  type SourceReader,
  WatermarkStrategy,
} from "../../src/index.ts";

export interface Ev {
  k: string;
  t: number;
  v: number;
}

export const ev = (k: string, t: number, v = 1): Ev => ({ k, t, v });

/**
 * Watermark = highest timestamp so far − bound − 1, punctuated: emitted right after each event
 * (the engine forwards the event before its generator's watermark), so which elements are late
 * does not depend on the periodic timer.
 */
export function punctuated<T extends { t: number }>(bound: number): WatermarkStrategy<T> {
  return WatermarkStrategy.forGenerator<T>(() => {
    let max = Number.NEGATIVE_INFINITY;
    return {
      onEvent(_e, ts, out) {
        if (ts > max) max = ts;
        out.emitWatermark(max - bound - 1);
      },
      onPeriodicEmit() {},
    };
  }).withTimestampAssigner((e) => e.t);
}

/** Records pushed by the test while the job runs (in-thread execution only); close() ends the input. */
export class ControlledSource<T> implements Source<T, string> {
  readonly boundedness = "unbounded" as const;
  readonly maxParallelism = 1;
  readonly queue: T[] = [];
  delivered = 0;
  private closed = false;
  private wake: (() => void) | undefined;

  push(...values: T[]): void {
    this.queue.push(...values);
    this.signal();
  }
  close(): void {
    this.closed = true;
    this.signal();
  }
  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  createEnumerator() {
    return { start() {}, handleSplitRequest() {}, addReader() {}, close() {} };
  }
  createReader(): SourceReader<T, string> {
    return {
      start: () => {},
      pollNext: (output: ReaderOutput<T>) => {
        const v = this.queue.shift();
        if (v !== undefined) {
          output.collect(v);
          this.delivered++;
          return this.queue.length > 0 ? InputStatus.MORE_AVAILABLE : InputStatus.NOTHING_AVAILABLE;
        }
        return this.closed ? InputStatus.END_OF_INPUT : InputStatus.NOTHING_AVAILABLE;
      },
      isAvailable: () =>
        this.queue.length > 0 || this.closed
          ? Promise.resolve()
          : new Promise<void>((r) => {
              this.wake = r;
            }),
      addSplits() {},
      notifyNoMoreSplits() {},
      close() {},
    };
  }
}

/** A sink that appends to an array of the test (in-thread execution). */
export function arraySink<T>(into: T[]): Sink<T> {
  return { createWriter: () => ({ write: (v: T) => void into.push(v) }) };
}

/** Start of the window of `size` (shifted by `offset`) holding t: floor arithmetic, independent of the engine. */
export function windowStart(t: number, size: number, offset = 0): number {
  return Math.floor((t - offset) / size) * size + offset;
}

/** key|start|end -> values, for tumbling/sliding windows, computed directly. */
export function referenceSliding(events: Ev[], size: number, slide: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const e of events) {
    for (let s = windowStart(e.t, slide); s > e.t - size; s -= slide) {
      const id = `${e.k}|${s}|${s + size}`;
      const list = out.get(id);
      if (list === undefined) out.set(id, [e.v]);
      else list.push(e.v);
    }
  }
  return out;
}

/** key|start|end -> values for session windows, from the sorted timestamps of each key. */
export function referenceSessions(events: Ev[], gap: number): Map<string, number[]> {
  const byKey = new Map<string, Ev[]>();
  for (const e of events) {
    const l = byKey.get(e.k);
    if (l === undefined) byKey.set(e.k, [e]);
    else l.push(e);
  }
  const out = new Map<string, number[]>();
  for (const [k, list] of byKey) {
    list.sort((a, b) => a.t - b.t);
    let start = list[0]!.t;
    let end = start + gap;
    let values: number[] = [];
    for (const e of list) {
      if (e.t > end || e.t + gap < start) {
        out.set(`${k}|${start}|${end}`, values);
        start = e.t;
        end = e.t + gap;
        values = [];
      }
      end = Math.max(end, e.t + gap);
      values.push(e.v);
    }
    out.set(`${k}|${start}|${end}`, values);
  }
  return out;
}

/** Wait until `cond()` holds; a generous deadline guards against hangs (never a timing assertion). */
export async function waitFor(cond: () => boolean, what: string, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
