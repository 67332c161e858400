// The chaos job of the failover tests and what it must commit: the exactly-once job of
// test/checkpoint/chaos.test.ts (keyed windows, the exactly-once file sink) with its parameters.

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChaosParams, WINDOW_MS, event } from "../checkpoint/fixtures/chaos-job.ts";

export const JOB = fileURLToPath(new URL("../checkpoint/fixtures/chaos-job.ts", import.meta.url));
export const EVENTS = 40_000;
export const KEYS = 13;

/** The chaos job's settings for a run in `dir`: EVENTS events over KEYS keys at `rate` events/s. */
export function failoverParams(dir: string, rate = 8_000): ChaosParams {
  return { out: join(dir, "out"), checkpoints: join(dir, "checkpoints"), events: EVENTS, keys: KEYS, rate };
}

export function expected(): string[] {
  const m = new Map<string, { key: string; window: number; count: number; sum: number }>();
  for (let i = 0; i < EVENTS; i++) {
    const e = event(i, KEYS);
    const w = Math.floor(e.time / WINDOW_MS) * WINDOW_MS;
    const k = `${e.key}@${w}`;
    const r = m.get(k) ?? { key: e.key, window: w, count: 0, sum: 0 };
    r.count++;
    r.sum += e.value;
    m.set(k, r);
  }
  return [...m.values()].map((r) => JSON.stringify(r)).sort();
}

export function committed(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const lines: string[] = [];
  for (const f of readdirSync(dir)) {
    if (f.startsWith(".")) continue;
    for (const l of readFileSync(join(dir, f), "utf8").split("\n")) if (l.length > 0) lines.push(l);
  }
  return lines.sort();
}

/** Some checkpoint of the job has completed (its _metadata is written last, atomically). */
export function checkpointCompleted(checkpoints: string, jobId: string): boolean {
  const dir = join(checkpoints, jobId);
  if (!existsSync(dir)) return false;
  return readdirSync(dir).some((d) => d.startsWith("chk-") && existsSync(join(dir, d, "_metadata")));
}

export async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
