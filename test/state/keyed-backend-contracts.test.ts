// Small contracts both keyed backends (heap, embedded) keep alike, over a key-group range that does
// not start at 0: namespaces are checked on every entry point, a map state's get under TTL of a key
// without any entry, -0 and 0 being one key (as in a JS Map) whether a current key, a namespace or
// a user key, and the keys and sizes listed over every key group of the range, the last included.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import { MapStateDescriptor, StateTtlConfig, ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import type { KeyedStateBackend } from "../../src/state/keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 128;
const RANGE: KeyGroupRange = { start: 40, end: 47 };

/** A key of key group `kg` (found by trying names). */
function keyIn(kg: number, nth = 0): string {
  let found = 0;
  for (let i = 0; ; i++) {
    if (assignToKeyGroup(`k${i}`, MAX) === kg && found++ === nth) return `k${i}`;
  }
}

const backends: Array<[string, (range: KeyGroupRange) => KeyedStateBackend]> = [
  ["heap", (range) => new HeapKeyedStateBackend(range)],
  ["embedded", (range) => new EmbeddedKeyedStateBackend(range, { cacheEntries: 4 })],
];

for (const [label, create] of backends) {
  describe(`${label} backend: contracts`, () => {
    function withBackend(range: KeyGroupRange, fn: (b: KeyedStateBackend) => void): void {
      const b = create(range);
      try {
        fn(b);
      } finally {
        (b as { dispose?: () => void }).dispose?.();
      }
    }
    const at = (b: KeyedStateBackend, key: unknown) => b.setCurrentKey(key, assignToKeyGroup(key, MAX));

    it("clearNamespace refuses a namespace that is not a string, a number or VOID", () => {
      withBackend(RANGE, (b) => {
        b.getState(new ValueStateDescriptor<number>("v", Types.NUMBER));
        at(b, keyIn(RANGE.start));
        for (const ns of [{ start: 0, end: 1 }, null, undefined]) {
          assert.throws(
            () => b.clearNamespace(ns as never),
            (e: unknown) =>
              e instanceof InvalidArgumentError && /a state namespace must be a string/.test(e.message),
          );
          assert.throws(() => b.clearNamespace(ns as never, "v"), InvalidArgumentError);
        }
      });
    });

    it("a map state under TTL reads an absent user key of a key without entries as undefined", () => {
      withBackend(RANGE, (b) => {
        b.setTimeProvider(() => 1000);
        const m = b.getMapState(
          new MapStateDescriptor<string, number>("m", Types.STRING, Types.NUMBER).enableTimeToLive(
            StateTtlConfig.newBuilder(100).build(),
          ),
        );
        at(b, keyIn(RANGE.start));
        b.setCurrentNamespace(VOID_NAMESPACE);
        assert.equal(m.get("absent"), undefined);
        assert.equal(m.contains("absent"), false);
        m.put("present", 1);
        assert.equal(m.get("absent"), undefined);
        assert.equal(m.get("present"), 1);
        at(b, keyIn(RANGE.start, 1));
        assert.equal(m.get("present"), undefined, "another key has no entries");
      });
    });

    it("-0 and 0 are one key, one namespace and one user key, as in a JS Map", () => {
      withBackend({ start: 0, end: MAX - 1 }, (b) => {
        const v = b.getState(new ValueStateDescriptor<string>("v", Types.STRING));
        const m = b.getMapState(new MapStateDescriptor<number, string>("m", Types.NUMBER, Types.STRING));
        at(b, -0);
        b.setCurrentNamespace(-0);
        v.update("a");
        m.put(-0, "x");
        m.put(0, "y");
        at(b, 0);
        b.setCurrentNamespace(0);
        assert.equal(v.value(), "a");
        assert.deepEqual([...m.entries()], [[0, "y"]]);
        assert.equal(m.get(-0), "y");
        assert.deepEqual(b.getKeys("v", 0), [0]);
        assert.equal(b.size("v"), 1);
        assert.equal(b.size("m"), 1);
      });
    });

    it("keys and sizes cover every key group of the range, the first and the last", () => {
      withBackend(RANGE, (b) => {
        const v = b.getState(new ValueStateDescriptor<number>("v", Types.NUMBER));
        const m = b.getMapState(new MapStateDescriptor<string, number>("m", Types.STRING, Types.NUMBER));
        const keys: string[] = [];
        for (let kg = RANGE.start; kg <= RANGE.end; kg++) {
          for (const nth of [0, 1]) {
            const k = keyIn(kg, nth);
            keys.push(k);
            at(b, k);
            b.setCurrentNamespace(VOID_NAMESPACE);
            v.update(kg);
            m.put("a", 1);
            m.put("b", 2);
          }
        }
        assert.deepEqual(b.getKeys("v").sort(), [...keys].sort());
        assert.deepEqual(
          b.getKeys("m").sort(),
          [...keys].sort(),
          "a map state's key once, however many user keys",
        );
        assert.equal(b.size("v"), keys.length);
        assert.deepEqual(b.getKeys("never-registered"), []);
        assert.equal(b.size("never-registered"), 0);
      });
    });
    it("a snapshot lists every key group holding entries, ascending, within the range; the others read empty", () => {
      withBackend(RANGE, (b) => {
        const v = b.getState(new ValueStateDescriptor<number>("v", Types.NUMBER));
        const held = [RANGE.start, RANGE.start + 3, RANGE.end];
        for (const kg of held) {
          at(b, keyIn(kg));
          b.setCurrentNamespace(VOID_NAMESPACE);
          v.update(kg);
        }
        at(b, keyIn(RANGE.start + 5));
        v.update(1);
        v.clear(); // written, then emptied: holds nothing at the snapshot
        const snap = b.snapshot();
        try {
          const listed = [...snap.keyGroups];
          assert.deepEqual(
            listed,
            [...listed].sort((x, y) => x - y),
            "ascending",
          );
          assert.equal(new Set(listed).size, listed.length, "each once");
          assert.ok(
            listed.every((kg) => kg >= RANGE.start && kg <= RANGE.end),
            listed.join(","),
          );
          for (const kg of held) assert.ok(listed.includes(kg), `key group ${kg} is listed`);
          for (const kg of listed) {
            const entries = snap.entries(kg);
            assert.deepEqual(
              entries,
              held.includes(kg) ? [["v", null, keyIn(kg), kg]] : [],
              `key group ${kg}`,
            );
          }
        } finally {
          snap.release();
        }
      });
    });
    it("a map state of a key without entries: absent, empty, nothing listed; with and without TTL", () => {
      withBackend(RANGE, (b) => {
        b.setTimeProvider(() => 1000);
        const plain = b.getMapState(
          new MapStateDescriptor<string, number>("plain", Types.STRING, Types.NUMBER),
        );
        const ttl = b.getMapState(
          new MapStateDescriptor<string, number>("ttl", Types.STRING, Types.NUMBER).enableTimeToLive(
            StateTtlConfig.newBuilder(100).build(),
          ),
        );
        at(b, keyIn(RANGE.end));
        b.setCurrentNamespace(VOID_NAMESPACE);
        for (const m of [plain, ttl]) {
          assert.equal(m.contains("a"), false);
          assert.equal(m.isEmpty(), true);
          assert.deepEqual([...m.entries()], []);
          assert.deepEqual([...m.keys()], []);
          assert.deepEqual([...m.values()], []);
          m.remove("a"); // nothing to remove: no error, nothing created
          assert.equal(m.isEmpty(), true);
        }
        assert.equal(b.size("plain") + b.size("ttl"), 0);
      });
    });

    it("a map state's key leaves the state with its last user key", () => {
      withBackend(RANGE, (b) => {
        const m = b.getMapState(new MapStateDescriptor<string, number>("m", Types.STRING, Types.NUMBER));
        at(b, keyIn(RANGE.start));
        b.setCurrentNamespace(VOID_NAMESPACE);
        m.putAll([
          ["a", 1],
          ["b", 2],
        ]);
        assert.equal(b.size("m"), 1);
        m.remove("a");
        assert.equal(b.size("m"), 1);
        assert.equal(m.isEmpty(), false);
        m.remove("b");
        assert.equal(m.isEmpty(), true);
        assert.equal(b.size("m"), 0);
        assert.deepEqual(b.getKeys("m"), []);
      });
    });

    it("a map state refuses user keys that are not strings, numbers, booleans or bigints", () => {
      withBackend(RANGE, (b) => {
        const m = b.getMapState(new MapStateDescriptor<unknown, number>("m"));
        at(b, keyIn(RANGE.start));
        b.setCurrentNamespace(VOID_NAMESPACE);
        for (const [k, what] of [
          [undefined, "undefined"],
          [null, "null"],
          [{}, "object"],
          [() => 0, "function"],
        ] as const) {
          assert.throws(
            () => m.put(k, 1),
            (e: unknown) =>
              e instanceof InvalidArgumentError &&
              e.message.startsWith(
                `map state 'm': user keys must be strings, numbers, booleans or bigints, got ${what};`,
              ),
          );
        }
        for (const k of ["s", 1, true, 5n]) m.put(k, 1);
        assert.equal([...m.keys()].length, 4);
      });
    });
    it("a map state under TTL: an expired entry is returned once by contains (if so configured), then gone", () => {
      withBackend(RANGE, (b) => {
        const clock = { t: 1000 };
        b.setTimeProvider(() => clock.t);
        const config = StateTtlConfig.newBuilder(100)
          .returnExpiredIfNotCleanedUp()
          .cleanupFullSnapshot()
          .build();
        const m = b.getMapState(
          new MapStateDescriptor<string, number>("m", Types.STRING, Types.NUMBER).enableTimeToLive(config),
        );
        at(b, keyIn(RANGE.start));
        b.setCurrentNamespace(VOID_NAMESPACE);
        m.put("a", 1);
        clock.t = 1200;
        assert.equal(b.size("m"), 1, "expired, not cleaned up yet");
        assert.equal(m.contains("a"), true, "returned once");
        assert.equal(m.contains("a"), false);
        assert.equal(b.size("m"), 0, "the key left with its last entry");
      });
    });

    it("a map state's remove is an access: it advances the incremental TTL cleanup", () => {
      withBackend(RANGE, (b) => {
        const clock = { t: 1000 };
        b.setTimeProvider(() => clock.t);
        const config = StateTtlConfig.newBuilder(100).cleanupIncrementally(100).build();
        const m = b.getMapState(
          new MapStateDescriptor<string, number>("m", Types.STRING, Types.NUMBER).enableTimeToLive(config),
        );
        for (let i = 0; i < 5; i++) {
          at(b, keyIn(RANGE.start + 1, i));
          b.setCurrentNamespace(VOID_NAMESPACE);
          m.put("a", i);
        }
        assert.equal(b.size("m"), 5);
        clock.t = 1200;
        at(b, keyIn(RANGE.end));
        for (let i = 0; i < 3; i++) m.remove("nothing");
        assert.equal(b.size("m"), 0, "the expired entries of the other keys were cleaned up");
      });
    });
  });
}
