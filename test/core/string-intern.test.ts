// Interned short strings of the decoders: the same bytes give the same string object (so keyed
// state finds its entry by identity), different bytes never give a cached string of other bytes,
// and what cannot be interned (non-ASCII, long) decodes as before.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import { Types } from "../../src/core/types/index.ts";
import { MAX_INTERNED_BYTES, readInternedAscii } from "../../src/core/types/string-intern.ts";

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe("interned strings", () => {
  it("the same bytes give the same string; other bytes give their own", () => {
    const words = Array.from({ length: 100_000 }, (_, i) => `w${(i * 2654435761) % 1_000_003}`);
    const first = new Map<string, string>();
    for (const w of words) {
      const s = readInternedAscii(ascii(` ${w} `), 1, w.length)!;
      assert.equal(s, w);
      if (!first.has(w)) first.set(w, s);
    }
    // Recently read strings come back as the very same object.
    const again = readInternedAscii(ascii(words[words.length - 1]!), 0, words[words.length - 1]!.length);
    assert.ok(Object.is(again, first.get(words[words.length - 1]!)));
    assert.equal(readInternedAscii(ascii(""), 0, 0), "");
  });

  it("non-ASCII bytes are not interned; every ASCII byte, 0x7f included, is", () => {
    assert.equal(readInternedAscii(Uint8Array.from([0x61, 0xc3, 0xa9]), 0, 3), undefined);
    assert.equal(readInternedAscii(Uint8Array.from([0x61, 0x80]), 0, 2), undefined);
    assert.equal(readInternedAscii(Uint8Array.from([0x7f, 0x00, 0x61]), 0, 3), "\x7f\x00a");
  });

  it("a cached string is returned only for its own bytes, never for others of its cache set", () => {
    // Before each read of "x"+abc stands the fixed string "xzyw" in the cache, and the bytes before
    // the read are "wyz": a lookup comparing the wrong bytes of a same-set neighbour would answer
    // "xzyw" for every one of the 64^3 words that falls in its set (about 16 of them).
    const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    const buf = ascii("wyzx___");
    const fixed = ascii("xzyw");
    for (const a of alphabet)
      for (const b of alphabet)
        for (const c of alphabet) {
          assert.equal(readInternedAscii(fixed, 0, 4), "xzyw");
          buf[4] = a.charCodeAt(0);
          buf[5] = b.charCodeAt(0);
          buf[6] = c.charCodeAt(0);
          const s = readInternedAscii(buf, 3, 4);
          if (s !== `x${a}${b}${c}`) assert.fail(`x${a}${b}${c} read as ${s}`);
        }
  });

  it("OBJECT records decode their strings (short, long, non-ASCII, empty) unchanged", () => {
    const type = Types.OBJECT({ word: Types.STRING, n: Types.INT });
    const ser = type.createSerializer();
    const values = [
      "",
      "a",
      "key:1",
      "x".repeat(MAX_INTERNED_BYTES),
      "y".repeat(MAX_INTERNED_BYTES + 1),
      "café",
      "日本",
    ];
    for (const word of [...values, ...values]) {
      const out = new DataOutputSerializer(64);
      ser.write({ word, n: 7 }, out);
      const input = new DataInputDeserializer(out.view(), 0, out.position);
      assert.deepEqual(ser.read(input), { word, n: 7 });
      assert.equal(input.remaining(), 0);
    }
  });
});
