// Golden runs of every Nexmark query: once straight through, and once stopped with a savepoint at a
// seeded random point of its input, then restored at another parallelism. The two outputs must be
// the same multiset of records: nothing lost, nothing doubled, whatever the query keeps in state.
//
// The stop point is exact, not a matter of timing: the source is wrapped in a gate that stops
// emitting after a chosen number of events, and the savepoint is taken while it holds. A failure
// prints the seed; `GOLDEN_SEED=<seed> node scripts/run-tests.mjs golden/nexmark` replays it.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { gatedSource, SourceGate } from "../harness/gated-source.ts";
import { prng } from "../fixtures/helpers.ts";
import type { NexmarkEvent } from "../../src/connectors/nexmark/index.ts";
import { nexmarkQuery, runnableQueryNames } from "../../src/nexmark/queries/index.ts";
import { NexmarkSource } from "../../src/connectors/nexmark/source.ts";
import { nexmarkWatermarks } from "../../src/connectors/nexmark/watermarks.ts";
import {
  JobCancelledError,
  type Source,
  StreamExecutionEnvironment,
  WatermarkStrategy,
} from "../../src/index.ts";

const N = 12_000;
/** 500 events per second of event time: 24 s, so that windowed queries close many windows. */
const GENERATOR = { numEvents: N, seed: 5, firstEventRate: 500 };
/** q12 windows by processing time (the machine's clock): its output differs from run to run. */
const CLOCK_DEPENDENT = new Set(["q12"]);

const SEED = Number(process.env.GOLDEN_SEED ?? Date.now() % 1_000_000);
const dir = mkdtempSync(join(tmpdir(), "weir-golden-nexmark-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function environment(parallelism: number, checkpoints: string, restorePath?: string) {
  return new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 100,
    checkpointDirectory: checkpoints,
    ...(restorePath === undefined ? {} : { restorePath }),
  });
}

/** The query over the generator (wrapped by `gate` when given); returns the collected output. */
function build(env: StreamExecutionEnvironment, name: string, gate?: SourceGate) {
  const query = nexmarkQuery(name);
  const watermarks =
    query.eventTime === true ? nexmarkWatermarks() : WatermarkStrategy.noWatermarks<NexmarkEvent>();
  const generator: Source<NexmarkEvent> = new NexmarkSource(GENERATOR);
  const source = gate === undefined ? generator : gatedSource(generator, gate);
  const events = env.fromSource(source, watermarks, "Nexmark generator").uid("nexmark-source");
  return query.build(events, {}).collect();
}

function multiset(records: unknown[]): string[] {
  return records.map((r) => JSON.stringify(r)).sort();
}

/**
 * What a run's output means: every record, or for an upsert query (q4, q18, q19: a record per key
 * whenever its value changes, at moments that depend on watermarks and so on parallelism) the last
 * record per key. Records of one key arrive in order, from one subtask.
 */
function meaning(name: string, records: unknown[]): string[] {
  const key = nexmarkQuery(name).upsertKey;
  if (key === undefined) return multiset(records);
  const last = new Map<string, unknown>();
  for (const r of records) last.set(key.map((k) => String((r as Record<string, unknown>)[k])).join("/"), r);
  return multiset([...last.values()]);
}

describe(`golden Nexmark runs, straight and through stop-with-savepoint (seed ${SEED})`, () => {
  const random = prng(SEED);
  for (const name of runnableQueryNames().filter((q) => !CLOCK_DEPENDENT.has(q))) {
    const stopAt = Math.floor(N * (0.1 + 0.8 * random()));
    const [p1, p2] = random() < 0.5 ? [2, 3] : [3, 1];
    it(`${name}: savepoint after ${stopAt} of ${N} events at p=${p1}, restored at p=${p2}`, async () => {
      const work = mkdtempSync(join(dir, `${name}-`));
      try {
        const straightEnv = environment(2, join(work, "straight"));
        const straight = build(straightEnv, name);
        await straightEnv.execute(`${name} straight`);

        const gate = new SourceGate(stopAt);
        const firstEnv = environment(p1, join(work, "first"));
        const first = build(firstEnv, name, gate);
        const client = await firstEnv.executeAsync(`${name} until the savepoint`);
        await gate.whenClosed();
        const savepoint = await client.stopWithSavepoint(join(work, "savepoints"));
        await assert.rejects(client.wait(), JobCancelledError);

        const secondEnv = environment(p2, join(work, "second"), savepoint);
        const second = build(secondEnv, name);
        await secondEnv.execute(`${name} restored`);

        const restored = [...first.values, ...second.values];
        assert.ok(straight.values.length > 0, `${name} produced no output at all`);
        assert.deepEqual(
          meaning(name, restored),
          meaning(name, straight.values),
          `${name}: output through a savepoint after ${stopAt} events (p=${p1} -> p=${p2}) differs ` +
            `from the straight run; replay with GOLDEN_SEED=${SEED} node scripts/run-tests.mjs golden/nexmark`,
        );
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
  }
});
