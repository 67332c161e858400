// The rules of restoring a state under a changed declaration (state-meta.ts), one by one on plain
// stored values: what reads as it is (no per-value work), what migrates and into what, what is
// refused and how the refusal reads. Nested containers follow the record rule at every level.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ListStateDescriptor,
  MapStateDescriptor,
  type StateDescriptor,
  StateMigrationError,
  StateTtlConfig,
  ValueStateDescriptor,
} from "../../src/core/state.ts";
import type { TypeInformation } from "../../src/core/types/type-info.ts";
import { Types } from "../../src/core/types/types.ts";
import { metaOf, planStateRestore, RestoredStateMeta, shapeOf } from "../../src/state/state-meta.ts";

const NOW = () => 42;

function value(t: TypeInformation<unknown>): StateDescriptor<unknown> {
  return new ValueStateDescriptor<unknown>("s", t);
}

/** The plan for a value state written as `from` and registered as `to`. */
function plan(from: TypeInformation<unknown>, to: TypeInformation<unknown>) {
  return planStateRestore(metaOf(value(from)), value(to), NOW);
}

function refused(from: TypeInformation<unknown>, to: TypeInformation<unknown>, message: RegExp): void {
  assert.throws(
    () => plan(from, to),
    (e: unknown) => e instanceof StateMigrationError && message.test((e as Error).message),
  );
}

const A = Types.OBJECT({ a: Types.INT });
const AB = Types.OBJECT({ a: Types.INT, b: Types.NULLABLE(Types.STRING) });

describe("state-meta: what a checkpoint records", () => {
  it("shapes name every container's structure", () => {
    assert.deepEqual(
      shapeOf(
        Types.OBJECT({
          t: Types.TUPLE(Types.INT, Types.STRING),
          l: Types.ARRAY(Types.BOOLEAN),
          m: Types.MAP(Types.STRING, Types.NUMBER),
          n: Types.NULLABLE(Types.BIGINT),
          g: Types.GENERIC,
        }),
      ),
      {
        object: [
          ["t", { tuple: ["INT", "STRING"] }],
          ["l", { array: "BOOLEAN" }],
          ["m", { map: ["STRING", "NUMBER"] }],
          ["n", { nullable: "BIGINT" }],
          ["g", "GENERIC"],
        ],
      },
    );
  });

  it("records kind, types (a map state's key type too) and TTL", () => {
    assert.deepEqual(metaOf(new ValueStateDescriptor("v")), { kind: "value", ttl: false });
    assert.deepEqual(metaOf(new ListStateDescriptor("l", Types.INT)), {
      kind: "list",
      type: "INT",
      ttl: false,
    });
    assert.deepEqual(metaOf(new MapStateDescriptor("m", Types.STRING, Types.INT)), {
      kind: "map",
      type: "INT",
      keyType: "STRING",
      ttl: false,
    });
    const ttl = new ValueStateDescriptor("v", Types.INT).enableTimeToLive(
      StateTtlConfig.newBuilder(10).build(),
    );
    assert.equal(metaOf(ttl).ttl, true);
    // A value state has no key type even when its descriptor is a map's sibling.
    assert.equal("keyType" in metaOf(new ValueStateDescriptor("v", Types.INT)), false);
  });
});

