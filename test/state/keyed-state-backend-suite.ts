// The semantic tests of a keyed state backend, run against every backend (heap, embedded).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import {
  AggregatingStateDescriptor,
  type AggregateFunction,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  StateDescriptorConflictError,
  ValueStateDescriptor,
} from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import type { KeyGroupRange } from "../../src/core/key-groups.ts";
import type { KeyedStateBackend } from "../../src/state/keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 128;

function at(
  b: KeyedStateBackend,
  key: unknown,
  ns: string | number | typeof VOID_NAMESPACE = VOID_NAMESPACE,
) {
  b.setCurrentKey(key, assignToKeyGroup(key, MAX));
  b.setCurrentNamespace(ns);
}

const avg: AggregateFunction<number, { sum: number; n: number }, number> = {
  createAccumulator: () => ({ sum: 0, n: 0 }),
  add: (v, acc) => ({ sum: acc.sum + v, n: acc.n + 1 }),
  getResult: (acc) => acc.sum / acc.n,
  merge: (a, b) => ({ sum: a.sum + b.sum, n: a.n + b.n }),
};

/** Two keys that fall into different key groups. */
function keysInTwoGroups(): [string, string] {
  const a = "alpha";
  for (let i = 0; ; i++) {
    const b = `k${i}`;
    if (assignToKeyGroup(b, MAX) !== assignToKeyGroup(a, MAX)) return [a, b];
  }
}

