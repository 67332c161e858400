// How numbers, times and watermarks read on the dashboard.

/** Watermarks below this are "none yet" (Flink reports Long.MIN_VALUE). */
const NO_WATERMARK = -1e15;

export const hasWatermark = (w: number): boolean => Number.isFinite(w) && w > NO_WATERMARK;

export function count(n: number): string {
  if (!Number.isFinite(n)) return "–";
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

export const rate = (n: number): string => (Number.isFinite(n) ? `${count(n)}/s` : "–");

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export const time = (ms: number): string => (ms > 0 ? new Date(ms).toLocaleTimeString() : "–");
export const dateTime = (ms: number): string => (ms > 0 ? new Date(ms).toLocaleString() : "–");

/** A watermark as a time of day, with its date when not today. */
export function watermark(w: number): string {
  if (!hasWatermark(w)) return "none";
  if (w >= 8.64e15) return "end";
  const d = new Date(w);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toISOString();
}

export const percent = (msPerSecond: number): string =>
  Number.isFinite(msPerSecond) ? `${Math.round(msPerSecond / 10)}%` : "–";
