// The heap state table alone, call by call: user keys as Map keys and back (strings that look
// like escapes, composite keys with every kind of part), namespaces, the current key's Map, deletes
// that drop emptied namespaces, sizes, and copy-on-write captures: a snapshot reads each key group
// once, as it was at the capture, whatever changed since (changed, added, deleted entries and
// whole namespaces; values changed in place), while the live table sees every change.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import {
  type KeyContext,
  type MapKey,
  type Namespace,
  StateTable,
  VOID_NAMESPACE,
  checkNamespace,
  keyOfMapKey,
  mapKeyOf,
} from "../../src/state/state-table.ts";

describe("state table: keys", () => {
  it("primitives are their own Map keys; a string starting with NUL is escaped", () => {
    assert.equal(mapKeyOf("a"), "a");
    assert.equal(mapKeyOf(""), "");
    assert.equal(mapKeyOf(7), 7);
    assert.equal(mapKeyOf(true), true);
    assert.equal(mapKeyOf(5n), 5n);
    assert.equal(mapKeyOf("\u0000x"), "\u0000s\u0000x");
    assert.equal(mapKeyOf("x\u0000"), "x\u0000", "only a leading NUL");
  });

  it("an integral number is a small integer as a Map key, even when it came boxed", () => {
    setFlagsFromString("--allow-natives-syntax");
    const isSmallInteger = new Function("x", "return %IsSmi(x)") as (x: unknown) => boolean;
    // A field that once held a fraction keeps its integers boxed (a double field).
    const records = [{ key: 0.5 }, ...Array.from({ length: 10 }, (_, i) => ({ key: i * 3 }))];
    for (const r of records.slice(1)) {
      assert.equal(isSmallInteger(r.key), false, "the record's integer is boxed");
      const k = mapKeyOf(r.key);
      assert.equal(k, r.key);
      assert.ok(isSmallInteger(k), `${r.key} as a Map key is boxed`);
    }
    assert.equal(mapKeyOf(-0), 0);
    assert.equal(mapKeyOf(2 ** 40), 2 ** 40);
    assert.equal(mapKeyOf(-1.5), -1.5);
  });

  it("every key comes back from its Map key, composite keys rebuilt", () => {
    const keys: unknown[] = [
      "",
      "plain",
      "\u0000s",
      "\u0000c[1]",
      0,
      -3.5,
      false,
      true,
      12n,
      -7n,
      [],
      {},
      [1, "two", [3, [4]], { a: "x" }],
      { b: [true, false], a: { c: 'q"uo\\te,]}' }, d: "" },
      [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 99n, -1e-7],
      ["", [], {}],
    ];
    for (const k of keys) {
      const mk = mapKeyOf(k);
      assert.deepEqual(keyOfMapKey(mk), k, `key ${String(mk)}`);
    }
    assert.notEqual(mapKeyOf("[1]"), mapKeyOf([1]), "a string never collides with a composite key");
    assert.equal(mapKeyOf({ a: 1, b: 2 }), mapKeyOf({ b: 2, a: 1 }));
  });

  it("namespaces are strings, numbers or VOID_NAMESPACE", () => {
    assert.equal(checkNamespace("w"), "w");
    assert.equal(checkNamespace(3), 3);
    assert.equal(checkNamespace(VOID_NAMESPACE), VOID_NAMESPACE);
    for (const bad of [null, undefined, {}, [1], true])
      assert.throws(() => checkNamespace(bad), InvalidArgumentError);
    assert.throws(() => checkNamespace(null), /got null/);
    assert.throws(() => checkNamespace({}), /got object/);
  });
});

/**
 * A table of 4 key groups and the context its handles would move. A key's key group is the one
 * it was last made current with (a backend computes it from the key).
 */
