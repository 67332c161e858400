// Micro-benchmark of keyed state access: ValueState value()+update() per record on the heap
// backend, next to a bare Map baseline. Run: node --import tsx test/state/state-access-bench.ts [records]

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { StateTtlConfig, ValueStateDescriptor } from "../../src/core/state.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";

const N = Number(process.argv[2] ?? 5_000_000);
const MAX = 128;

function run(label: string, body: () => number): void {
  body(); // warm-up
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const ops = body();
    const s = (performance.now() - t0) / 1000;
    best = Math.max(best, ops / s);
  }
  console.log(`${label.padEnd(64)} ${(best / 1e6).toFixed(2)} M ops/s`);
}

function keys(distinct: number, asString: boolean): { ks: unknown[]; kgs: Int32Array } {
  const ks: unknown[] = [];
  const kgs = new Int32Array(distinct);
  for (let i = 0; i < distinct; i++) {
    const k = asString ? `key:${i}` : i;
    ks.push(k);
    kgs[i] = assignToKeyGroup(k, MAX);
  }
  return { ks, kgs };
}

function stateBench(
  distinct: number,
  asString: boolean,
  opts: { hash?: boolean; ns?: number; ttl?: boolean; ttlNoBg?: boolean },
) {
  const b = new HeapKeyedStateBackend({ start: 0, end: MAX - 1 });
  const d = new ValueStateDescriptor<number>("count");
  if (opts.ttl) d.enableTimeToLive(StateTtlConfig.newBuilder(3_600_000).build());
  if (opts.ttlNoBg)
    d.enableTimeToLive(StateTtlConfig.newBuilder(3_600_000).disableCleanupInBackground().build());
  const s = b.getState(d);
  const { ks, kgs } = keys(distinct, asString);
  const nss = Array.from({ length: opts.ns ?? 0 }, (_, i) => i * 1000);
  return () => {
    for (let i = 0; i < N; i++) {
      const j = (i * 7919) % distinct;
      const k = ks[j];
      b.setCurrentKey(k, opts.hash ? assignToKeyGroup(k, MAX) : kgs[j]!);
      if (nss.length > 0) b.setCurrentNamespace(nss[i % nss.length]!);
      const v = s.value();
      s.update(v === undefined ? 1 : v + 1);
    }
    return N;
  };
}

function mapBaseline(distinct: number, asString: boolean) {
  const m = new Map<unknown, number>();
  const { ks } = keys(distinct, asString);
  return () => {
    for (let i = 0; i < N; i++) {
      const k = ks[(i * 7919) % distinct];
      const v = m.get(k);
      m.set(k, v === undefined ? 1 : v + 1);
    }
    return N;
  };
}

const CASES: Record<string, () => () => number> = {};
for (const [distinct, asString] of [
  [10_000, false],
  [10_000, true],
  [1_000_000, true],
] as const) {
  const kind = `${distinct} ${asString ? "string" : "number"} keys`;
  CASES[`baseline: one Map get+set, ${kind}`] = () => mapBaseline(distinct, asString);
  CASES[`ValueState, ${kind}`] = () => stateBench(distinct, asString, {});
  CASES[`ValueState + key-group hash per record, ${kind}`] = () =>
    stateBench(distinct, asString, { hash: true });
  CASES[`ValueState in 4 namespaces, ${kind}`] = () => stateBench(distinct, asString, { ns: 4 });
  CASES[`ValueState with TTL (incremental cleanup 5), ${kind}`] = () =>
    stateBench(distinct, asString, { ttl: true });
  CASES[`ValueState with TTL (cleanup on access only), ${kind}`] = () =>
    stateBench(distinct, asString, { ttlNoBg: true });
}

// Each case runs in its own process, so that one case's garbage and type feedback do not slow the next.
const only = process.env.WEIR_STATE_BENCH_CASE;
if (only !== undefined) run(only, CASES[only]!());
else {
  console.log(`ValueState value()+update() per record, ${N} records (best of 3)`);
  for (const name of Object.keys(CASES)) {
    spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), String(N)], {
      stdio: "inherit",
      env: { ...process.env, WEIR_STATE_BENCH_CASE: name },
    });
  }
}
