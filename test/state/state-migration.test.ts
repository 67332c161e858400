// Restoring keyed state under a changed declaration (Flink's state schema evolution): a checkpoint
// records each state's kind, declared types and TTL (state-meta.ts); a state that registers after
// a restore is read as it is, migrated once (record fields added or removed, TTL turned on or
// off), or refused with one StateMigrationError naming the state and the change. Both backends,
// through the checkpoint's real key-group encoding; a restore again after a checkpoint taken
// before the state registered (the records travel with the entries); key groups written under
// different declarations by different old subtasks.

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { decodeKeyGroup, encodeKeyGroupFrom } from "../../src/checkpoint/state-file.ts";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import {
  ListStateDescriptor,
  MapStateDescriptor,
  StateMigrationError,
  StateTtlConfig,
  ValueStateDescriptor,
} from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import type { KeyGroupSnapshotEntry, KeyedStateBackend } from "../../src/state/keyed-state-backend.ts";
import type { StateMetaRanges } from "../../src/state/state-meta.ts";

const MAX = 128;
const FULL: KeyGroupRange = { start: 0, end: MAX - 1 };
const KEYS = ["a", "b", "c", "d", "e", "f", "g", "h"];

interface Checkpoint {
  groups: Array<[number, KeyGroupSnapshotEntry[]]>;
  meta: StateMetaRanges;
}

/** A checkpoint of `b` as a restore reads it: key groups through their encoding, the records beside them. */
function checkpoint(b: KeyedStateBackend): Checkpoint {
  const meta = structuredClone(b.stateMetaInfo());
  const snap = b.snapshot();
  const groups: Checkpoint["groups"] = [];
  try {
    for (const kg of snap.keyGroups) {
      const g = decodeKeyGroup(
        encodeKeyGroupFrom((emit) => snap.read(kg, emit), []),
        `key group ${kg}`,
      );
      if (g.entries.length > 0) groups.push([kg, g.entries]);
    }
  } finally {
    snap.release();
  }
  return { groups, meta };
}

function restore(b: KeyedStateBackend, ...cps: Checkpoint[]): KeyedStateBackend {
  for (const cp of cps) b.restoreStateMetaInfo(cp.meta);
  for (const cp of cps) for (const [kg, entries] of cp.groups) b.restoreKeyGroup(kg, entries);
  return b;
}

function at(b: KeyedStateBackend, key: string): void {
  b.setCurrentKey(key, assignToKeyGroup(key, MAX));
}

const created: KeyedStateBackend[] = [];
after(() => {
  for (const b of created) b.dispose();
});
const backends: Array<[string, (range?: KeyGroupRange) => KeyedStateBackend]> = [
  ["heap", (range = FULL) => new HeapKeyedStateBackend(range, MAX)],
  [
    "embedded",
    (range = FULL) => {
      const b = new EmbeddedKeyedStateBackend(range, { cacheEntries: 4 });
      created.push(b);
      return b;
    },
  ],
];

const V1 = () => new ValueStateDescriptor("acc", Types.OBJECT({ count: Types.INT, old: Types.STRING }));

/** A checkpoint of "acc" = {count: i, old: "x<i>"} for every key, written under V1. */
function v1Checkpoint(make: () => KeyedStateBackend): Checkpoint {
  const b = make();
  const st = b.getState(V1());
  KEYS.forEach((k, i) => {
    at(b, k);
    st.update({ count: i, old: `x${i}` });
  });
  return checkpoint(b);
}

