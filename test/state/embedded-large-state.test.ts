// State many times larger than the heap: the test body runs in a child process whose V8 heap is
// capped at 96 MB and writes 1M keys (value + list state) through the embedded backend. The heap
// backend would need several hundred MB for the same state. (Larger runs: bench/state-embedded.ts.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { ListStateDescriptor, ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { createKeyedStateBackend } from "../../src/state/index.ts";

const KEYS = 1_000_000;
const MAX = 128;

function childBody(): void {
  const b = createKeyedStateBackend("embedded", { start: 0, end: MAX - 1 });
  try {
    const count = b.getState(new ValueStateDescriptor<number>("count", Types.NUMBER));
    const tags = b.getListState(new ListStateDescriptor<string>("tags", Types.STRING));
    const t0 = performance.now();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < KEYS; i++) {
        const key = `user-${i}`;
        b.setCurrentKey(key, assignToKeyGroup(key, MAX));
        count.update((count.value() ?? 0) + i);
        if (round === 0) tags.add(`tag-${i % 1000}-padding-padding-padding`);
      }
    }
    const writeMs = performance.now() - t0;
    for (let i = 0; i < KEYS; i += 9973) {
      const key = `user-${i}`;
      b.setCurrentKey(key, assignToKeyGroup(key, MAX));
      assert.equal(count.value(), 2 * i);
      assert.deepEqual([...tags.get()], [`tag-${i % 1000}-padding-padding-padding`]);
    }
    let entries = 0;
    for (let kg = 0; kg < MAX; kg++) entries += b.snapshotKeyGroup(kg).length;
    assert.equal(entries, 2 * KEYS, "a snapshot of every key group holds every entry");
    // Live heap, with the store still open: garbage not yet collected is not state (measured
    // without a collection first, heapUsed read 51–111 MB in runs of the same code).
    (globalThis as { gc?: () => void }).gc?.();
    const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
    console.log(JSON.stringify({ writeMs, heapMb }));
  } finally {
    b.dispose();
  }
}

if (process.env.WEIR_LARGE_STATE_CHILD === "1") childBody();
else {
  it(`embedded backend: ${KEYS} keys × 2 states with a 96 MB heap (child process)`, {
    timeout: 120_000,
  }, () => {
    const r = spawnSync(
      process.execPath,
      ["--max-old-space-size=96", "--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url)],
      // Killed after 110 s, so that a stuck child fails this test with its output, not the file.
      { env: { ...process.env, WEIR_LARGE_STATE_CHILD: "1" }, encoding: "utf8", timeout: 110_000 },
    );
    assert.equal(r.status, 0, `child failed (signal ${r.signal}):\n${r.stderr}`);
    const { heapMb } = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { heapMb: number };
    assert.ok(heapMb < 96, `heap used ${heapMb} MB`);
  });
}
