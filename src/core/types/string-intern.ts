// Interned short strings for decoders. Keys and other short strings repeat from record to record;
// decoding each one afresh allocates a new string that V8 must hash again (and compare character by
// character) at every Map lookup of keyed state. A decoder that reads a short ASCII string through
// readInternedAscii gets the same string object each time the same bytes come: its hash is computed
// once, and a state lookup finds its entry by identity. A 2-way set-associative cache of 32,768
// slots (256 KiB), per thread; a miss costs one hash of the bytes and builds the string as before.

/** Strings of at most this many bytes are interned. */
export const MAX_INTERNED_BYTES = 32;
const SETS = 1 << 14;
const cache: string[] = new Array<string>(SETS * 2).fill("");
/** Per set: which of its two slots the next miss replaces. */
const victim = new Uint8Array(SETS);

/**
 * The ASCII string of `buf[from..from+n)` (n ≤ MAX_INTERNED_BYTES), the same object as the last
 * time these bytes were read while it stays cached; undefined when a byte is not ASCII.
 */
export function readInternedAscii(buf: Uint8Array, from: number, n: number): string | undefined {
  const to = from + n;
  let h = n;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c > 127) return undefined;
    h = (Math.imul(h, 0x01000193) ^ c) | 0;
  }
  const set = ((h ^ (h >>> 15)) & (SETS - 1)) << 1;
  const a = cache[set]!;
  if (a.length === n && sameAscii(a, buf, from, n)) return a;
  const b = cache[set + 1]!;
  if (b.length === n && sameAscii(b, buf, from, n)) return b;
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(buf[i]!);
  const v = victim[set >> 1]!;
  cache[set + v] = s;
  victim[set >> 1] = v ^ 1;
  return s;
}

function sameAscii(s: string, buf: Uint8Array, from: number, n: number): boolean {
  for (let j = 0; j < n; j++) if (s.charCodeAt(j) !== buf[from + j]) return false;
  return true;
}
