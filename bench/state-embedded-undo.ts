// What a snapshot's undo log costs the writes made while a checkpoint is read (embedded backend):
// N keys of ValueState written, then every key rewritten in a fixed shuffled order twice without a
// snapshot, then a snapshot taken and every key rewritten twice while it is open (the first time
// logs each key's barrier value), then the snapshot read (every value checked against the barrier's)
// and released (its log dropped). Prints process CPU (user + system) per step.
//
//   node --import tsx bench/state-embedded-undo.ts [keys (300000)]

import { assignToKeyGroup } from "../src/core/key-groups.ts";
import { ValueStateDescriptor } from "../src/core/state.ts";
import { Types } from "../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../src/state/index.ts";

const KEYS = Number(process.argv[2] ?? 300_000);
const MAX = 128;
const b = new EmbeddedKeyedStateBackend({ start: 0, end: MAX - 1 }, { managedMemoryBytes: 256 * 2 ** 20 });
const count = b.getState(new ValueStateDescriptor<number>("count", Types.NUMBER));
const order = Array.from({ length: KEYS }, (_, i) => (i * 7919) % KEYS);

function cpuS(from: NodeJS.CpuUsage): string {
  const u = process.cpuUsage(from);
  return ((u.user + u.system) / 1e6).toFixed(2);
}

/** Every key set to base + its index, then the store's cache written to LMDB. */
function rewrite(base: number): void {
  for (const i of order) {
    const k = `user-${i}`;
    b.setCurrentKey(k, assignToKeyGroup(k, MAX));
    count.update(base + i);
  }
  b.store.flush();
}

function step(name: string, run: () => unknown): void {
  const c = process.cpuUsage();
  const extra = run();
  console.log(`${name}: CPU ${cpuS(c)} s${extra === undefined ? "" : `, ${String(extra)}`}`);
}

try {
  rewrite(0);
  step("rewrite, no snapshot", () => rewrite(1));
  step("rewrite, no snapshot (again)", () => rewrite(2));
  const snap = b.snapshot();
  step("rewrite, snapshot open (logs each key)", () => {
    rewrite(3);
    return `${b.store.undoEntries()} undo entries`;
  });
  step("rewrite, snapshot open (again)", () => rewrite(4));
  step("read the snapshot", () => {
    let n = 0;
    let wrong = 0;
    for (const kg of snap.keyGroups) {
      snap.read(kg, (_s, _ns, key, value) => {
        n++;
        if (value !== 2 + Number(String(key).slice(5))) wrong++;
      });
    }
    if (wrong > 0 || n !== KEYS) throw new Error(`${n} entries read, ${wrong} not the barrier's`);
    return `${n} entries, each the barrier's`;
  });
  step("release (log dropped)", () => {
    snap.release();
    return `${b.store.undoEntries()} undo entries left`;
  });
} finally {
  b.dispose();
}