describe("state-meta: read as it is", () => {
  for (const [from, to, why] of [
    [A, A, "the same type"],
    [Types.INT, Types.NUMBER, "INT as NUMBER"],
    [Types.INT, Types.NULLABLE(Types.INT), "a type made nullable"],
    [A, Types.GENERIC, "GENERIC now"],
    [Types.GENERIC, A, "GENERIC before"],
    [
      Types.OBJECT({ a: Types.INT, b: Types.STRING }),
      Types.OBJECT({ b: Types.STRING, a: Types.INT }),
      "fields reordered",
    ],
    [Types.ARRAY(Types.INT), Types.ARRAY(Types.NUMBER), "array elements widened"],
    [Types.TUPLE(Types.INT, Types.STRING), Types.TUPLE(Types.NUMBER, Types.STRING), "tuple elements widened"],
    [Types.MAP(Types.STRING, Types.INT), Types.MAP(Types.STRING, Types.NUMBER), "map values widened"],
    [Types.NULLABLE(A), Types.NULLABLE(A), "the same nullable"],
  ] as Array<[TypeInformation<unknown>, TypeInformation<unknown>, string]>) {
    it(why, () => assert.equal(plan(from, to), null));
  }
  it("an undeclared type on either side", () => {
    assert.equal(planStateRestore(metaOf(new ValueStateDescriptor("s")), value(A), NOW), null);
    assert.equal(planStateRestore(metaOf(value(A)), new ValueStateDescriptor("s"), NOW), null);
  });
});

describe("state-meta: migrated", () => {
  it("records nested in arrays, tuples, maps and nullables gain and lose fields", () => {
    const m = plan(Types.ARRAY(A), Types.ARRAY(AB))!;
    assert.deepEqual(m([{ a: 1 }, { a: 2 }]), [
      { a: 1, b: null },
      { a: 2, b: null },
    ]);
    const t = plan(Types.TUPLE(Types.STRING, A), Types.TUPLE(Types.STRING, AB))!;
    assert.deepEqual(t(["x", { a: 3 }]), ["x", { a: 3, b: null }]);
    const mp = plan(Types.MAP(Types.STRING, A), Types.MAP(Types.STRING, AB))!;
    assert.deepEqual(mp(new Map([["k", { a: 4 }]])), new Map([["k", { a: 4, b: null }]]));
    const n = plan(Types.NULLABLE(A), Types.NULLABLE(AB))!;
    assert.deepEqual(n({ a: 5 }), { a: 5, b: null });
    assert.equal(n(null), null);
    assert.equal(n(undefined), undefined);
    const widened = plan(A, Types.NULLABLE(AB))!;
    assert.deepEqual(widened({ a: 6 }), { a: 6, b: null });
    const deep = plan(
      Types.OBJECT({ in: A, keep: Types.STRING }),
      Types.OBJECT({ in: AB, keep: Types.STRING }),
    )!;
    assert.deepEqual(deep({ in: { a: 7 }, keep: "k" }), { in: { a: 7, b: null }, keep: "k" });
  });

  it("a field removed is dropped; a GENERIC field added is left out; an absent nullable field stays absent", () => {
    const m = plan(
      Types.OBJECT({ a: Types.INT, gone: Types.STRING, maybe: Types.NULLABLE(Types.INT) }),
      Types.OBJECT({ a: Types.INT, maybe: Types.NULLABLE(Types.INT), any: Types.GENERIC }),
    )!;
    assert.deepEqual(m({ a: 1, gone: "x", maybe: 2 }), { a: 1, maybe: 2 });
    assert.deepEqual(m({ a: 1, gone: "x" }), { a: 1 });
    // Not a record (a bad value of an untyped past): handed on for the serializer to judge.
    assert.equal(m(null), null);
    assert.equal(m(7), 7);
  });

  it("values that are not of their container's kind are handed on as they are", () => {
    assert.equal(plan(Types.ARRAY(A), Types.ARRAY(AB))!("x"), "x");
    assert.equal(plan(Types.TUPLE(A), Types.TUPLE(AB))!("x"), "x");
    assert.equal(plan(Types.MAP(Types.STRING, A), Types.MAP(Types.STRING, AB))!("x"), "x");
  });

  it("only the tuple positions that changed are rewritten", () => {
    const t = plan(Types.TUPLE(A, A), Types.TUPLE(A, AB))!;
    const first = { a: 1 };
    const out = t([first, { a: 2 }]) as unknown[];
    assert.equal(out[0], first);
    assert.deepEqual(out[1], { a: 2, b: null });
  });

  it("TTL: turned on wraps with the clock, kept keeps the timestamp, turned off unwraps; by kind", () => {
    const ttl = StateTtlConfig.newBuilder(10).build();
    const on = planStateRestore(metaOf(value(A)), value(AB).enableTimeToLive(ttl), NOW)!;
    assert.deepEqual(on({ a: 1 }), { v: { a: 1, b: null }, ts: 42 });
    const kept = planStateRestore(
      metaOf(value(A).enableTimeToLive(ttl)),
      value(AB).enableTimeToLive(ttl),
      NOW,
    )!;
    assert.deepEqual(kept({ v: { a: 1 }, ts: 7 }), { v: { a: 1, b: null }, ts: 7 });
    const off = planStateRestore(metaOf(value(A).enableTimeToLive(ttl)), value(A), NOW)!;
    assert.deepEqual(off({ v: { a: 1 }, ts: 7 }), { a: 1 });
    assert.equal(
      planStateRestore(metaOf(value(A).enableTimeToLive(ttl)), value(A).enableTimeToLive(ttl), NOW),
      null,
    );

    const list = planStateRestore(
      metaOf(new ListStateDescriptor("s", A)),
      new ListStateDescriptor("s", A).enableTimeToLive(ttl),
      NOW,
    )!;
    assert.deepEqual(list([{ a: 1 }]), [{ v: { a: 1 }, ts: 42 }]);
    const map = planStateRestore(
      metaOf(new MapStateDescriptor("s", Types.STRING, A)),
      new MapStateDescriptor("s", Types.STRING, AB),
      NOW,
    )!;
    assert.deepEqual(map(new Map([["k", { a: 1 }]])), new Map([["k", { a: 1, b: null }]]));
  });
});

