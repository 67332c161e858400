// Savepoints: taken from a running job, self-contained, restored at another parallelism; keyed
// counts continue exactly where they stopped. The first run's source is gated (it stops emitting
// after a chosen number of records, without ending), so the savepoint is taken from a running job
// at a known point, however slow the machine.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  DataGeneratorSource,
  JobCancelledError,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { gatedSource, SourceGate } from "../harness/gated-source.ts";

const N = 20_000;
const KEYS = 17;

interface Keyed {
  k: string;
  i: number;
}

/** The counting job; its source held by `gate` when given. */
function build(env: StreamExecutionEnvironment, gate?: SourceGate) {
  const generator = new DataGeneratorSource<Keyed>((i) => ({ k: `k${i % KEYS}`, i }), { count: N });
  const source = gate === undefined ? generator : gatedSource(generator, gate);
  return env
    .fromSource(source, "Data generator")
    .uid("events")
    .keyBy((r) => r.k)
    .process<string>({
      processElement(r, ctx, out) {
        const st = ctx.runtime.getState(new ValueStateDescriptor<number>("count"));
        const n = (st.value() ?? 0) + 1;
        st.update(n);
        out.collect(`${r.k}:${n}`);
      },
    })
    .uid("counter")
    .collect();
}

function reference(): string[] {
  const counts = new Map<string, number>();
  const out: string[] = [];
  for (let i = 0; i < N; i++) {
    const k = `k${i % KEYS}`;
    const n = (counts.get(k) ?? 0) + 1;
    counts.set(k, n);
    out.push(`${k}:${n}`);
  }
  return out.sort();
}

describe("savepoints", () => {
  const cases: Array<[number, "heap" | "embedded", "heap" | "embedded", boolean]> = [
    [1, "heap", "heap", false],
    [4, "heap", "heap", false],
    [3, "heap", "embedded", false],
    [1, "embedded", "heap", false],
    // A job with unaligned checkpoints: its savepoint is aligned, so it rescales.
    [3, "heap", "heap", true],
  ];
  for (const [restoreParallelism, from, to, unaligned] of cases) {
    const mode = unaligned ? ", unaligned checkpoints" : "";
    it(`savepoint at p=2 (${from}${mode}), restore at p=${restoreParallelism} (${to}): keyed counts continue exactly`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-sp-"));
      try {
        const env1 = new StreamExecutionEnvironment({
          parallelism: 2,
          checkpointInterval: 50,
          checkpointDirectory: join(dir, "cp1"),
          stateBackend: from,
        });
        if (unaligned) env1.getCheckpointConfig().enableUnalignedCheckpoints();
        // A quarter of the input: each of the two readers stays far from the end of its split.
        const gate = new SourceGate(N / 4);
        const h1 = build(env1, gate);
        const client = await env1.executeAsync("counts");
        await gate.whenClosed();
        const savepoint = await client.stopWithSavepoint(join(dir, "savepoints"));
        await assert.rejects(client.wait(), JobCancelledError);
        const first = h1.values;
        assert.ok(first.length < N, "the first run stopped before the end");
        // Self-contained: the job's own checkpoints can go.
        rmSync(join(dir, "cp1"), { recursive: true, force: true });
        assert.ok(existsSync(join(savepoint, "_metadata")));

        const env2 = new StreamExecutionEnvironment({
          parallelism: restoreParallelism,
          checkpointInterval: 50,
          checkpointDirectory: join(dir, "cp2"),
          restorePath: savepoint,
          stateBackend: to,
        });
        const h2 = build(env2);
        await env2.execute("counts");
        assert.deepEqual([...first, ...h2.values].sort(), reference());
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("a savepoint from a running job leaves the job running; restoring from it needs the operator uids", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-sp-"));
    try {
      const env1 = new StreamExecutionEnvironment({
        parallelism: 2,
        checkpointInterval: 50,
        checkpointDirectory: join(dir, "cp"),
      });
      const gate = new SourceGate(N / 8);
      const h1 = build(env1, gate);
      const client = await env1.executeAsync("counts");
      await gate.whenClosed();
      const savepoint = await client.triggerSavepoint(join(dir, "sp"));
      assert.equal(client.getStatus(), "RUNNING");
      gate.open();
      await client.wait();
      assert.deepEqual(h1.values.sort(), reference());
      assert.deepEqual(readdirSync(join(dir, "sp")).length, 1);

      // A job without the "counter" uid cannot take its state, unless told to drop it.
      const env2 = new StreamExecutionEnvironment({ parallelism: 1, restorePath: savepoint });
      env2
        .fromGenerator((i) => i, { count: 10 })
        .uid("events")
        .print();
      await assert.rejects(env2.execute(), /uid 'counter'.*allow-non-restored-state/s);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
