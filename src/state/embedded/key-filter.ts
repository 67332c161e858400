// A Bloom filter of the keys an embedded store has written to LMDB, so that a read of a key that
// was never written (the first record of a new key: every record of a job that keeps creating
// keys) is answered without a B-tree lookup in the memory-mapped file. A fixed number of bits,
// taken from the store's managed memory: false positives (a lookup that finds nothing) grow with
// the keys, never false negatives. Deleted keys stay in the filter (it cannot forget), which only
// costs a lookup.

/** Probes per key: near the optimum for ~10-16 bits per key. */
const PROBES = 7;

export class KeyFilter {
  private readonly bits: Uint32Array;
  private readonly mask: number;

  /** A filter of the largest power-of-two number of bytes within `bytes` (at least 64). */
  constructor(bytes: number) {
    let size = 64;
    while (size * 2 <= bytes) size *= 2;
    this.bits = new Uint32Array(size / 4);
    this.mask = size * 8 - 1;
  }

  /** Bytes the filter holds. */
  get byteLength(): number {
    return this.bits.byteLength;
  }

  /** Records the key whose latin1 text is `ck`. */
  add(ck: string): void {
    const bits = this.bits;
    const mask = this.mask;
    let h1 = hash1(ck);
    const h2 = hash2(ck) | 1;
    for (let i = 0; i < PROBES; i++) {
      const b = h1 & mask;
      bits[b >>> 5]! |= 1 << (b & 31);
      h1 = (h1 + h2) | 0;
    }
  }

  /** add() for the key's bytes (the same bits as its latin1 text: one char per byte). */
  addBytes(key: Uint8Array): void {
    const bits = this.bits;
    const mask = this.mask;
    let h1 = hash1Bytes(key);
    const h2 = hash2Bytes(key) | 1;
    for (let i = 0; i < PROBES; i++) {
      const b = h1 & mask;
      bits[b >>> 5]! |= 1 << (b & 31);
      h1 = (h1 + h2) | 0;
    }
  }

  /** False when the key was certainly never added; true when it may have been. */
  mayContain(ck: string): boolean {
    const bits = this.bits;
    const mask = this.mask;
    let h1 = hash1(ck);
    const h2 = hash2(ck) | 1;
    for (let i = 0; i < PROBES; i++) {
      const b = h1 & mask;
      if ((bits[b >>> 5]! & (1 << (b & 31))) === 0) return false;
      h1 = (h1 + h2) | 0;
    }
    return true;
  }
}

/** FNV-1a over the char codes (bytes: the text is latin1), then a final mix. */
function hash1(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** A second, independent hash (multiply-rotate over the char codes, murmur3's finaliser). */
function hash2(s: string): number {
  let h = 0x9747b28c ^ s.length;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 15;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** hash1 over bytes (equal to hash1 of their latin1 text). */
function hash1Bytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** hash2 over bytes (equal to hash2 of their latin1 text). */
function hash2Bytes(b: Uint8Array): number {
  let h = 0x9747b28c ^ b.length;
  for (let i = 0; i < b.length; i++) {
    h = Math.imul(h ^ b[i]!, 0x5bd1e995);
    h ^= h >>> 15;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
