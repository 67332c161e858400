// ValueState value() + update() per record over 1M keys: heap vs embedded backend (standalone:
// `node --import tsx bench/state-embedded.ts [keys]`). Pass 1 creates every key, pass 2 updates
// them; keys are visited in a shuffled order, as records of a keyed stream arrive.

import { assignToKeyGroup } from "../src/core/key-groups.ts";
import { ValueStateDescriptor } from "../src/core/state.ts";
import { Types } from "../src/core/types/types.ts";
import { createKeyedStateBackend, type StateBackendKind } from "../src/state/index.ts";

const KEYS = Number(process.argv[2] ?? 1_000_000);
const MAX = 128;

function shuffled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let seed = 42;
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const order = shuffled(KEYS);
const keys = order.map((i) => `key-${i}`);
const groups = keys.map((k) => assignToKeyGroup(k, MAX));

function run(kind: StateBackendKind, cacheEntries?: number): void {
  const b = createKeyedStateBackend(kind, { start: 0, end: MAX - 1 }, { cacheEntries });
  try {
    const s = b.getState(new ValueStateDescriptor<number>("count", Types.NUMBER));
    const rates: string[] = [];
    for (let pass = 1; pass <= 2; pass++) {
      const t0 = performance.now();
      for (let i = 0; i < KEYS; i++) {
        b.setCurrentKey(keys[i], groups[i]!);
        s.update((s.value() ?? 0) + 1);
      }
      const ms = performance.now() - t0;
      rates.push(`pass ${pass}: ${Math.round((KEYS / ms) * 1000).toLocaleString("en-US")} records/s`);
    }
    const t0 = performance.now();
    let n = 0;
    for (let kg = 0; kg < MAX; kg++) n += b.snapshotKeyGroup(kg).length;
    const snapMs = performance.now() - t0;
    const heapMb = (process.memoryUsage().heapUsed / 2 ** 20).toFixed(0);
    const label = kind === "embedded" ? `embedded (cache ${cacheEntries ?? 65_536})` : kind;
    console.log(
      `${label.padEnd(24)} ${rates.join(", ")}; snapshot of ${n} entries ${snapMs.toFixed(0)} ms; heap ${heapMb} MB`,
    );
  } finally {
    b.dispose();
  }
}

console.log(
  `ValueState value()+update() per record, ${KEYS.toLocaleString("en-US")} keys, Node ${process.version}`,
);
run("heap");
(globalThis as { gc?: () => void }).gc?.();
run("embedded");
run("embedded", 1_000_000);
run("embedded", 4096);
