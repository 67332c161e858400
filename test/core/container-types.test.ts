// ARRAY, MAP and NULLABLE (src/core/types/containers.ts): their exact bytes, the field paths of
// their errors (which element, which key's value — long string keys cut at 40 characters), the
// output left where it was after a refused value, and lengths larger than the record refused.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import { SerializationError } from "../../src/core/errors.ts";
import { Types } from "../../src/core/types/types.ts";
import type { TypeInformation } from "../../src/core/types/type-info.ts";

function bytes<T>(t: TypeInformation<T>, v: T): number[] {
  const out = new DataOutputSerializer(4);
  t.createSerializer().write(v, out);
  return [...out.view()];
}

function read<T>(t: TypeInformation<T>, b: number[]): T {
  const input = new DataInputDeserializer(Uint8Array.from(b), 0, b.length);
  const v = t.createSerializer().read(input);
  assert.equal(input.remaining(), 0);
  return v;
}

/** The message of the error writing `v` throws; the output must be back where the value began. */
function refusal<T>(t: TypeInformation<T>, v: unknown): string {
  const out = new DataOutputSerializer(4);
  out.writeU8(42);
  try {
    t.createSerializer().write(v as T, out);
  } catch (e) {
    assert.ok(e instanceof SerializationError);
    assert.equal(out.position, 1, "nothing of the refused value is left");
    return e.message;
  }
  assert.fail("not refused");
}

const truncated = (e: unknown) => e instanceof SerializationError && /^truncated input/.test(e.message);

describe("container types", () => {
  it("exact bytes", () => {
    assert.deepEqual(bytes(Types.ARRAY(Types.INT), [1, -1]), [2, 2, 1]);
    assert.deepEqual(bytes(Types.ARRAY(Types.INT), []), [0]);
    assert.deepEqual(bytes(Types.MAP(Types.STRING, Types.INT), new Map([["a", 1]])), [1, 1, 97, 2]);
    assert.deepEqual(bytes(Types.NULLABLE(Types.INT), null), [0]);
    assert.deepEqual(bytes(Types.NULLABLE(Types.INT), undefined), [1]);
    assert.deepEqual(bytes(Types.NULLABLE(Types.INT), 3), [2, 6]);
    assert.deepEqual(read(Types.ARRAY(Types.INT), [2, 2, 1]), [1, -1]);
    assert.deepEqual(read(Types.MAP(Types.STRING, Types.INT), [1, 1, 97, 2]), new Map([["a", 1]]));
    assert.equal(read(Types.NULLABLE(Types.INT), [0]), null);
    assert.equal(read(Types.NULLABLE(Types.INT), [1]), undefined);
    assert.equal(read(Types.NULLABLE(Types.INT), [2, 6]), 3);
  });

  it("the serializer is made once per type", () => {
    const a = Types.ARRAY(Types.INT);
    assert.equal(a.createSerializer(), a.createSerializer());
    const m = Types.MAP(Types.STRING, Types.INT);
    assert.equal(m.createSerializer(), m.createSerializer());
    const n = Types.NULLABLE(Types.INT);
    assert.equal(n.createSerializer(), n.createSerializer());
  });

  it("errors name the element or the map entry", () => {
    assert.match(
      refusal(Types.ARRAY(Types.INT), "x"),
      /^value of Types\.ARRAY\(INT\): expected an array, got string "x"/,
    );
    assert.match(refusal(Types.ARRAY(Types.INT), [1, 2, "x"]), /^field '\[2\]' of Types\.ARRAY\(INT\): /);
    const M = Types.MAP(Types.STRING, Types.INT);
    assert.match(refusal(M, {}), /expected a Map, got a plain object/);
    assert.match(
      refusal(
        M,
        new Map<unknown, unknown>([
          ["a", 1],
          [2, 1],
        ]),
      ),
      /^field 'keys\(\)\[1\]' of Types\.MAP/,
    );
    assert.match(
      refusal(
        M,
        new Map<unknown, unknown>([
          ["a", 1],
          ["b", "x"],
        ]),
      ),
      /^field 'get\("b"\)' of Types\.MAP/,
    );
    const forty = "k".repeat(40);
    assert.match(
      refusal(M, new Map<unknown, unknown>([[forty, "x"]])),
      new RegExp(`field 'get\\("${forty}"\\)'`),
    );
    assert.match(
      refusal(M, new Map<unknown, unknown>([[`${forty}!`, "x"]])),
      new RegExp(`field 'get\\("${forty}\\.\\.\\."\\)'`),
    );
    const N = Types.MAP(Types.GENERIC, Types.INT);
    assert.match(refusal(N, new Map<unknown, unknown>([[7, "x"]])), /field 'get\(7\)'/);
    assert.match(refusal(N, new Map<unknown, unknown>([[true, "x"]])), /field 'get\(true\)'/);
    assert.match(
      refusal(
        N,
        new Map<unknown, unknown>([
          ["a", 1],
          [{}, "x"],
        ]),
      ),
      /field 'get\(<key #1>\)'/,
    );
    assert.match(refusal(Types.NULLABLE(Types.INT), "x"), /^value of Types\.NULLABLE\(INT\): expected/);
  });

  it("lengths beyond the record and unknown NULLABLE tags are refused", () => {
    assert.throws(() => read(Types.ARRAY(Types.INT), [3, 2, 2]), truncated);
    assert.throws(
      () => read(Types.ARRAY(Types.INT), [128, 128, 128, 128, 1]),
      /ARRAY\(INT\) of length 268435456/,
    );
    assert.throws(() => read(Types.MAP(Types.STRING, Types.INT), [2, 1, 97]), truncated);
    assert.throws(() => read(Types.MAP(Types.STRING, Types.INT), [100]), /MAP\(STRING, INT\) of size 100/);
    assert.throws(() => read(Types.NULLABLE(Types.INT), [3]), /corrupt input at position 0: NULLABLE tag 3/);
    // empty containers at the very end of the input
    assert.deepEqual(read(Types.ARRAY(Types.INT), [0]), []);
    assert.deepEqual(read(Types.MAP(Types.STRING, Types.INT), [0]), new Map());
    // exactly as many bytes as elements is enough for one-byte elements
    assert.deepEqual(read(Types.ARRAY(Types.BOOLEAN), [2, 1, 0]), [true, false]);
    assert.deepEqual(read(Types.MAP(Types.BOOLEAN, Types.BOOLEAN), [1, 1, 0]), new Map([[true, false]]));
  });
});
