// The current key's context, alike on both keyed backends (heap, embedded) over a key-group range
// that does not start at 0: a key group just outside the range is refused as current, the current
// key group is the one given (not its index in the range), mergeNamespaces and clearNamespace leave
// a state that was never registered alone, and mergeNamespaces checks the namespaces of one that
// was, target and sources; a restored state not registered yet lists its keys; and after
// applyToAllKeys a state handle reads the current key again, not the last one visited.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import {
  ListStateDescriptor,
  MapStateDescriptor,
  StateTtlConfig,
  ValueStateDescriptor,
} from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import type { KeyedStateBackend } from "../../src/state/keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 128;
const RANGE: KeyGroupRange = { start: 40, end: 47 };

/** A key of key group `kg` (found by trying names). */
function keyIn(kg: number): string {
  for (let i = 0; ; i++) if (assignToKeyGroup(`k${i}`, MAX) === kg) return `k${i}`;
}

const backends: Array<[string, () => KeyedStateBackend]> = [
  ["heap", () => new HeapKeyedStateBackend(RANGE)],
  ["embedded", () => new EmbeddedKeyedStateBackend(RANGE, { cacheEntries: 4 })],
];

for (const [label, create] of backends) {
  describe(`${label} backend: the current key over key groups ${RANGE.start}..${RANGE.end}`, () => {
    function withBackend(fn: (b: KeyedStateBackend) => void): void {
      const b = create();
      try {
        fn(b);
      } finally {
        (b as { dispose?: () => void }).dispose?.();
      }
    }

    it("refuses a current key of a key group just outside the range, either side", () => {
      withBackend((b) => {
        for (const kg of [RANGE.start - 1, RANGE.end + 1]) {
          assert.throws(() => b.setCurrentKey(keyIn(kg), kg), /key group|range/, `key group ${kg}`);
        }
        for (const kg of [RANGE.start, RANGE.end]) b.setCurrentKey(keyIn(kg), kg);
      });
    });

    it("the current key group is the one given, at either end of the range", () => {
      withBackend((b) => {
        for (const kg of [RANGE.start, RANGE.start + 3, RANGE.end]) {
          b.setCurrentKey(keyIn(kg), kg);
          assert.equal(b.getCurrentKeyGroup(), kg);
          assert.equal(b.getCurrentKey(), keyIn(kg));
        }
      });
    });

    it("mergeNamespaces of a state never registered does nothing, whatever the namespaces", () => {
      withBackend((b) => {
        b.setCurrentKey(keyIn(RANGE.start), RANGE.start);
        b.mergeNamespaces("never-registered", "t", ["s1", "s2"]);
        b.mergeNamespaces("never-registered", { w: 1 } as never, [null as never]);
      });
    });

    it("clearNamespace of one state never registered nor restored does nothing", () => {
      withBackend((b) => {
        const l = b.getListState(new ListStateDescriptor<number>("l", Types.NUMBER));
        b.setCurrentKey(keyIn(RANGE.end), RANGE.end);
        b.setCurrentNamespace("w");
        l.add(5);
        b.clearNamespace("w", "never-registered");
        assert.deepEqual([...l.get()], [5]);
      });
    });

    it("getKeys and size of a restored state not registered yet: its keys, in every namespace asked", () => {
      withBackend((b) => {
        b.restoreKeyGroup(RANGE.start, [
          ["v", null, keyIn(RANGE.start), 1],
          ["v", "w", keyIn(RANGE.start), 2],
        ]);
        b.restoreKeyGroup(RANGE.end, [["v", null, keyIn(RANGE.end), 3]]);
        assert.deepEqual(b.getKeys("v").sort(), [keyIn(RANGE.start), keyIn(RANGE.end)].sort());
        assert.deepEqual(b.getKeys("v", "w"), [keyIn(RANGE.start)]);
        assert.equal(b.size("v"), 3);
        assert.deepEqual(b.getKeys("never-registered"), []);
        assert.equal(b.size("never-registered"), 0);
      });
    });

    it("after applyToAllKeys read every key's state, the handle reads the current key's again", () => {
      withBackend((b) => {
        const descriptor = new ValueStateDescriptor<string>("v", Types.STRING);
        const v = b.getState(descriptor);
        const keys = [keyIn(RANGE.start), keyIn(RANGE.start + 2), keyIn(RANGE.end)];
        const kgs = [RANGE.start, RANGE.start + 2, RANGE.end];
        for (const [i, k] of keys.entries()) {
          b.setCurrentKey(k, kgs[i]!);
          v.update(`value of ${k}`);
        }
        b.setCurrentKey(keys[1]!, kgs[1]!);
        const seen: string[] = [];
        b.applyToAllKeys(descriptor, (key) => {
          seen.push(`${String(key)}=${v.value()}`);
        });
        assert.deepEqual(seen.sort(), keys.map((k) => `${k}=value of ${k}`).sort());
        assert.equal(b.getCurrentKey(), keys[1]);
        assert.equal(v.value(), `value of ${keys[1]}`, "the current key's value, not the last visited");
        v.update("changed");
        b.setCurrentKey(keys[2]!, kgs[2]!);
        assert.equal(v.value(), `value of ${keys[2]}`);
        b.setCurrentKey(keys[1]!, kgs[1]!);
        assert.equal(v.value(), "changed");
        // read only at the key visited before the last one, from another current key
        b.setCurrentKey(keys[0]!, kgs[0]!);
        b.applyToAllKeys(descriptor, (key) => {
          if (key === keys[1]) assert.equal(v.value(), "changed");
        });
        assert.equal(v.value(), `value of ${keys[0]}`);
      });
    });

    it("a snapshot taken before restored states register reads them as restored, though they register before the read", () => {
      withBackend((b) => {
        const kg = RANGE.start + 1;
        const key = keyIn(kg);
        const restored: Array<[string, unknown, unknown, unknown]> = [
          [
            "m",
            null,
            key,
            new Map<string, number>([
              ["a", 1],
              ["b", 2],
            ]),
          ],
          ["v", "w", key, 7],
        ];
        b.restoreKeyGroup(kg, restored);
        const snap = b.snapshot();
        try {
          b.getMapState(new MapStateDescriptor<string, number>("m", Types.STRING, Types.NUMBER));
          b.getState(new ValueStateDescriptor<number>("v", Types.NUMBER));
          const entries = snap
            .entries(kg)
            .map(([st, ns, k, v]) => [st, ns, k, v instanceof Map ? [...v].sort() : v]);
          assert.deepEqual(
            entries.sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
            [
              [
                "m",
                null,
                key,
                [
                  ["a", 1],
                  ["b", 2],
                ],
              ],
              ["v", "w", key, 7],
            ],
          );
        } finally {
          snap.release();
        }
      });
    });

    it("cleanupExpired removes the expired entries of every key group of the range, the last included", () => {
      withBackend((b) => {
        let now = 1000;
        b.setTimeProvider(() => now);
        const v = b.getState(
          new ValueStateDescriptor<number>("v", Types.NUMBER).enableTimeToLive(
            StateTtlConfig.newBuilder(100).cleanupFullSnapshot().build(),
          ),
        );
        for (const kg of [RANGE.start, RANGE.start + 4, RANGE.end]) {
          b.setCurrentKey(keyIn(kg), kg);
          v.update(kg);
        }
        now += 100;
        b.setCurrentKey(keyIn(RANGE.start + 1), RANGE.start + 1);
        v.update(-1); // fresh
        assert.equal(b.cleanupExpired(), 3);
        assert.deepEqual(b.getKeys("v"), [keyIn(RANGE.start + 1)]);
        assert.equal(b.cleanupExpired(), 0);
      });
    });

    it("key groups restored after the states registered read back as restored; others of the range are ignored", () => {
      withBackend((b) => {
        const v = b.getState(new ValueStateDescriptor<number>("v", Types.NUMBER));
        const m = b.getMapState(new MapStateDescriptor<string, number>("m", Types.STRING, Types.NUMBER));
        const l = b.getListState(new ListStateDescriptor<string>("l", Types.STRING));
        for (const kg of [RANGE.start - 1, RANGE.start, RANGE.end, RANGE.end + 1]) {
          b.restoreKeyGroup(kg, [
            ["v", null, keyIn(kg), kg],
            ["m", null, keyIn(kg), new Map([["a", kg]])],
            ["l", "w", keyIn(kg), [`x${kg}`, "y"]],
          ]);
        }
        for (const kg of [RANGE.start, RANGE.end]) {
          b.setCurrentKey(keyIn(kg), kg);
          assert.equal(v.value(), kg);
          assert.equal(m.get("a"), kg);
          b.setCurrentNamespace("w");
          assert.deepEqual([...l.get()], [`x${kg}`, "y"]);
          b.setCurrentNamespace(VOID_NAMESPACE);
        }
        assert.equal(b.size("v"), 2);
        assert.equal(b.size("m"), 2);
        assert.deepEqual(b.getKeys("l", "w").sort(), [keyIn(RANGE.start), keyIn(RANGE.end)].sort());
      });
    });

    it("clearNamespace clears restored entries of states not registered yet, one state or all", () => {
      withBackend((b) => {
        const kg = RANGE.start + 6;
        const key = keyIn(kg);
        b.restoreKeyGroup(kg, [
          ["a", "w1", key, 1],
          ["a", "w2", key, 2],
          ["b", "w1", key, 3],
          ["b", "w2", key, 4],
        ]);
        assert.deepEqual(b.stateNames(), []);
        b.setCurrentKey(key, kg);
        b.clearNamespace("w1", "a");
        b.clearNamespace("w2");
        const a = b.getState(new ValueStateDescriptor<number>("a", Types.NUMBER));
        const c = b.getState(new ValueStateDescriptor<number>("b", Types.NUMBER));
        assert.deepEqual(b.stateNames().sort(), ["a", "b"]);
        const read = (s: typeof a, ns: string) => {
          b.setCurrentNamespace(ns);
          return s.value();
        };
        assert.deepEqual(
          [read(a, "w1"), read(a, "w2"), read(c, "w1"), read(c, "w2")],
          [undefined, undefined, 3, undefined],
        );
      });
    });

    it("mergeNamespaces checks the target and every source namespace of a registered state", () => {
      withBackend((b) => {
        const l = b.getListState(new ListStateDescriptor<number>("l", Types.NUMBER));
        b.setCurrentKey(keyIn(RANGE.start), RANGE.start);
        b.setCurrentNamespace("s1");
        l.add(1);
        const refused = (e: unknown) =>
          e instanceof InvalidArgumentError && /a state namespace must be a string/.test(e.message);
        assert.throws(() => b.mergeNamespaces("l", { start: 0, end: 1 } as never, ["s1"]), refused);
        assert.throws(() => b.mergeNamespaces("l", "t", ["s1", { start: 0, end: 1 } as never]), refused);
        assert.throws(() => b.mergeNamespaces("l", "t", [null as never]), refused);
        // nothing was merged by the refused calls
        b.setCurrentNamespace("s1");
        assert.deepEqual([...l.get()], [1]);
        b.mergeNamespaces("l", "t", ["s1"]);
        b.setCurrentNamespace("t");
        assert.deepEqual([...l.get()], [1]);
      });
    });
  });
}