function table() {
  const ctx: KeyContext = { key: undefined, mapKey: "", keyGroupIndex: 0, namespace: VOID_NAMESPACE };
  const groupOf = new Map<MapKey, number>();
  const t = new StateTable("s", 4, ctx, (mk) => groupOf.get(mk) ?? -1);
  const at = (group: number, key: string, ns: Namespace = VOID_NAMESPACE) => {
    groupOf.set(mapKeyOf(key), group);
    ctx.key = key;
    ctx.mapKey = mapKeyOf(key);
    ctx.keyGroupIndex = group;
    ctx.namespace = ns;
  };
  const put = (group: number, key: string, value: unknown, ns: Namespace = VOID_NAMESPACE) => {
    at(group, key, ns);
    t.currentOrCreate().set(ctx.mapKey, value);
  };
  const get = (group: number, key: string, ns: Namespace = VOID_NAMESPACE) => {
    at(group, key, ns);
    return t.current()?.get(ctx.mapKey);
  };
  const del = (group: number, key: string, ns: Namespace = VOID_NAMESPACE) => {
    at(group, key, ns);
    return t.delete(group, ns, ctx.mapKey);
  };
  return { t, ctx, at, put, get, del };
}

function readGroup(c: ReturnType<StateTable["capture"]>, i: number): string[] {
  const out: string[] = [];
  c.read(i, (ns, k, v) =>
    out.push(`${ns === VOID_NAMESPACE ? "-" : String(ns)}/${String(k)}=${JSON.stringify(v)}`),
  );
  return out.sort();
}