/** Registers the keyed state backend tests; `create` makes a backend over a key-group range. */
export function keyedStateBackendSuite(
  label: string,
  create: (range: KeyGroupRange) => KeyedStateBackend,
): void {
  function backend(start = 0, end = MAX - 1): KeyedStateBackend {
    return create({ start, end });
  }

  describe(`${label}: state types per key`, () => {
    it("ValueState: value/update/clear per key, default value, update(undefined) clears", () => {
      const b = backend();
      const s = b.getState(new ValueStateDescriptor<number>("count"));
      const d = b.getState(new ValueStateDescriptor<number>("withDefault", Types.NUMBER, 7));
      at(b, "a");
      assert.equal(s.value(), undefined);
      assert.equal(d.value(), 7);
      s.update(1);
      d.update(8);
      at(b, "b");
      assert.equal(s.value(), undefined);
      assert.equal(d.value(), 7);
      s.update(2);
      at(b, "a");
      assert.equal(s.value(), 1);
      assert.equal(d.value(), 8);
      s.clear();
      assert.equal(s.value(), undefined);
      at(b, "b");
      assert.equal(s.value(), 2);
      s.update(undefined as unknown as number);
      assert.equal(s.value(), undefined);
      assert.equal(b.size("count"), 0);
      assert.equal(b.size("withDefault"), 1);
    });

    it("ListState: get/add/addAll/update/clear, empty list clears, null refused", () => {
      const b = backend();
      const s = b.getListState(new ListStateDescriptor<string>("l"));
      at(b, 1);
      assert.deepEqual(s.get(), []);
      s.add("x");
      s.addAll(["y", "z"]);
      assert.deepEqual([...s.get()], ["x", "y", "z"]);
      at(b, 2);
      assert.deepEqual(s.get(), []);
      s.update(["q"]);
      assert.deepEqual([...s.get()], ["q"]);
      at(b, 1);
      s.update(["a", "b"]);
      assert.deepEqual([...s.get()], ["a", "b"]);
      s.update([]);
      assert.deepEqual(s.get(), []);
      assert.equal(b.size("l"), 1);
      assert.throws(() => s.add(null as unknown as string), /cannot add null/);
      assert.throws(() => s.addAll(["ok", undefined as unknown as string]), /cannot add undefined/);
      assert.deepEqual(s.get(), [], "a refused addAll adds nothing");
      at(b, 2);
      s.clear();
      assert.equal(b.size("l"), 0);
      // Adding nothing to a key without a list stores nothing (Flink: the state is unchanged).
      at(b, 3);
      s.addAll([]);
      assert.equal(b.size("l"), 0);
      assert.deepEqual(b.getKeys("l"), []);
    });

    it("MapState: put/get/putAll/remove/contains/iterables/isEmpty/clear", () => {
      const b = backend();
      const s = b.getMapState(new MapStateDescriptor<string, number>("m"));
      at(b, "k1");
      assert.equal(s.isEmpty(), true);
      assert.deepEqual([...s.entries()], []);
      s.put("a", 1);
      s.putAll(
        new Map([
          ["b", 2],
          ["c", 3],
        ]),
      );
      assert.equal(s.get("a"), 1);
      assert.equal(s.get("zz"), undefined);
      assert.equal(s.contains("b"), true);
      assert.equal(s.contains("zz"), false);
      assert.deepEqual([...s.keys()], ["a", "b", "c"]);
      assert.deepEqual([...s.values()], [1, 2, 3]);
      assert.deepEqual(
        [...s.entries()],
        [
          ["a", 1],
          ["b", 2],
          ["c", 3],
        ],
      );
      at(b, "k2");
      assert.equal(s.isEmpty(), true);
      assert.equal(s.get("a"), undefined);
      s.put("a", 100);
      at(b, "k1");
      s.remove("a");
      assert.equal(s.contains("a"), false);
      assert.equal(s.isEmpty(), false);
      s.remove("b");
      s.remove("c");
      assert.equal(s.isEmpty(), true);
      assert.equal(b.size("m"), 1, "an emptied user map removes the key's entry");
      at(b, "k2");
      assert.equal(s.get("a"), 100);
      s.clear();
      assert.equal(b.size("m"), 0);
      assert.throws(() => s.put({ x: 1 } as unknown as string, 1), /user keys must be strings/);
    });

    it("ReducingState: add reduces, get, clear; the reduce function may be an object", () => {
      const b = backend();
      const sum = b.getReducingState(new ReducingStateDescriptor<number>("sum", (x, y) => x + y));
      const max = b.getReducingState(
        new ReducingStateDescriptor<number>("max", { reduce: (x, y) => Math.max(x, y) }),
      );
      at(b, "a");
      assert.equal(sum.get(), undefined);
      for (const v of [3, 9, 4]) {
        sum.add(v);
        max.add(v);
      }
      assert.equal(sum.get(), 16);
      assert.equal(max.get(), 9);
      at(b, "b");
      sum.add(5);
      assert.equal(sum.get(), 5);
      at(b, "a");
      sum.clear();
      assert.equal(sum.get(), undefined);
      assert.equal(max.get(), 9);
    });

    it("AggregatingState: add through the AggregateFunction, get gives the result", () => {
      const b = backend();
      const s = b.getAggregatingState(new AggregatingStateDescriptor("avg", avg));
      at(b, "a");
      assert.equal(s.get(), undefined);
      s.add(2);
      s.add(4);
      assert.equal(s.get(), 3);
      at(b, "b");
      s.add(10);
      assert.equal(s.get(), 10);
      s.clear();
      assert.equal(s.get(), undefined);
      at(b, "a");
      assert.equal(s.get(), 3);
    });

    it("composite keys: arrays/objects are one key by value, and never collide with string keys", () => {
      const b = backend();
      const s = b.getState(new ValueStateDescriptor<string>("v"));
      at(b, ["u", 1]);
      s.update("array");
      at(b, '["u",1]'); // the canonical text of the array key, as a plain string key
      assert.equal(s.value(), undefined);
      s.update("string");
      at(b, "\u0000c[1]");
      s.update("nul-string");
      at(b, ["u", 1]);
      assert.equal(s.value(), "array");
      at(b, { b: 2n, a: [true, Number.NaN] });
      s.update("object");
      at(b, { a: [true, Number.NaN], b: 2n });
      assert.equal(s.value(), "object");
      const keys = b.getKeys("v");
      assert.equal(keys.length, 4);
      assert.deepEqual(
        new Set(keys.map((k) => JSON.stringify(k, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)))),
        new Set(['["u",1]', '"[\\"u\\",1]"', '"\\u0000c[1]"', '{"a":[true,null],"b":"2n"}']),
      );
      assert.ok(keys.some((k) => Array.isArray(k) && k[0] === "u" && k[1] === 1));
    });

    it("handles are cached per name and read the current key at call time", () => {
      const b = backend();
      const h1 = b.getState(new ValueStateDescriptor<number>("x"));
      const h2 = b.getPartitionedState(new ValueStateDescriptor<number>("x"));
      assert.equal(h1, h2);
      at(b, "a");
      h1.update(1);
      at(b, "b");
      assert.equal(h2.value(), undefined);
      assert.equal(b.getCurrentKey(), "b");
      assert.equal(b.getCurrentKeyGroup(), assignToKeyGroup("b", MAX));
    });
  });

  describe(`${label}: key groups`, () => {
    it("two keys in different key groups are stored and snapshotted apart", () => {
      const [k1, k2] = keysInTwoGroups();
      const g1 = assignToKeyGroup(k1, MAX);
      const g2 = assignToKeyGroup(k2, MAX);
      const b = backend();
      const v = b.getState(new ValueStateDescriptor<number>("v"));
      const l = b.getListState(new ListStateDescriptor<number>("l"));
      at(b, k1);
      v.update(1);
      l.add(10);
      at(b, k2);
      v.update(2);
      at(b, k2, "w1");
      l.add(20);
      const e1 = [...b.keyGroupEntries(g1)];
      const e2 = [...b.keyGroupEntries(g2)];
      assert.deepEqual(
        e1.map((e) => [e.state, e.namespace, e.mapKey]),
        [
          ["v", VOID_NAMESPACE, k1],
          ["l", VOID_NAMESPACE, k1],
        ],
      );
      assert.deepEqual(
        e2.map((e) => [e.state, e.namespace, e.mapKey, e.value]),
        [
          ["v", VOID_NAMESPACE, k2, 2],
          ["l", "w1", k2, [20]],
        ],
      );
      at(b, k1);
      v.clear();
      at(b, k2);
      assert.equal(v.value(), 2);
    });

    it("a key outside the backend's key-group range is refused with a clear error", () => {
      let key = 0;
      while (assignToKeyGroup(key, MAX) < 64) key++;
      const b = backend(0, 63);
      assert.throws(
        () => b.setCurrentKey(key, assignToKeyGroup(key, MAX)),
        /outside this subtask's key groups 0\.\.63/,
      );
      assert.throws(() => [...b.keyGroupEntries(64)], /outside this backend's key groups/);
    });
  });

  describe(`${label}: namespaces`, () => {
    it("state is scoped to (key, namespace); the void namespace is separate", () => {
      const b = backend();
      const s = b.getState(new ValueStateDescriptor<string>("v"));
      at(b, "k");
      s.update("void");
      at(b, "k", "w1");
      assert.equal(s.value(), undefined);
      s.update("w1");
      at(b, "k", 42);
      s.update("n42");
      at(b, "other", "w1");
      assert.equal(s.value(), undefined);
      at(b, "k", "w1");
      assert.equal(s.value(), "w1");
      at(b, "k");
      assert.equal(s.value(), "void");
      assert.equal(b.getCurrentNamespace(), VOID_NAMESPACE);
      assert.deepEqual(b.getKeys("v", "w1"), ["k"]);
      assert.equal(b.size("v"), 3);
      at(b, "k", "w1");
      s.clear();
      assert.equal(b.size("v"), 2);
      assert.throws(() => b.setCurrentNamespace({} as unknown as string), /namespace must be a string/);
    });

    it("every state type works in a namespace", () => {
      const b = backend();
      const l = b.getListState(new ListStateDescriptor<number>("l"));
      const m = b.getMapState(new MapStateDescriptor<string, number>("m"));
      const r = b.getReducingState(new ReducingStateDescriptor<number>("r", (x, y) => x + y));
      const a = b.getAggregatingState(new AggregatingStateDescriptor("a", avg));
      for (const ns of ["w1", "w2"]) {
        at(b, "k", ns);
        const base = ns === "w1" ? 1 : 10;
        l.add(base);
        m.put("x", base);
        r.add(base);
        r.add(base);
        a.add(base);
      }
      at(b, "k", "w1");
      assert.deepEqual([...l.get()], [1]);
      assert.equal(m.get("x"), 1);
      assert.equal(r.get(), 2);
      assert.equal(a.get(), 1);
      at(b, "k", "w2");
      assert.deepEqual([...l.get()], [10]);
      assert.equal(r.get(), 20);
      at(b, "k");
      assert.deepEqual(l.get(), []);
      assert.equal(m.isEmpty(), true);
    });

    it("mergeNamespaces merges list, reducing and aggregating state into the target and empties the sources", () => {
      const b = backend();
      const l = b.getListState(new ListStateDescriptor<number>("l"));
      const r = b.getReducingState(new ReducingStateDescriptor<number>("r", (x, y) => x + y));
      const a = b.getAggregatingState(new AggregatingStateDescriptor("a", avg));
      const fill = (ns: string, vals: number[]) => {
        at(b, "k", ns);
        for (const v of vals) {
          l.add(v);
          r.add(v);
          a.add(v);
        }
      };
      fill("s1", [1, 2]);
      fill("s2", [3]);
      fill("t", [10]);
      at(b, "other", "s1");
      l.add(99);
      at(b, "k", "t");
      for (const name of ["l", "r", "a"]) b.mergeNamespaces(name, "t", ["s1", "s2", "missing"]);
      assert.deepEqual([...l.get()], [10, 1, 2, 3]);
      assert.equal(r.get(), 16);
      assert.equal(a.get(), 4);
      for (const ns of ["s1", "s2"]) {
        at(b, "k", ns);
        assert.deepEqual(l.get(), []);
        assert.equal(r.get(), undefined);
        assert.equal(a.get(), undefined);
      }
      at(b, "other", "s1");
      assert.deepEqual([...l.get()], [99], "other keys are untouched");
      // Merging into a namespace without state moves the sources there.
      at(b, "k", "s1");
      r.add(5);
      b.mergeNamespaces("r", "fresh", ["s1"]);
      at(b, "k", "fresh");
      assert.equal(r.get(), 5);
    });

    it("mergeNamespaces skips the target among the sources: the target's value comes first", () => {
      // As Flink's mergeNamespaces: a source equal to the target is not merged into itself. With a
      // reduce function whose order matters, the target's own value is the first argument.
      const b = backend();
      const r = b.getReducingState(new ReducingStateDescriptor<string>("r", (x, y) => x + y));
      at(b, "k", "s1");
      r.add("a");
      at(b, "k", "t");
      r.add("T");
      b.mergeNamespaces("r", "t", ["s1", "t"]);
      at(b, "k", "t");
      assert.equal(r.get(), "Ta");
      at(b, "k", "s1");
      assert.equal(r.get(), undefined);
    });

    it("mergeNamespaces of list state with the target among the sources: the target's list, then the others'", () => {
      // The sources' lists are appended to the target's, in the order of the sources (as Flink's
      // RocksDB list state does: each source is merged onto the target's list), whichever place
      // the target has among them: its own list is neither moved behind an earlier source nor
      // doubled.
      const b = backend();
      const l = b.getListState(new ListStateDescriptor<string>("l"));
      const fill = (ns: string, vals: string[]) => {
        at(b, "k", ns);
        l.addAll(vals);
      };
      fill("s1", ["a1", "a2"]);
      fill("t", ["T1", "T2"]);
      fill("s2", ["b1"]);
      b.mergeNamespaces("l", "t", ["s1", "t", "s2"]);
      at(b, "k", "t");
      assert.deepEqual([...l.get()], ["T1", "T2", "a1", "a2", "b1"]);
      for (const ns of ["s1", "s2"]) {
        at(b, "k", ns);
        assert.deepEqual([...l.get()], [], `${ns} is emptied`);
      }
      // The target last among the sources, and a second merge into it: appended again.
      fill("s3", ["c1"]);
      b.mergeNamespaces("l", "t", ["s3", "t"]);
      at(b, "k", "t");
      assert.deepEqual([...l.get()], ["T1", "T2", "a1", "a2", "b1", "c1"]);
    });

    it("mergeNamespaces refuses value/map state and aggregate functions without merge", () => {
      const b = backend();
      b.getState(new ValueStateDescriptor<number>("v"));
      b.getAggregatingState(
        new AggregatingStateDescriptor("noMerge", {
          createAccumulator: () => 0,
          add: (v: number, acc: number) => acc + v,
          getResult: (acc: number) => acc,
        }),
      );
      at(b, "k", "w");
      assert.throws(() => b.mergeNamespaces("v", "t", ["w"]), /'v' is value state, which cannot merge/);
      assert.throws(() => b.mergeNamespaces("noMerge", "t", ["w"]), /has no merge\(a, b\)/);
    });

    it("clearNamespace clears one or all states of the current key in a namespace", () => {
      const b = backend();
      const v = b.getState(new ValueStateDescriptor<number>("v"));
      const l = b.getListState(new ListStateDescriptor<number>("l"));
      for (const key of ["k", "j"]) {
        for (const ns of ["w1", "w2"]) {
          at(b, key, ns);
          v.update(1);
          l.add(1);
        }
      }
      at(b, "k");
      b.clearNamespace("w1", "v");
      at(b, "k", "w1");
      assert.equal(v.value(), undefined);
      assert.deepEqual([...l.get()], [1]);
      b.clearNamespace("w2");
      at(b, "k", "w2");
      assert.equal(v.value(), undefined);
      assert.deepEqual(l.get(), []);
      at(b, "j", "w1");
      assert.equal(v.value(), 1);
      assert.equal(b.size("v"), 2);
      assert.equal(b.size("l"), 3);
    });
  });

  describe(`${label}: registration and all-keys access`, () => {
    it("a name reused with another kind is a clear StateDescriptorConflictError", () => {
      const b = backend();
      b.getState(new ValueStateDescriptor<number>("s"));
      assert.throws(
        () => b.getListState(new ListStateDescriptor<number>("s")),
        (e: unknown) =>
          e instanceof StateDescriptorConflictError &&
          e.code === "INVALID_ARGUMENT" &&
          /state descriptor reused with another type: state 's' is registered as value state and is now requested as list state/.test(
            e.message,
          ),
      );
      assert.throws(
        () => b.getReducingState(new ReducingStateDescriptor<number>("s", (x, y) => x + y)),
        /value state .* requested as reducing state/,
      );
    });

    it("a name reused with another type is refused when both descriptors give types", () => {
      const b = backend();
      b.getState(new ValueStateDescriptor("t", Types.NUMBER));
      assert.doesNotThrow(() => b.getState(new ValueStateDescriptor("t")));
      assert.doesNotThrow(() => b.getState(new ValueStateDescriptor("t", Types.NUMBER)));
      assert.throws(
        () => b.getState(new ValueStateDescriptor("t", Types.STRING)),
        /registered as value state of NUMBER and is now requested as value state of STRING/,
      );
      b.getMapState(new MapStateDescriptor("m", Types.STRING, Types.NUMBER));
      assert.throws(
        () => b.getMapState(new MapStateDescriptor("m", Types.STRING, Types.STRING)),
        /map state of STRING -> NUMBER .* map state of STRING -> STRING/,
      );
    });

    it("applyToAllKeys visits every key with its state current, then restores the current key", () => {
      const b = backend();
      const d = new ValueStateDescriptor<number>("v");
      const s = b.getState(d);
      for (const k of ["a", "b", "c"]) {
        at(b, k);
        s.update(k.charCodeAt(0));
      }
      at(b, "z", "w");
      const seen: Array<[unknown, number | undefined]> = [];
      b.applyToAllKeys<typeof s>(d, (key, st) => {
        seen.push([key, st.value()]);
        if (key === "b") st.clear();
        else st.update(0);
      });
      assert.deepEqual(seen.sort(), [
        ["a", 97],
        ["b", 98],
        ["c", 99],
      ]);
      assert.equal(b.getCurrentKey(), "z");
      assert.equal(b.getCurrentNamespace(), "w");
      assert.deepEqual(b.getKeys("v").sort(), ["a", "c"]);
      assert.equal(b.size("v"), 2);
    });
  });
}
