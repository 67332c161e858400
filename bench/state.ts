// State-access section: ValueState value()+update() per record on the heap keyed backend (the
// read-modify-write of a rolling count), with the key group given or hashed per record, in the
// void namespace or rotating over 4 namespaces (as a window operator does), with and without
// TTL, next to a bare Map get+set. `stateSections` is for bench/run.ts;
// `node --import tsx --expose-gc bench/state.ts` runs it alone.

import { assignToKeyGroup } from "../src/core/key-groups.ts";
import { StateTtlConfig, ValueStateDescriptor } from "../src/core/state.ts";
import { HeapKeyedStateBackend } from "../src/state/heap-keyed-state-backend.ts";
import { type Run, type Section, type Variant, runSection } from "./lib/harness.ts";

const RECORDS = 4_000_000;
const DISTINCT = 10_000;
const MAX = 128;
const SLICE = 1 << 16;
const NAMESPACES = [0, 1000, 2000, 3000];

const KEYS: readonly string[] = Array.from({ length: DISTINCT }, (_, i) => `key:${i}`);
const KEY_GROUPS = Int32Array.from(KEYS, (k) => assignToKeyGroup(k, MAX));

/** Runs `slice` over [0, n) in 64 Ki slices: regular TurboFan code, not OSR (feasibility.md §0). */
function timed(n: number, slice: (from: number, to: number) => void, check: () => number): Run {
  const t0 = performance.now();
  for (let from = 0; from < n; from += SLICE) slice(from, Math.min(n, from + SLICE));
  const ms = performance.now() - t0;
  return { records: n, ms, check: check() };
}

function mapVariant(): Variant {
  return {
    name: "plain Map<string, number> get+set",
    baseline: true,
    async run(scale) {
      const m = new Map<string, number>();
      return timed(
        Math.round(RECORDS * scale),
        (from, to) => {
          for (let i = from; i < to; i++) {
            const k = KEYS[(i * 7919) % DISTINCT]!;
            const v = m.get(k);
            m.set(k, v === undefined ? 1 : v + 1);
          }
        },
        () => {
          let s = 0;
          for (const v of m.values()) s += v;
          return s;
        },
      );
    },
  };
}

interface StateOptions {
  /** Hash the key into its key group per record (as a keyed operator does). */
  hash?: boolean;
  namespaces?: boolean;
  ttl?: boolean;
}

function stateVariant(name: string, o: StateOptions): Variant {
  return {
    name,
    async run(scale) {
      const b = new HeapKeyedStateBackend({ start: 0, end: MAX - 1 });
      const d = new ValueStateDescriptor<number>("count");
      if (o.ttl) d.enableTimeToLive(StateTtlConfig.newBuilder(3_600_000).build());
      const s = b.getState(d);
      const hash = o.hash === true;
      const nss = o.namespaces === true;
      return timed(
        Math.round(RECORDS * scale),
        (from, to) => {
          for (let i = from; i < to; i++) {
            const j = (i * 7919) % DISTINCT;
            const k = KEYS[j]!;
            b.setCurrentKey(k, hash ? assignToKeyGroup(k, MAX) : KEY_GROUPS[j]!);
            if (nss) b.setCurrentNamespace(NAMESPACES[i & 3]!);
            const v = s.value();
            s.update(v === undefined ? 1 : v + 1);
          }
        },
        () => {
          let sum = 0;
          for (const ns of nss ? NAMESPACES : [undefined]) {
            if (ns !== undefined) b.setCurrentNamespace(ns);
            for (let j = 0; j < DISTINCT; j++) {
              b.setCurrentKey(KEYS[j]!, KEY_GROUPS[j]!);
              sum += s.value() ?? 0;
            }
          }
          return sum;
        },
      );
    },
  };
}

export const stateSections: Section[] = [
  {
    id: "state-value",
    title: "Keyed ValueState value()+update() per record (heap backend)",
    description: `${RECORDS.toLocaleString("en-US")} read-modify-writes over ${DISTINCT.toLocaleString("en-US")} string keys (scattered order), ${MAX} key groups; check = sum of the stored counts.`,
    variants: [
      mapVariant(),
      stateVariant("ValueState, key group given", {}),
      stateVariant("ValueState, key group hashed per record", { hash: true }),
      stateVariant("ValueState, 4 namespaces", { namespaces: true }),
      stateVariant("ValueState with TTL", { ttl: true }),
    ],
    warmups: 2,
    rounds: 5,
  },
];

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const s of stateSections) await runSection(s, { scale: 1, log: console.log });
}
