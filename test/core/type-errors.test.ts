// The messages of ValueSerializationError (src/core/types/type-info.ts): what a user reads when a
// record does not fit its type — where (the field path, the type, both shortened past a limit),
// what was found (a short description of the value) and the hint.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SerializationError } from "../../src/core/errors.ts";
import {
  className,
  describeObjectKind,
  describeValue,
  mismatch,
  nameKey,
  propertySegment,
  TypeInformation,
  ValueSerializationError,
  withinField,
} from "../../src/core/types/type-info.ts";
import { Types } from "../../src/core/types/types.ts";

describe("describeValue", () => {
  it("strings up to 40 characters whole, longer ones cut with their length", () => {
    const forty = "s".repeat(40);
    assert.equal(describeValue(forty), `string "${forty}"`);
    assert.equal(describeValue(`${forty}t`), `string "${forty}..." (41 chars)`);
    assert.equal(describeValue('a"b'), 'string "a\\"b"');
  });

  it("numbers, bigints (40 digits at most), booleans, symbols, undefined, null, arrays", () => {
    assert.equal(describeValue(1.5), "number 1.5");
    assert.equal(describeValue(Number.NaN), "number NaN");
    assert.equal(describeValue(12n), "bigint 12n");
    assert.equal(describeValue(10n ** 45n), `bigint 1${"0".repeat(39)}n`);
    assert.equal(describeValue(true), "boolean true");
    assert.equal(describeValue(false), "boolean false");
    assert.equal(describeValue(Symbol("tag")), "symbol tag");
    assert.equal(describeValue(Symbol()), "symbol ");
    assert.equal(describeValue(undefined), "undefined");
    assert.equal(describeValue(null), "null");
    assert.equal(describeValue([1, 2, 3]), "an array of length 3");
  });

  it("objects by kind: plain, built-in containers, class instances", () => {
    class Person {}
    const Anonymous = (() => class {})();
    assert.equal(describeValue({ a: 1 }), "a plain object");
    assert.equal(describeValue(Object.create(null)), "a plain object");
    assert.equal(describeValue(new Map()), "a Map");
    assert.equal(describeValue(new Set()), "a Set");
    assert.equal(describeValue(new Date(0)), "a Date");
    assert.equal(describeValue(new Uint8Array(1)), "a Uint8Array");
    assert.equal(describeValue(new Int16Array(1)), "an instance of class Int16Array");
    assert.equal(describeValue(new Person()), "an instance of class Person");
    assert.equal(describeObjectKind(new Anonymous()), "an instance of class (anonymous)");
    assert.equal(className(Object.create(null)), "(anonymous)");
    assert.equal(className(Object.create({ constructor: 5 })), "(anonymous)");
    assert.equal(className(new Person()), "Person");
  });
});

