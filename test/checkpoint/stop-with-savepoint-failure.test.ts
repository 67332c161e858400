// A stop-with-savepoint whose savepoint cannot be written fails as in Flink: nothing of the
// savepoint is committed, the job keeps running and checkpointing, and the error names its latest
// checkpoint. Stopped then with its checkpoints kept (what `weir run` does on Ctrl-C), a job
// restored from the checkpoint named gives exactly-once output: no record lost, none twice.
// The first run's source is gated (held after a chosen number of records, without ending), so the
// job is still running at each step, however slow the machine.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  DataGeneratorSource,
  JobCancelledError,
  StopWithSavepointError,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { gatedSource, SourceGate } from "../harness/gated-source.ts";

const N = 20_000;
const KEYS = 13;

interface Keyed {
  k: string;
  i: number;
}

/** The counting job; its source held by `gate` when given. */
function build(env: StreamExecutionEnvironment, gate?: SourceGate) {
  const generator = new DataGeneratorSource<Keyed>((i) => ({ k: `k${i % KEYS}`, i }), { count: N });
  return env
    .fromSource(gate === undefined ? generator : gatedSource(generator, gate), "Data generator")
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

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("a failed stop-with-savepoint", () => {
  for (const backend of ["heap", "embedded"] as const) {
    it(`commits nothing of the savepoint; a restore from the checkpoint it names is exactly-once (${backend})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-spfail-"));
      try {
        // Checkpoints are deleted on cancellation (the default), unless kept as below.
        const env1 = new StreamExecutionEnvironment({
          parallelism: 2,
          checkpointInterval: 50,
          checkpointDirectory: join(dir, "cp1"),
          stateBackend: backend,
        });
        // Each of the two readers reads N / 2: the gate holds them far from their ends.
        const gate = new SourceGate(N / 8);
        const h1 = build(env1, gate);
        const client = await env1.executeAsync("counts");
        await gate.whenClosed();
        await waitFor(() => h1.values.length > 0, "some committed output");

        // The savepoint directory cannot be created: a file is in the way.
        writeFileSync(join(dir, "in-the-way"), "");
        const failed = await client.stopWithSavepoint(join(dir, "in-the-way", "savepoints")).then(
          () => assert.fail("the stop succeeded"),
          (e: unknown) => e,
        );
        assert.ok(failed instanceof StopWithSavepointError, String(failed));
        assert.match(failed.message, /cannot write the savepoint to '.*in-the-way.*'/);
        assert.match(failed.message, /Nothing of the savepoint was committed/);
        const named = failed.latestCheckpoint;
        assert.ok(named !== undefined && failed.message.includes(named), failed.message);

        // The job keeps running and checkpointing: let more records through.
        assert.equal(client.getStatus(), "RUNNING");
        const seen = h1.values.length;
        gate.open(N / 4);
        await gate.whenClosed();
        await waitFor(() => h1.values.length > seen, "output committed by a later checkpoint");

        const kept = await client.cancelKeepingLatestCheckpoint();
        await assert.rejects(client.wait(), JobCancelledError);
        assert.ok(kept !== undefined && existsSync(join(kept, "_metadata")), `kept: ${kept}`);
        const first = [...h1.values];
        assert.ok(first.length < N, "the first run stopped before the end");

        const env2 = new StreamExecutionEnvironment({
          parallelism: 3,
          checkpointInterval: 50,
          checkpointDirectory: join(dir, "cp2"),
          restorePath: kept,
          stateBackend: backend,
        });
        const h2 = build(env2);
        await env2.execute("counts");
        const all = [...first, ...h2.values];
        assert.equal(all.length - new Set(all).size, 0, "no record twice");
        assert.deepEqual(all.sort(), reference());
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