describe("state-meta: refused", () => {
  it("names the field, the old and the new type in the user's spelling", () => {
    refused(
      Types.NULLABLE(Types.INT),
      Types.INT,
      /the value was Types\.NULLABLE\(Types\.INT\) and is now Types\.INT: restored values may be null/,
    );
    refused(
      Types.TUPLE(Types.INT),
      Types.TUPLE(Types.INT, Types.INT),
      /Types\.TUPLE\(Types\.INT\) and cannot be read as Types\.TUPLE\(Types\.INT, Types\.INT\)/,
    );
    refused(
      Types.ARRAY(Types.STRING),
      Types.ARRAY(Types.INT),
      /field '\[\]' was written as Types\.STRING and cannot be read as Types\.INT/,
    );
    refused(
      Types.MAP(Types.STRING, Types.INT),
      Types.MAP(Types.INT, Types.INT),
      /the keys of a Types\.MAP cannot be migrated \(Types\.STRING to Types\.INT\)/,
    );
    refused(
      Types.OBJECT({ x: A }),
      Types.OBJECT({ x: Types.OBJECT({ a: Types.INT, c: Types.INT }) }),
      /field 'x\.c' \(Types\.INT\) is new/,
    );
    refused(
      Types.ARRAY(Types.INT),
      Types.MAP(Types.STRING, Types.INT),
      /Types\.ARRAY\(Types\.INT\) and cannot be read as Types\.MAP\(Types\.STRING, Types\.INT\)/,
    );
    refused(
      Types.STRING,
      Types.OBJECT({ a: Types.INT }),
      /Types\.STRING and cannot be read as Types\.OBJECT\(\{a: Types\.INT\}\)/,
    );
  });

  it("a map state's key type, and every kind change", () => {
    assert.throws(
      () =>
        planStateRestore(
          metaOf(new MapStateDescriptor("m", Types.STRING, Types.INT)),
          new MapStateDescriptor("m", Types.NUMBER, Types.INT),
          NOW,
        ),
      /state 'm' cannot be restored: its map keys were Types\.STRING and are now Types\.NUMBER/,
    );
    // INT keys read as NUMBER: the same keys.
    assert.equal(
      planStateRestore(
        metaOf(new MapStateDescriptor("m", Types.INT, Types.INT)),
        new MapStateDescriptor("m", Types.NUMBER, Types.INT),
        NOW,
      ),
      null,
    );
    assert.throws(
      () => planStateRestore(metaOf(new ListStateDescriptor("s", Types.INT)), value(Types.INT), NOW),
      /written as list state and is now registered as value state/,
    );
  });
});