for (const [name, make] of backends) {
  describe(`restoring changed state declarations (${name})`, () => {
    it("the same declaration reads its values as they were", () => {
      const b = restore(make(), v1Checkpoint(make));
      const st = b.getState(V1());
      KEYS.forEach((k, i) => {
        at(b, k);
        assert.deepEqual(st.value(), { count: i, old: `x${i}` });
      });
    });

    it("a record field added as NULLABLE reads null, a field removed is dropped", () => {
      const b = restore(make(), v1Checkpoint(make));
      const v2 = new ValueStateDescriptor(
        "acc",
        Types.OBJECT({ count: Types.INT, added: Types.NULLABLE(Types.STRING) }),
      );
      const st = b.getState(v2);
      KEYS.forEach((k, i) => {
        at(b, k);
        assert.deepEqual(st.value(), { count: i, added: null });
      });
      // The migrated values are the state's own: a checkpoint of them restores under v2 as they are.
      at(b, "a");
      st.update({ count: 100, added: "y" });
      const c = restore(make(), checkpoint(b));
      const st3 = c.getState(v2);
      at(c, "a");
      assert.deepEqual(st3.value(), { count: 100, added: "y" });
      at(c, "b");
      assert.deepEqual(st3.value(), { count: 1, added: null });
    });

    it("a non-nullable field added, another type or another kind fails with one error naming the change", () => {
      const cp = v1Checkpoint(make);
      const cases: Array<[() => unknown, RegExp]> = [
        [
          () =>
            restore(make(), cp).getState(
              new ValueStateDescriptor("acc", Types.OBJECT({ count: Types.INT, added: Types.STRING })),
            ),
          /state 'acc' cannot be restored: field 'added' \(Types\.STRING\) is new.*Types\.NULLABLE\(Types\.STRING\)/,
        ],
        [
          () =>
            restore(make(), cp).getState(
              new ValueStateDescriptor("acc", Types.OBJECT({ count: Types.STRING, old: Types.STRING })),
            ),
          /field 'count' was written as Types\.INT and cannot be read as Types\.STRING/,
        ],
        [
          () => restore(make(), cp).getState(new ValueStateDescriptor("acc", Types.STRING)),
          /the value was written as Types\.OBJECT\(\{count: Types\.INT, old: Types\.STRING\}\) and cannot be read as Types\.STRING/,
        ],
        [
          () => restore(make(), cp).getListState(new ListStateDescriptor("acc", Types.INT)),
          /written as value state and is now registered as list state/,
        ],
      ];
      for (const [run, message] of cases) {
        assert.throws(
          run,
          (e: unknown) => e instanceof StateMigrationError && message.test((e as Error).message),
        );
      }
    });

    it("an incompatible declaration fails even where this subtask restored no entry of it", () => {
      // Another subtask's key groups held the entries; this one holds only the record.
      const cp = v1Checkpoint(make);
      const empty = { groups: [], meta: cp.meta };
      assert.throws(
        () => restore(make(), empty).getState(new ValueStateDescriptor("acc", Types.NUMBER)),
        StateMigrationError,
      );
    });

    it("INT read as NUMBER, and a type made NULLABLE, need no migration", () => {
      const b = make();
      b.getState(new ValueStateDescriptor("n", Types.INT));
      at(b, "a");
      b.getState(new ValueStateDescriptor("n", Types.INT)).update(7);
      const cp = checkpoint(b);
      const num = restore(make(), cp);
      at(num, "a");
      assert.equal(num.getState(new ValueStateDescriptor("n", Types.NUMBER)).value(), 7);
      const nullable = restore(make(), cp);
      at(nullable, "a");
      assert.equal(nullable.getState(new ValueStateDescriptor("n", Types.NULLABLE(Types.INT))).value(), 7);
    });

    it("TTL turned on keeps every value and times it from the restore; turned off unwraps it", () => {
      const clock = { t: 1_000 };
      const cp = v1Checkpoint(make);
      const b = restore(make(), cp);
      b.setTimeProvider(() => clock.t);
      clock.t = 5_000;
      const ttl = V1().enableTimeToLive(StateTtlConfig.newBuilder(1_000).build());
      const st = b.getState(ttl);
      clock.t = 5_900;
      KEYS.forEach((k, i) => {
        at(b, k);
        assert.deepEqual(st.value(), { count: i, old: `x${i}` });
      });
      clock.t = 7_000; // 1,000 ms after the last read refreshed nothing (OnCreateAndWrite): expired
      at(b, "a");
      assert.equal(st.value(), undefined);

      const withTtl = make();
      withTtl.setTimeProvider(() => clock.t);
      const t1 = withTtl.getState(ttl);
      at(withTtl, "a");
      t1.update({ count: 1, old: "z" });
      const off = restore(make(), checkpoint(withTtl));
      at(off, "a");
      assert.deepEqual(off.getState(V1()).value(), { count: 1, old: "z" });
    });

    it("list elements and map values migrate; map keys cannot", () => {
      const b = make();
      const list = new ListStateDescriptor("l", Types.OBJECT({ a: Types.INT }));
      const map = new MapStateDescriptor("m", Types.STRING, Types.OBJECT({ a: Types.INT }));
      at(b, "a");
      b.getListState(list).update([{ a: 1 }, { a: 2 }]);
      b.getMapState(map).putAll(
        new Map([
          ["p", { a: 3 }],
          ["q", { a: 4 }],
        ]),
      );
      const cp = checkpoint(b);
      const r = restore(make(), cp);
      at(r, "a");
      const ext = Types.OBJECT({ a: Types.INT, b: Types.NULLABLE(Types.BOOLEAN) });
      assert.deepEqual(
        [...r.getListState(new ListStateDescriptor("l", ext)).get()],
        [
          { a: 1, b: null },
          { a: 2, b: null },
        ],
      );
      const m = r.getMapState(new MapStateDescriptor("m", Types.STRING, ext));
      assert.deepEqual(m.get("q"), { a: 4, b: null });
      assert.deepEqual(m.get("p"), { a: 3, b: null });
      assert.throws(
        () =>
          restore(make(), cp).getMapState(
            new MapStateDescriptor("m", Types.INT, Types.OBJECT({ a: Types.INT })),
          ),
        /its map keys were Types\.STRING and are now Types\.INT/,
      );
    });

    it("a state registered before its key groups are restored reads them migrated", () => {
      const cp = v1Checkpoint(make);
      const b = make();
      const v2 = new ValueStateDescriptor(
        "acc",
        Types.OBJECT({ count: Types.INT, added: Types.NULLABLE(Types.INT) }),
      );
      const st = b.getState(v2);
      restore(b, cp);
      at(b, "c");
      assert.deepEqual(st.value(), { count: 2, added: null });
      // Registered under a type the records refuse: the restore itself fails.
      const early = make();
      early.getState(new ValueStateDescriptor("acc", Types.NUMBER));
      assert.throws(() => restore(early, cp), StateMigrationError);
    });

    it("a checkpoint taken before the state registered again keeps the old record: a second restore still migrates", () => {
      const first = restore(make(), v1Checkpoint(make));
      const second = restore(make(), checkpoint(first)); // "acc" never registered in `first`
      const v2 = new ValueStateDescriptor(
        "acc",
        Types.OBJECT({ count: Types.INT, added: Types.NULLABLE(Types.STRING) }),
      );
      const st = second.getState(v2);
      at(second, "h");
      assert.deepEqual(st.value(), { count: 7, added: null });
    });

    it("key groups written under different declarations are each migrated by their own", () => {
      // Old subtask 1 (key groups 0..63) never registered "acc" after restoring v1 and wrote v1's
      // record; old subtask 2 (64..127) registered v2 and wrote its values with a field set.
      const v2 = new ValueStateDescriptor(
        "acc",
        Types.OBJECT({ count: Types.INT, added: Types.NULLABLE(Types.STRING) }),
      );
      const low: KeyGroupRange = { start: 0, end: 63 };
      const high: KeyGroupRange = { start: 64, end: 127 };
      const v1 = v1Checkpoint(make);
      const s1 = restore(make(low), v1);
      const s2 = restore(make(high), v1);
      const st2 = s2.getState(v2);
      const inHigh = KEYS.filter((k) => assignToKeyGroup(k, MAX) >= 64);
      const inLow = KEYS.filter((k) => assignToKeyGroup(k, MAX) < 64);
      assert.ok(inHigh.length > 0 && inLow.length > 0, "keys on both sides");
      for (const k of inHigh) {
        at(s2, k);
        st2.update({ count: 50, added: `set-${k}` });
      }
      const merged = restore(make(), checkpoint(s1), checkpoint(s2));
      const st = merged.getState(v2);
      for (const k of inHigh) {
        at(merged, k);
        assert.deepEqual(st.value(), { count: 50, added: `set-${k}` });
      }
      for (const k of inLow) {
        at(merged, k);
        assert.deepEqual(st.value(), { count: KEYS.indexOf(k), added: null });
      }
    });
  });
}