describe("state table: live state", () => {
  it("keeps namespaces apart, one Map per namespace for all key groups, creating Maps only when written", () => {
    const { t, put, get, at } = table();
    at(1, "k");
    assert.equal(t.current(), t.voidMap, "the void Map is always there");
    assert.equal(t.voidMap.size, 0);
    at(1, "k", "w1");
    assert.equal(t.current(), undefined);
    assert.equal(t.nsMaps, undefined, "no namespace Maps until a namespace is used");
    put(1, "k", "void");
    put(1, "k", "in w1", "w1");
    put(2, "j", "group 2");
    put(1, "k", "in 5", 5);
    assert.equal(get(1, "k"), "void");
    assert.equal(get(1, "k", "w1"), "in w1");
    assert.equal(get(1, "k", 5), "in 5");
    assert.equal(get(2, "j"), "group 2");
    assert.equal(get(2, "j", "w1"), undefined);
    assert.equal(get(3, "zz"), undefined);
    assert.equal(t.size(), 4);
    assert.deepEqual(Array.from(t.voidKeysByKeyGroup()), [undefined, ["k"], ["j"], undefined]);
    assert.equal(t.mapOf("w1")?.get("k"), "in w1");
    assert.equal(t.mapOf(VOID_NAMESPACE)?.get("k"), "void");
    assert.equal(t.mapOf(VOID_NAMESPACE), t.voidMap);
    assert.equal((t.nsMaps as Map<Namespace, unknown> | undefined)?.size, 2, "one Map per namespace");
    assert.equal(t.peek(5, "k"), "in 5");
    assert.equal(t.peek(5, "j"), undefined);
    assert.equal(t.peek(VOID_NAMESPACE, "j"), "group 2");
    assert.deepEqual(
      [...t.entries()].map(
        ([i, ns, m, k]) =>
          `${i} ${String(ns === VOID_NAMESPACE ? "-" : ns)} ${String(k)}=${String(m.get(k))}`,
      ),
      ["-2 - k=void", "-2 - j=group 2", "-2 w1 k=in w1", "-2 5 k=in 5"],
      "the void Map's entries first, no key group looked up",
    );
    assert.deepEqual(
      [...t.namespacesOf(1)].map(([ns, m]) => [ns === VOID_NAMESPACE ? "-" : ns, [...m]]),
      [
        ["-", [["k", "void"]]],
        ["w1", [["k", "in w1"]]],
        [5, [["k", "in 5"]]],
      ],
    );
    assert.deepEqual([...t.namespacesOf(0)], []);
  });

  it("a stored key whose key group is outside the range fails a listing by key group", () => {
    const ctx: KeyContext = { key: "k", mapKey: "k", keyGroupIndex: 0, namespace: VOID_NAMESPACE };
    const t = new StateTable("s", 4, ctx, () => 4);
    t.currentOrCreate().set("k", 1);
    assert.throws(() => t.voidKeysByKeyGroup(), /state 's' holds key k, whose key group is outside/);
  });

  it("a namespace's Map goes when its last entry is deleted; the key group's void Map stays", () => {
    const { t, put, del } = table();
    put(0, "a", 1, "w");
    put(0, "b", 2, "w");
    put(0, "a", 3);
    assert.equal(del(0, "a", "w"), true);
    assert.ok(t.mapOf("w") !== undefined);
    assert.equal(del(0, "b", "w"), true);
    assert.equal(t.mapOf("w"), undefined);
    assert.equal(del(0, "b", "w"), false, "nothing left to delete");
    assert.equal(del(0, "zz"), false);
    assert.equal(del(3, "zz", "other"), false);
    assert.equal(del(0, "a"), true);
    assert.ok(t.mapOf(VOID_NAMESPACE) !== undefined);
    assert.equal(t.voidMap.size, 0);
    assert.equal(t.size(), 0);
  });

  it("take() removes an entry and returns its value, dropping a namespace Map with its last entry", () => {
    const { t, put, at } = table();
    put(1, "a", "A", "w");
    put(1, "b", "B", "w");
    put(1, "a", "void A");
    put(1, "u", undefined, "w2"); // a stored undefined is an entry too
    at(1, "a", "w");
    assert.equal(t.take(1, "w", "a"), "A");
    assert.equal(t.take(1, "w", "a"), undefined, "gone");
    assert.equal(t.mapOf("w")?.size, 1);
    assert.equal(t.take(1, "w", "b"), "B");
    assert.equal(t.mapOf("w"), undefined, "the emptied namespace goes");
    assert.equal(t.take(1, "w2", "zz"), undefined);
    assert.ok(t.mapOf("w2") !== undefined, "another key's entry stays");
    assert.equal(t.delete(1, "w2", "u"), true);
    assert.equal(t.mapOf("w2"), undefined);
    assert.equal(t.take(1, VOID_NAMESPACE, "a"), "void A");
    assert.ok(t.mapOf(VOID_NAMESPACE) !== undefined, "the void Map stays");
    assert.equal(t.size(), 0);
    assert.equal(t.take(3, "w", "a"), undefined, "a key group never written");
  });

  it("take() keeps the value for a capture that has yet to read the key group", () => {
    const { t, put } = table();
    put(2, "a", 1, "w");
    const c = t.capture([2]);
    assert.equal(t.take(2, "w", "a"), 1);
    assert.equal(t.mapOf("w"), undefined);
    assert.deepEqual(readGroup(c, 2), ["w/a=1"]);
  });

  it("dropIfEmpty drops an empty namespace Map only", () => {
    const { t, put } = table();
    put(2, "a", 1, "w");
    const m = t.mapOf("w")!;
    t.dropIfEmpty("w", m);
    assert.equal(t.mapOf("w"), m, "not empty");
    m.clear();
    t.dropIfEmpty("w", m);
    assert.equal(t.mapOf("w"), undefined);
    put(2, "a", 1);
    const v = t.mapOf(VOID_NAMESPACE)!;
    v.clear();
    t.dropIfEmpty(VOID_NAMESPACE, v);
    assert.equal(t.mapOf(VOID_NAMESPACE), v);
  });

  it("mapOrCreate creates one Map per namespace for every key group, the void Map is the unscoped one", () => {
    const { t } = table();
    const a = t.mapOrCreate("w");
    assert.equal(t.mapOrCreate("w"), a);
    assert.notEqual(t.mapOrCreate("v"), a);
    assert.equal(t.mapOrCreate("w"), a, "after another namespace");
    const v = t.mapOrCreate(VOID_NAMESPACE);
    assert.equal(t.mapOf(VOID_NAMESPACE), v);
    assert.equal(v, t.voidMap);
  });

  it("a namespace dropped with its last entry is not found again through the last one used", () => {
    const { t, put, get, del, at } = table();
    put(0, "a", 1, "w");
    const first = t.mapOf("w");
    assert.equal(del(0, "a", "w"), true);
    assert.equal(t.mapOf("w"), undefined, "dropped");
    assert.equal(get(0, "a", "w"), undefined);
    at(1, "b", "w");
    assert.equal(t.current(), undefined);
    put(1, "b", 2, "w");
    assert.notEqual(t.mapOf("w"), first, "a new Map");
    assert.deepEqual([...t.mapOf("w")!], [["b", 2]]);
    at(1, "b", "w");
    assert.equal(t.take(1, "w", "b"), 2);
    assert.equal(t.mapOf("w"), undefined);
    put(2, "c", 3, "w");
    assert.deepEqual([...t.nsMaps!.get("w")!], [["c", 3]], "the Map in the table is the one written");
    const m = t.mapOf("w")!;
    m.clear();
    t.dropIfEmpty("w", m);
    assert.equal(t.nsMaps!.has("w"), false);
    assert.equal(t.mapOf("w"), undefined);
    assert.equal(t.size(), 0);
  });

  it("a namespace's entries are listed by their keys' key groups", () => {
    const { t, put } = table();
    put(0, "a", 1, "w");
    put(3, "z", 2, "w");
    put(3, "y", 3, 7);
    assert.deepEqual(Array.from(t.nsKeysByKeyGroup("w")), [["a"], undefined, undefined, ["z"]]);
    assert.deepEqual(Array.from(t.nsKeysByKeyGroup("none")), [undefined, undefined, undefined, undefined]);
    assert.deepEqual(
      [...t.namespacesOf(3)].map(([ns, m]) => [ns, [...m]]),
      [
        ["w", [["z", 2]]],
        [7, [["y", 3]]],
      ],
    );
  });
});

