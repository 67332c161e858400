// Error-message helpers of the type system at their edges: describeValue of -0 and of named and
// anonymous functions, a value's path shortened only past 300 characters, and reading interned
// ASCII that stops at its last byte (the byte after it is not looked at); and a compiled OBJECT
// serializer hinting at Types.NUMBER only for a non-integer number in an INT field.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataOutputSerializer } from "../../src/core/data-io.ts";
import { readInternedAscii } from "../../src/core/types/string-intern.ts";
import { ValueSerializationError, describeValue } from "../../src/core/types/type-info.ts";
import { Types } from "../../src/core/types/types.ts";

describe("type-info edges", () => {
  it("describeValue tells -0 from 0 and names functions", () => {
    assert.equal(describeValue(-0), "number -0");
    assert.equal(describeValue(0), "number 0");
    function priceOf() {}
    assert.equal(describeValue(priceOf), "function priceOf");
    assert.equal(
      describeValue(
        (() => () => {})(), // an arrow function returned from a call has no name
      ),
      "function (anonymous)",
    );
  });

  it("a GENERIC value's path is shortened only when longer than 300 characters", () => {
    const exact = `.${"a".repeat(299)}`;
    const e = new ValueSerializationError("GENERIC", "is bad", "fix it", exact);
    assert.ok(e.message.includes(`value${exact}`), "a 300-character path is shown whole");
    const longer = `${exact}b`;
    const f = new ValueSerializationError("GENERIC", "is bad", "fix it", longer);
    assert.ok(f.message.includes(`value${longer.slice(0, 150)}...${longer.slice(-150)}`));
  });

  it("readInternedAscii reads exactly n bytes, whatever follows them", () => {
    const buf = Uint8Array.from([97, 98, 99, 200]);
    assert.equal(readInternedAscii(buf, 0, 3), "abc");
    assert.equal(readInternedAscii(buf, 0, 4), undefined, "200 is not ASCII");
  });
});

describe("compiled OBJECT serializers: the INT hint", () => {
  const write = (v: unknown): string => {
    const s = Types.OBJECT({ n: Types.INT, x: Types.NUMBER }).createSerializer();
    try {
      s.write(v as never, new DataOutputSerializer(64));
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };

  it("hints at Types.NUMBER only for a number that is not an integer in an INT field", () => {
    assert.match(write({ n: 1.5, x: 1 }), /use Types\.NUMBER/);
    const notANumber = write({ n: "7", x: 1 });
    assert.match(notANumber, /field 'n'/);
    assert.doesNotMatch(notANumber, /use Types\.NUMBER/);
    const otherField = write({ n: 1, x: "y" });
    assert.match(otherField, /field 'x'/);
    assert.doesNotMatch(otherField, /use Types\.NUMBER/);
  });
});