describe("state-meta: records by key-group range", () => {
  it("a backend's checkpoint writes its registered states over what it restored for other names", () => {
    const r = new RestoredStateMeta(10, 19);
    assert.deepEqual(r.snapshot({}), []);
    const x = metaOf(value(A));
    assert.deepEqual(r.snapshot({ x }), [[10, 19, { x }]]);
    const old = metaOf(value(Types.INT));
    const other = metaOf(new ListStateDescriptor("o", Types.INT));
    r.restore([
      [0, 12, { x: old, o: other }],
      [13, 15, { o: other }],
      [16, 40, { x: old }],
    ]);
    assert.deepEqual(r.snapshot({}), [
      [10, 12, { x: old, o: other }],
      [13, 15, { o: other }],
      [16, 19, { x: old }],
    ]);
    // Key groups without a record (restored only in part): the registered states alone.
    const part = new RestoredStateMeta(10, 19);
    part.restore([[0, 12, { o: other }]]);
    assert.deepEqual(part.snapshot({ x }), [
      [10, 12, { o: other, x }],
      [13, 19, { x }],
    ]);
    assert.deepEqual(part.snapshot({}), [[10, 12, { o: other }]]);
    // Registered x replaces what was restored of it everywhere.
    assert.deepEqual(r.snapshot({ x }), [
      [10, 12, { o: other, x }],
      [13, 15, { o: other, x }],
      [16, 19, { x }],
    ]);
  });

  it("plans by key group: each group by its own record, none where nothing was recorded", () => {
    const r = new RestoredStateMeta(0, 3);
    r.restore([
      [0, 0, { s: metaOf(value(A)) }],
      [1, 1, { s: metaOf(value(AB)) }],
      [2, 2, { t: metaOf(value(A)) }],
    ]);
    const plans = r.plansFor(value(AB), NOW)!;
    assert.deepEqual(plans(0)!({ a: 1 }), { a: 1, b: null });
    assert.equal(plans(1), null);
    assert.equal(plans(2), null);
    assert.equal(plans(3), null);
    // Nothing to migrate anywhere: no plan at all.
    assert.equal(new RestoredStateMeta(0, 3).plansFor(value(AB), NOW), null);
    const same = new RestoredStateMeta(0, 3);
    same.restore([[0, 3, { s: metaOf(value(AB)) }]]);
    assert.equal(same.plansFor(value(AB), NOW), null);
  });

  it("an incompatible record in any key group refuses the state, also after an earlier answer", () => {
    const r = new RestoredStateMeta(0, 3);
    r.restore([[3, 3, { s: metaOf(value(Types.STRING)) }]]);
    assert.throws(() => r.plansFor(value(AB), NOW), StateMigrationError);
    const again = new RestoredStateMeta(0, 3);
    assert.equal(again.plansFor(value(AB), NOW), null);
    again.restore([[0, 0, { s: metaOf(value(Types.STRING)) }]]);
    assert.throws(() => again.plansFor(value(AB), NOW), StateMigrationError);
    // A restore in parts (one call per old subtask): an answer given between them is not kept.
    const parts = new RestoredStateMeta(0, 3);
    parts.restore([[0, 1, { s: metaOf(value(AB)) }]]);
    assert.equal(parts.plansFor(value(AB), NOW), null);
    parts.restore([[2, 3, { s: metaOf(value(A)) }]]);
    assert.deepEqual(parts.plansFor(value(AB), NOW)!(3)!({ a: 1 }), { a: 1, b: null });
  });
});