describe("ValueSerializationError messages", () => {
  it("a whole value, a field, and a GENERIC value's path", () => {
    const whole = new ValueSerializationError("INT", "expected an integer", "fix it");
    assert.equal(whole.message, "value of Types.INT: expected an integer; fix it");
    assert.ok(whole instanceof SerializationError);
    const field = new ValueSerializationError("INT", "bad", "hint").within(".price", "OBJECT({price: INT})");
    assert.equal(field.message, "field 'price' of Types.OBJECT({price: INT}): bad; hint");
    assert.equal(field.path, ".price");
    const nested = field.within("[3]", "ARRAY(OBJECT({price: INT}))");
    assert.equal(nested.message, "field '[3].price' of Types.ARRAY(OBJECT({price: INT})): bad; hint");
    const generic = new ValueSerializationError("GENERIC", "bad", "hint", "[0].a");
    assert.equal(generic.message, "value[0].a: bad; hint");
    assert.equal(new ValueSerializationError("GENERIC", "bad", "hint").message, "value: bad; hint");
  });

  it("type names longer than 160 characters are cut to 160", () => {
    const at = (n: number) => `X${"y".repeat(n - "Types.X".length)}`;
    const exact = at(160);
    assert.equal(new ValueSerializationError(exact, "d", "h").message, `value of Types.${exact}: d; h`);
    const longer = at(161);
    const msg = new ValueSerializationError(longer, "d", "h").message;
    assert.equal(msg, `value of ${`Types.${longer}`.slice(0, 157)}...: d; h`);
  });

  it("withinField adds the segment to value errors only", () => {
    const e = new ValueSerializationError("INT", "d", "h");
    assert.equal(withinField(e, ".x", "OBJECT({x: INT})"), e);
    assert.equal(e.path, ".x");
    const other = new Error("boom");
    assert.equal(withinField(other, ".x", "T"), other);
    assert.equal(other.message, "boom");
  });

  it("mismatch: a missing field and a wrong value, with default or given hints", () => {
    const missing = mismatch("STRING", "a string", undefined);
    assert.equal(
      missing.message,
      "value of Types.STRING: expected a string, got undefined (the field is missing); set the field before this operator, or declare it with Types.NULLABLE(...) if it may be absent",
    );
    assert.match(mismatch("STRING", "a string", undefined, "my hint").message, /missing\); my hint$/);
    const wrong = mismatch("STRING", "a string", 5);
    assert.equal(
      wrong.message,
      "value of Types.STRING: expected a string, got number 5; declare the field's type correctly or convert the value before this operator",
    );
    assert.match(mismatch("STRING", "a string", 5, "my hint").message, /got number 5; my hint$/);
  });

  it("path segments and key names: identifiers bare, other keys quoted", () => {
    assert.equal(propertySegment("price"), ".price");
    assert.equal(propertySegment("_a$1"), "._a$1");
    assert.equal(propertySegment("1a"), '["1a"]');
    assert.equal(propertySegment("a b"), '["a b"]');
    assert.equal(propertySegment(""), '[""]');
    assert.equal(nameKey("price"), "price");
    assert.equal(nameKey("a-b"), '"a-b"');
  });

  it("a type's toString is its name under Types", () => {
    assert.equal(String(Types.STRING), "Types.STRING");
    class Custom extends TypeInformation<number> {
      readonly name = "CUSTOM";
      createSerializer(): never {
        throw new Error("unused");
      }
    }
    assert.equal(`${new Custom()}`, "Types.CUSTOM");
  });
});

describe("type constructors refuse what is not a type", () => {
  // A misspelt Types.X is undefined: named where it is passed, not as a TypeError on first use.
  const notAType = (f: () => unknown, message: string) =>
    assert.throws(
      f,
      (e: unknown) => e instanceof Error && e.name === "InvalidArgumentError" && e.message === message,
    );
  it("OBJECT, TUPLE, ARRAY, MAP and NULLABLE each name the argument", () => {
    notAType(
      () => Types.OBJECT({ a: Types.STRING, b: "string" as never }),
      'Types.OBJECT: field "b" is string "string", not a type; use Types.STRING, Types.NUMBER, ...',
    );
    notAType(
      () => Types.TUPLE(Types.STRING, undefined as never),
      "Types.TUPLE: element 1 is undefined, not a type",
    );
    notAType(
      () => Types.ARRAY(undefined as never),
      "Types.ARRAY: the element type is undefined, not a type; use Types.STRING, Types.NUMBER, ...",
    );
    notAType(
      () => Types.MAP(5 as never, Types.STRING),
      "Types.MAP: the key type is number 5, not a type; use Types.STRING, Types.NUMBER, ...",
    );
    notAType(
      () => Types.MAP(Types.STRING, null as never),
      "Types.MAP: the value type is null, not a type; use Types.STRING, Types.NUMBER, ...",
    );
    notAType(
      () => Types.NULLABLE({} as never),
      "Types.NULLABLE: the type is a plain object, not a type; use Types.STRING, Types.NUMBER, ...",
    );
    assert.equal(
      Types.MAP(Types.STRING, Types.ARRAY(Types.NULLABLE(Types.NUMBER))).name,
      "MAP(STRING, ARRAY(NULLABLE(NUMBER)))",
    );
  });
});
