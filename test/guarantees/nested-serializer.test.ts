// The generated OBJECT/TUPLE serializers after a nested field that grew the output buffer: a
// nested serializer (ARRAY(STRING), MAP, an inner OBJECT) writes through the output and may
// replace its buffer (a long string reserves 3 bytes per char, more than it uses). The primitive
// fields written after it must go to the new buffer: every record round-trips exactly, from a
// small output and from one reused across records.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import type { TypeInformation } from "../../src/core/types/type-info.ts";
import { Types } from "../../src/index.ts";

function roundTrip<T>(type: TypeInformation<T>, values: T[], initialSize: number): T[] {
  const ser = type.createSerializer();
  const out = new DataOutputSerializer(initialSize);
  const offsets: number[] = [];
  for (const v of values) {
    offsets.push(out.position);
    ser.write(v, out);
  }
  const bytes = out.buffer.subarray(0, out.position);
  const input = new DataInputDeserializer(bytes, 0, bytes.length);
  const back: T[] = [];
  for (let i = 0; i < values.length; i++) {
    assert.equal(input.position, offsets[i], `record ${i} starts where it was written`);
    back.push(ser.read(input));
  }
  assert.equal(input.position, bytes.length);
  return back;
}

const long = (n: number) => "é".repeat(n); // 2 UTF-8 bytes per char, 3 reserved
/**
 * Lengths of the nested string: ASCII strings use 1 byte per char but reserve 3, so a string of
 * between a third of the buffer and the whole of it grows the buffer while the bytes written
 * still fit in the old one (where a stale reference would write the next fields unnoticed).
 */
const LENGTHS = [0, 10, 100, 500, 1000, 1400, 2000, 3000, 4000, 5000, 20_000, 70_000];

describe("generated serializers after a nested field that grew the buffer", () => {
  const objectType = Types.OBJECT({
    id: Types.INT,
    tags: Types.ARRAY(Types.STRING),
    price: Types.NUMBER,
    count: Types.INT,
    ok: Types.BOOLEAN,
    name: Types.STRING,
    at: Types.DATE,
  });
  const record = (i: number, text: string) => ({
    id: i,
    tags: ["a", text, "b"],
    price: i + 0.25,
    count: -i * 1000,
    ok: i % 2 === 0,
    name: `n${i}`,
    at: new Date(1_700_000_000_000 + i),
  });

  for (const initialSize of [1, 64, 4096]) {
    it(`OBJECT: primitives after ARRAY(STRING) with a long string (output of ${initialSize} bytes)`, () => {
      for (const len of LENGTHS) {
        for (const text of ["x".repeat(len), long(len)]) {
          // Alone in a new output, and after other records in one output.
          const one = [record(1, text)];
          assert.deepEqual(roundTrip(objectType, one, initialSize), one, `a string of ${len} chars`);
          const many = [record(2, "abc"), record(3, text), record(4, ""), record(5, text)];
          assert.deepEqual(roundTrip(objectType, many, initialSize), many, `a string of ${len} chars`);
        }
      }
    });
  }

  it("TUPLE: primitives after a nested OBJECT and a MAP that grew the buffer", () => {
    const tupleType = Types.TUPLE(
      Types.STRING,
      Types.OBJECT({ s: Types.STRING, xs: Types.ARRAY(Types.STRING) }),
      Types.NUMBER,
      Types.MAP(Types.STRING, Types.STRING),
      Types.INT,
      Types.BOOLEAN,
    );
    const values = [1, 2, 3].map(
      (i) =>
        [
          `t${i}`,
          { s: long(i * 3000), xs: [long(i * 100)] },
          i / 3,
          new Map([[long(2000), long(i * 4000)]]),
          i * 7,
          i === 2,
        ] as const,
    );
    assert.deepEqual(
      roundTrip(tupleType as TypeInformation<unknown>, values as unknown as unknown[], 16),
      values,
    );
  });
});
