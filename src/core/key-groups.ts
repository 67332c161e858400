// Key groups: the unit of keyed-state ownership. A key maps to a key group by a fixed hash;
// a subtask owns a contiguous range of key groups. This mapping must never change: checkpoints
// written by one version are restored by another, at another parallelism.

import { InvalidArgumentError } from "./errors.ts";

export const DEFAULT_MAX_PARALLELISM = 128;
export const UPPER_BOUND_MAX_PARALLELISM = 1 << 15;

/** murmur3 (x86, 32 bit) over the UTF-16 code units of a string, seed 0. */
export function murmur3String(s: string): number {
  let h = 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let k = (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = s.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n * 2;
  return fmix32(h);
}

/** murmur3's finalizer: spreads the bits of a 32-bit hash. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * A stable 32-bit hash of a key: strings, numbers, booleans, bigints, and arrays/plain objects of them.
 * `typeof` tests rather than a switch on `typeof key`: TurboFan compiles the switch to a call of
 * the Typeof builtin on every keyed record, the tests to inline checks.
 */
export function hashKey(key: unknown): number {
  if (typeof key === "string") return murmur3String(key);
  if (typeof key === "number") {
    if ((key | 0) === key) return fmix32(key);
    f64[0] = key === 0 ? 0 : key; // -0 and 0 are one key
    return fmix32((u32[0]! ^ Math.imul(u32[1]!, 31)) | 0);
  }
  if (typeof key === "boolean") return key ? 0x4d2 : 0x4d5;
  if (typeof key === "bigint") return murmur3String(`n${key.toString(36)}`);
  if (typeof key === "object" && key !== null) return murmur3String(canonicalKey(key));
  throw new InvalidArgumentError(
    `cannot hash key ${String(key)} (${key === null ? "null" : typeof key}); a key selector must return a string, number, boolean, bigint, or an array/plain object of those`,
  );
}

/** A canonical text form of a composite key, used for hashing and equality of array/object keys. */
export function canonicalKey(key: unknown): string {
  if (typeof key === "string") return JSON.stringify(key);
  if (typeof key === "number" || typeof key === "boolean") return String(key === 0 ? 0 : key);
  if (typeof key === "bigint") return `${key}n`;
  if (Array.isArray(key)) return `[${key.map(canonicalKey).join(",")}]`;
  if (key !== null && typeof key === "object" && Object.getPrototypeOf(key) === Object.prototype) {
    const o = key as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalKey(o[k])}`)
      .join(",")}}`;
  }
  throw new InvalidArgumentError(
    `cannot use ${key === null ? "null" : typeof key} as (part of) a key; keys are strings, numbers, booleans, bigints, or arrays/plain objects of those`,
  );
}

export function assignToKeyGroup(key: unknown, maxParallelism: number): number {
  return hashKey(key) % maxParallelism;
}

/** The subtask that owns a key group (the inverse of keyGroupRangeFor). */
export function operatorIndexForKeyGroup(
  maxParallelism: number,
  parallelism: number,
  keyGroup: number,
): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

/** An inclusive range of key groups [start, end]; empty when end < start. */
export interface KeyGroupRange {
  readonly start: number;
  readonly end: number;
}

/** The contiguous key-group range owned by subtask `index` of `parallelism`. */
export function keyGroupRangeFor(maxParallelism: number, parallelism: number, index: number): KeyGroupRange {
  checkParallelism(maxParallelism, parallelism);
  const start = Math.floor((index * maxParallelism + parallelism - 1) / parallelism);
  const end = Math.floor(((index + 1) * maxParallelism - 1) / parallelism);
  return { start, end };
}

export function checkParallelism(maxParallelism: number, parallelism: number): void {
  if (
    !Number.isInteger(maxParallelism) ||
    maxParallelism < 1 ||
    maxParallelism > UPPER_BOUND_MAX_PARALLELISM
  ) {
    throw new InvalidArgumentError(
      `max parallelism must be an integer in 1..${UPPER_BOUND_MAX_PARALLELISM}, got ${maxParallelism}`,
    );
  }
  if (parallelism > maxParallelism) {
    throw new InvalidArgumentError(
      `parallelism ${parallelism} exceeds max parallelism ${maxParallelism}; raise maxParallelism (it bounds how far keyed state can scale)`,
    );
  }
}
