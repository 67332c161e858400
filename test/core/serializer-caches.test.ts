// The caches and names of the serializers: GENERIC's cache of decoded keys (a key whose hash lands
// on another key's slot is that key only when every byte matches), TUPLE's serializer made once,
// and a truncated TUPLE naming its element by index as the type does (`[1]`, not `1]`).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import { Types, type TypeInformation } from "../../src/core/types/index.ts";

function encode<T>(type: TypeInformation<T>, value: T): Uint8Array {
  const out = new DataOutputSerializer(16);
  type.createSerializer().write(value, out);
  return out.view().slice(0, out.position);
}

function decode<T>(type: TypeInformation<T>, bytes: Uint8Array): T {
  return type.createSerializer().read(new DataInputDeserializer(bytes, 0, bytes.length));
}

describe("serializer caches", () => {
  it('GENERIC: two keys of one length and one cache slot ("Aa", "BB") decode as themselves', () => {
    // Both hash to 4034 (2·31² + 65·31 + 97 = 2·31² + 66·31 + 66): the second finds the first in
    // its slot, of the same length, and must compare the bytes before taking it.
    const G = Types.GENERIC;
    const a = encode(G, { Aa: 1 });
    const b = encode(G, { BB: 2 });
    assert.deepEqual(decode(G, a), { Aa: 1 });
    assert.deepEqual(decode(G, b), { BB: 2 });
    assert.deepEqual(decode(G, a), { Aa: 1 });
    // The same in a larger object (the general path, not the small-object shapes).
    const many = (k: string): Record<string, number> => {
      const o: Record<string, number> = {};
      for (let i = 0; i < 40; i++) o[`f${i}`] = i;
      o[k] = 99;
      return o;
    };
    assert.deepEqual(decode(G, encode(G, many("Aa"))), many("Aa"));
    assert.deepEqual(decode(G, encode(G, many("BB"))), many("BB"));
  });

  it("TUPLE: the serializer is made once per type", () => {
    const t = Types.TUPLE(Types.STRING, Types.INT);
    assert.equal(t.createSerializer(), t.createSerializer());
    const o = Types.OBJECT({ a: Types.INT });
    assert.equal(o.createSerializer(), o.createSerializer());
  });

  it("a truncated TUPLE or OBJECT names the field it was reading as the type names it", () => {
    const T = Types.TUPLE(Types.STRING, Types.NUMBER);
    const full = encode(T, ["x", 1.5]);
    assert.throws(
      () => decode(T, full.slice(0, full.length - 3)),
      (e: Error) => e.message.includes("reading a field '[1]' (NUMBER) of Types.TUPLE(STRING, NUMBER)"),
    );
    const O = Types.OBJECT({ price: Types.NUMBER });
    const obj = encode(O, { price: 2.5 });
    assert.throws(
      () => decode(O, obj.slice(0, obj.length - 1)),
      (e: Error) => e.message.includes("reading a field 'price' (NUMBER) of Types.OBJECT"),
    );
  });
});