describe("state table: copy-on-write captures", () => {
  it("a capture reads each key group as it was, whatever changed after it", () => {
    const { t, put, del, get, at } = table();
    put(0, "a", 1);
    put(0, "b", 2);
    put(0, "c", 3, "w");
    put(1, "x", 10);
    const c = t.capture([0, 1]);
    put(0, "a", 100); // changed
    del(0, "b"); // deleted
    put(0, "new", 5); // added after
    del(0, "c", "w"); // the whole namespace goes
    put(0, "d", 4, "w2"); // a namespace that did not exist
    at(1, "x");
    t.current(); // only read: nothing to keep
    assert.equal(get(0, "a"), 100, "the live table sees the change");
    assert.equal(c.isPending(0), true);
    assert.deepEqual(readGroup(c, 0), ["-/a=1", "-/b=2", "w/c=3"]);
    assert.equal(c.isPending(0), false);
    put(1, "x", 11);
    assert.deepEqual(readGroup(c, 1), ["-/x=10"]);
    assert.throws(() => c.read(0, () => {}), /not pending/);
  });

  it("key groups not captured, or already read, keep nothing", () => {
    const { t, put } = table();
    put(0, "a", 1);
    put(3, "z", 1);
    const c = t.capture([0]);
    assert.equal(c.isPending(3), false);
    assert.deepEqual(readGroup(c, 0), ["-/a=1"]);
    put(0, "a", 2);
    const d = t.capture([0, 3]);
    put(3, "z", 9);
    put(0, "a", 3);
    assert.deepEqual(readGroup(d, 0), ["-/a=2"]);
    assert.deepEqual(readGroup(d, 3), ["-/z=1"]);
  });

  it("values changed in place are copied on first access; primitives are kept as they are", () => {
    const { t, put, get } = table();
    const copies: unknown[] = [];
    t.copyValue = (v) => {
      copies.push(v);
      return structuredClone(v);
    };
    put(0, "o", { n: 1 });
    put(0, "p", 5);
    put(0, "nil", null);
    const c = t.capture([0]);
    (get(0, "o") as { n: number }).n = 2;
    (get(0, "o") as { n: number }).n = 3; // the second access keeps the first copy
    put(0, "p", 6);
    put(0, "nil", "set");
    assert.equal(copies.length, 1, "only the object is copied, once");
    assert.deepEqual(readGroup(c, 0), ["-/nil=null", '-/o={"n":1}', "-/p=5"]);
  });

  it("touch() keeps an entry that is not the current key's before it changes", () => {
    const { t, put, at } = table();
    put(2, "a", 1, "w");
    at(2, "b", "w"); // b's key group (the table computes it from the key)
    const c = t.capture([2]);
    t.touch(2, "w", "a");
    t.mapOf("w")!.set("a", 2);
    t.touch(2, "w", "b");
    t.mapOf("w")!.set("b", 7);
    assert.deepEqual(readGroup(c, 2), ["w/a=1"]);
  });

  it("overlapping captures each read their own moment", () => {
    const { t, put } = table();
    put(1, "k", "v1");
    const first = t.capture([1]);
    put(1, "k", "v2");
    const second = t.capture([1]);
    put(1, "k", "v3");
    assert.deepEqual(readGroup(second, 1), ['-/k="v2"']);
    put(1, "k", "v4");
    assert.deepEqual(readGroup(first, 1), ['-/k="v1"']);
  });

  it("a released capture stops holding; the others go on", () => {
    const { t, put } = table();
    put(0, "a", 1);
    put(1, "b", 1);
    const dropped = t.capture([0, 1]);
    const kept = t.capture([0, 1]);
    dropped.release();
    assert.equal(dropped.isPending(0), false);
    assert.equal(dropped.remaining, 0);
    put(0, "a", 2);
    put(1, "b", 2);
    assert.deepEqual(readGroup(kept, 0), ["-/a=1"]);
    assert.deepEqual(readGroup(kept, 1), ["-/b=1"]);
    assert.throws(() => dropped.read(0, () => {}), /not pending/);
  });

  it("a capture of some key groups reads only theirs, whatever the others hold", () => {
    const { t, put } = table();
    put(2, "a2", 4); // first in the Map's order: entries of other key groups come after it
    put(0, "a0", 1);
    put(0, "b0", 2);
    put(1, "a1", 3);
    put(3, "a3", 5);
    put(0, "w0", 6, "w");
    put(2, "w2", 7, "w");
    const c = t.capture([2]); // key groups 0, 1 and 3 are not part of it
    assert.deepEqual(readGroup(c, 2), ["-/a2=4", "w/w2=7"]);
  });

  it("a table holds while a capture has key groups to read, and no longer once it read them all", () => {
    const { t, put } = table();
    put(0, "a", 1);
    put(1, "b", 1);
    assert.equal(t.holds, 0);
    const c = t.capture([0, 1]);
    const d = t.capture([1]);
    assert.equal(t.holds, 2, "two captures hold the table (the value state's fast path is off)");
    readGroup(c, 0);
    assert.equal(t.holds, 2, "c has key group 1 left");
    readGroup(d, 1);
    assert.equal(t.holds, 1);
    readGroup(c, 1);
    assert.equal(t.holds, 0, "every capture read: the table is free again");
    // A finished capture keeps nothing: values changed afterwards are not copied for it.
    const copies: unknown[] = [];
    t.copyValue = (v) => {
      copies.push(v);
      return v;
    };
    put(0, "a", { n: 2 });
    put(0, "a", { n: 3 });
    assert.deepEqual(copies, []);
  });

  it("a capture reads a namespace deleted entirely from its log, and skips entries absent at the capture", () => {
    const { t, put, del } = table();
    put(3, "a", 1, "gone");
    put(3, "b", 2, "gone");
    const c = t.capture([3]);
    del(3, "a", "gone");
    del(3, "b", "gone");
    put(3, "c", 3, "fresh");
    del(3, "c", "fresh");
    assert.equal(t.mapOf("gone"), undefined);
    assert.deepEqual(readGroup(c, 3), ["gone/a=1", "gone/b=2"]);
  });

  it("void keys sorted into key groups at the first read: changes before and after it", () => {
    const { t, put, del, get } = table();
    put(0, "a", 1);
    put(1, "b", 2);
    put(2, "c", 3);
    put(2, "d", 4);
    put(3, "e", 5);
    const c = t.capture([0, 1, 2, 3]);
    // Before the first read (the keys are not sorted yet).
    del(2, "c");
    put(2, "late", 9); // added after the capture
    put(0, "a", 10);
    assert.deepEqual(readGroup(c, 1), ["-/b=2"]);
    // After it.
    del(2, "d");
    put(3, "e", 50);
    put(3, "later", 1);
    put(0, "a", 100);
    assert.equal(get(0, "a"), 100);
    assert.deepEqual(readGroup(c, 0), ["-/a=1"]);
    assert.deepEqual(readGroup(c, 2), ["-/c=3", "-/d=4"]);
    assert.deepEqual(readGroup(c, 3), ["-/e=5"]);
    assert.equal(c.remaining, 0);
    put(3, "e", 6); // nothing held any more
    assert.deepEqual([...t.voidMap.keys()].sort(), ["a", "b", "e", "late", "later"]);
  });

  it("namespaced keys sorted into key groups at the first read: changes before and after it", () => {
    const { t, put, del, get, at } = table();
    put(0, "a", 1, "w");
    put(1, "b", 2, "w");
    put(2, "c", 3, "w");
    put(2, "d", 4, 7);
    put(3, "e", 5, 7);
    put(3, "e", 6, "gone");
    put(2, "c", 30); // the void namespace, same key
    const c = t.capture([0, 1, 2, 3]);
    // Before the first read (the keys are not sorted yet).
    del(2, "c", "w");
    put(2, "late", 9, "w"); // added after the capture
    put(0, "a", 10, "w");
    del(3, "e", "gone"); // the whole namespace goes
    assert.deepEqual(readGroup(c, 1), ["w/b=2"]);
    // After it.
    del(2, "d", 7);
    put(3, "e", 50, 7);
    put(3, "later", 1, 7);
    put(0, "a", 100, "w");
    at(0, "a", "w");
    assert.equal(t.take(0, "w", "a"), 100);
    put(1, "b", 20, "w"); // its key group was read: nothing kept
    assert.equal(get(1, "b", "w"), 20);
    assert.deepEqual(readGroup(c, 0), ["w/a=1"]);
    assert.deepEqual(readGroup(c, 2), ["-/c=30", "7/d=4", "w/c=3"]);
    assert.deepEqual(readGroup(c, 3), ["7/e=5", "gone/e=6"]);
    assert.equal(c.remaining, 0);
    assert.deepEqual([...t.mapOf("w")!.keys()].sort(), ["b", "late"]);
    assert.deepEqual([...t.mapOf(7)!.keys()].sort(), ["e", "later"]);
    assert.equal(t.mapOf("gone"), undefined);
  });

  it("a capture reads void entries in the live Map's order, key group by key group", () => {
    const { t, put } = table();
    for (const [g, k] of [
      [1, "x"],
      [0, "p"],
      [1, "a"],
      [0, "b"],
      [1, "m"],
    ] as const)
      put(g, k, k);
    const c = t.capture([0, 1]);
    const order = (i: number) => {
      const out: unknown[] = [];
      c.read(i, (_ns, k) => out.push(k));
      return out;
    };
    assert.deepEqual(order(1), ["x", "a", "m"]);
    assert.deepEqual(order(0), ["p", "b"]);
  });
});
