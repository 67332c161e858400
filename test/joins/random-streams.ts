// Random keyed event streams with bounded out-of-orderness, and nested-loop join references.

import { prng } from "../fixtures/helpers.ts";

export type Ev = { id: string; k: number; t: number };

/**
 * `n` events of `keys` keys; timestamps are multiples of `grain` (so that bounds are hit exactly),
 * each at most `disorder` ms behind the highest timestamp before it.
 */
export function randomEvents(
  prefix: string,
  n: number,
  keys: number,
  seed: number,
  disorder = 200,
  grain = 10,
): Ev[] {
  const rnd = prng(seed);
  const out: Ev[] = [];
  for (let i = 0; i < n; i++) {
    const base = i * 7;
    const t = Math.max(0, Math.floor((base - rnd() * disorder) / grain) * grain);
    out.push({ id: `${prefix}${i}`, k: Math.floor(rnd() * keys), t });
  }
  // The stream is near-sorted by construction; the highest timestamp so far is at most `disorder` ahead.
  return out;
}

export function sortedPairs(pairs: Iterable<string>): string[] {
  return [...pairs].sort();
}
