// Issue #14's scenario, deterministic and in-thread: generator → filter → keyBy → countWindow(5) →
// reduce, restored from a savepoint, savepointed again during a quiet stretch (no record reaches
// the windows, so CountTrigger's lazily registered count state is never touched), restored again.
// Every window must hold exactly 5 elements: a restore that lost the trigger's count while the
// window contents survived fires windows of 7. Savepoints are taken while the source is held at a
// known record, so the moment of each cut is exact.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readStateFileHeader } from "../../src/checkpoint/state-file.ts";
import { JobCancelledError, StreamExecutionEnvironment, WatermarkStrategy } from "../../src/index.ts";
import { GatedSource, until } from "../checkpoint/fixtures/gated-source.ts";

const KEYS = 4;
/** Records [0, A) match the filter (7 per key: one window of 5, 2 left in the open window). */
const A = KEYS * 7;
/** Records [A, B) do not match: the quiet stretch. */
const B = A + KEYS * 10;
/** Records [B, C) match again (8 per key: 15 in all per key, three windows of 5). */
const C = B + KEYS * 8;

interface Counted {
  key: string;
  n: number;
  items: number[];
}

function build(env: StreamExecutionEnvironment, source: GatedSource) {
  return env
    .fromSource(source, WatermarkStrategy.noWatermarks(), "events")
    .setParallelism(1) // one reader, one split: held exactly at the first record >= the hold
    .uid("events")
    .filter((i) => i < A || i >= B)
    .uid("filter")
    .map((i): Counted => ({ key: `k${i % KEYS}`, n: 1, items: [i] }))
    .uid("to-counted")
    .keyBy((r) => r.key)
    .countWindow(5)
    .reduce((a, b) => ({ key: a.key, n: a.n + b.n, items: [...a.items, ...b.items] }))
    .uid("windows")
    .collect();
}

/** A source over [0, C) that holds every reader at its first record >= holdAt. */
function heldSource(holdAt: number) {
  return new GatedSource(0, C, (g) => (g.index >= holdAt ? new Promise<void>(() => {}) : undefined));
}

describe("restored lazily registered state through a quiet stretch (issue #14, defect 1)", () => {
  for (const backend of ["heap", "embedded"] as const) {
    it(`${backend}: countWindow(5) → savepoint → restore → quiet savepoint → restore: windows of exactly 5`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-lazy-restore-"));
      const env = (restorePath?: string) =>
        new StreamExecutionEnvironment({
          parallelism: 2,
          checkpointInterval: 50,
          checkpointDirectory: join(dir, "cp"),
          stateBackend: backend,
          ...(restorePath === undefined ? {} : { restorePath }),
        });
      try {
        // Run 1: the matching records of [0, A), then a savepoint.
        const s1 = heldSource(A);
        const e1 = env();
        const hh1 = build(e1, s1);
        const client1 = await e1.executeAsync("lazy-1");
        await until(() => (s1.emitted.get(0) ?? 0) === A, "run 1 to emit [0, A)");
        const sp1 = await client1.stopWithSavepoint(join(dir, "sp1"));
        await assert.rejects(client1.wait(), JobCancelledError);
        // Its task files are in the streamed, indexed format (key groups read one at a time on restore).
        const files = readdirSync(sp1, { recursive: true, encoding: "utf8" }).filter((f) =>
          f.endsWith(".state"),
        );
        assert.ok(files.length > 0);
        for (const f of files) assert.equal(readStateFileHeader(readFileSync(join(sp1, f)), f).version, 3);

        // Run 2: restored; only the quiet stretch [A, B) (filtered out), then a savepoint.
        const s2 = heldSource(B);
        const e2 = env(sp1);
        const hh2 = build(e2, s2);
        const client2 = await e2.executeAsync("lazy-2");
        await until(() => (s2.emitted.get(0) ?? 0) === B - A, "run 2 to emit the quiet stretch");
        const sp2 = await client2.stopWithSavepoint(join(dir, "sp2"));
        await assert.rejects(client2.wait(), JobCancelledError);
        assert.deepEqual(hh2.values, [], "no window fires in the quiet stretch");

        // Run 3: restored from the quiet savepoint; the rest of the input.
        const s3 = new GatedSource(0, C, () => undefined);
        const e3 = env(sp2);
        const hh3 = build(e3, s3);
        await e3.execute("lazy-3");

        const windows = [...hh1.values, ...hh3.values];
        for (const w of windows) assert.equal(w.n, 5, `window of ${w.key}: ${JSON.stringify(w.items)}`);
        assert.equal(hh1.values.length, KEYS, "one window per key before the first savepoint");
        assert.equal(windows.length, KEYS * 3);
        const seen = windows.flatMap((w) => w.items).sort((a, b) => a - b);
        const matching = Array.from({ length: C }, (_, i) => i).filter((i) => i < A || i >= B);
        assert.deepEqual(seen, matching, "every matching record in exactly one window");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
