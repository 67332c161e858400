// Peak RSS per phase, split into anonymous and file-backed memory (/proc/self/status RssAnon and
// RssFile; VmHWM has no split). A worker thread reads the status every few milliseconds, so a
// phase that holds the main thread in one synchronous call still gets its peaks. The worker's own
// isolate (a few MB of anonymous memory) is part of every figure. Linux only.

import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";

export interface RssPeaks {
  /** Highest RssAnon + RssFile seen (MB). */
  totalMb: number;
  anonMb: number;
  fileMb: number;
}

// The worker keeps the maxima (kB) in a shared Int32Array: [total, anon, file, stop].
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { readFileSync } = require("node:fs");
const peaks = new Int32Array(workerData.buffer);
const kb = (s, name) => Number(new RegExp(name + ":\\\\s+(\\\\d+)").exec(s)?.[1] ?? 0);
const raise = (i, v) => {
  for (;;) {
    const old = Atomics.load(peaks, i);
    if (v <= old || Atomics.compareExchange(peaks, i, old, v) === old) return;
  }
};
const timer = setInterval(() => {
  if (Atomics.load(peaks, 3) !== 0) return clearInterval(timer);
  const s = readFileSync("/proc/self/status", "utf8");
  const anon = kb(s, "RssAnon");
  const file = kb(s, "RssFile");
  raise(0, anon + file);
  raise(1, anon);
  raise(2, file);
}, workerData.everyMs);
`;

export class RssSampler {
  private readonly peaks = new Int32Array(new SharedArrayBuffer(16));
  private readonly worker: Worker;

  constructor(everyMs = 20) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { buffer: this.peaks.buffer, everyMs },
    });
    this.worker.unref();
  }

  /** The peaks since the last take (or the start), including the current status; resets them. */
  take(): RssPeaks {
    const now = readStatus();
    const get = (i: number, v: number) => Math.max(Atomics.exchange(this.peaks, i, 0), v) / 1024;
    return {
      totalMb: Math.round(get(0, now.anon + now.file)),
      anonMb: Math.round(get(1, now.anon)),
      fileMb: Math.round(get(2, now.file)),
    };
  }

  stop(): void {
    Atomics.store(this.peaks, 3, 1);
    void this.worker.terminate();
  }
}

/** RssAnon and RssFile of this process now, in kB. */
function readStatus(): { anon: number; file: number } {
  const s = readFileSync("/proc/self/status", "utf8");
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { anon: kb("RssAnon"), file: kb("RssFile") };
}

export function formatPeaks(p: RssPeaks): string {
  return `peak RSS ${p.totalMb} MB (anon ${p.anonMb} MB, file ${p.fileMb} MB)`;
}
