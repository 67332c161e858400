// Clocks and statistics for benchmarks: a high-resolution wall clock that is comparable across
// worker threads, garbage collection between runs, medians.

/** Milliseconds since the epoch, sub-millisecond resolution, the same origin in every thread. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Run a full garbage collection when the process was started with --expose-gc. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
