// A job restored from a savepoint after its state declaration changed. A record type that gained a
// NULLABLE field and lost another continues every key's count exactly, at another parallelism and
// on the other backend; a state whose kind changed fails the job at once with one
// StateMigrationError, under the default restart strategy (before, the job restarted from the same
// savepoint forever, each attempt failing with a TypeError from inside the user's function).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  DataGeneratorSource,
  JobCancelledError,
  ListStateDescriptor,
  StreamExecutionEnvironment,
  Types,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { gatedSource, SourceGate } from "../harness/gated-source.ts";

const N = 12_000;
const KEYS = 13;

interface Event {
  k: string;
  i: number;
}

const source = () => new DataGeneratorSource<Event>((i) => ({ k: `k${i % KEYS}`, i }), { count: N });

/** Counts per key into {count, first} (the first version of the job). */
function v1(env: StreamExecutionEnvironment, gate: SourceGate) {
  return env
    .fromSource(gatedSource(source(), gate), "events")
    .uid("events")
    .keyBy((e) => e.k)
    .process<string>({
      processElement(e, ctx, out) {
        const st = ctx.runtime.getState(
          new ValueStateDescriptor("acc", Types.OBJECT({ count: Types.INT, first: Types.INT })),
        );
        const v = st.value() ?? { count: 0, first: e.i };
        st.update({ count: v.count + 1, first: v.first });
        out.collect(`${e.k}:${v.count + 1}`);
      },
    })
    .uid("counter")
    .collect();
}

/** The second version: `first` dropped, `last` added as NULLABLE; reports whether `last` was restored as null. */
function v2(env: StreamExecutionEnvironment) {
  return env
    .fromSource(source(), "events")
    .uid("events")
    .keyBy((e) => e.k)
    .process<string>({
      processElement(e, ctx, out) {
        const st = ctx.runtime.getState(
          new ValueStateDescriptor(
            "acc",
            Types.OBJECT({ count: Types.INT, last: Types.NULLABLE(Types.INT) }),
          ),
        );
        const v = st.value();
        if (v !== undefined && v.last === null) out.collect(`migrated:${e.k}`);
        const count = (v?.count ?? 0) + 1;
        st.update({ count, last: e.i });
        out.collect(`${e.k}:${count}`);
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

/**
 * Runs v1 at p=2 until a quarter of the input, then stops it with a savepoint (or, `incremental`,
 * takes an incremental checkpoint and cancels keeping it); returns where to restore from and v1's output.
 */
async function stateOfV1(
  dir: string,
  backend: "heap" | "embedded",
  incremental = false,
): Promise<[string, string[]]> {
  const env = new StreamExecutionEnvironment({
    parallelism: 2,
    checkpointInterval: incremental ? 3_600_000 : 50,
    checkpointDirectory: join(dir, "cp1"),
    stateBackend: backend,
  });
  if (incremental) env.getCheckpointConfig().enableIncrementalCheckpoints();
  const gate = new SourceGate(N / 4);
  const h = v1(env, gate);
  const client = await env.executeAsync("v1");
  await gate.whenClosed();
  let path: string | undefined;
  if (incremental) {
    await client.triggerCheckpoint();
    path = await client.cancelKeepingLatestCheckpoint();
  } else {
    path = await client.stopWithSavepoint(join(dir, "sp"));
  }
  await assert.rejects(client.wait(), JobCancelledError);
  assert.ok(path !== undefined);
  return [path, h.values];
}

describe("a job restored after its state declaration changed", { timeout: 180_000 }, () => {
  const cases: Array<["heap" | "embedded", "heap" | "embedded", number, boolean]> = [
    ["heap", "heap", 3, false],
    ["embedded", "embedded", 1, false],
    ["heap", "embedded", 3, false],
    ["embedded", "heap", 3, true],
  ];
  for (const [from, to, p, incremental] of cases) {
    const what = incremental ? "a retained incremental checkpoint" : "a savepoint";
    it(`a field dropped and a NULLABLE one added: counts continue exactly (${what}, ${from} p=2 → ${to} p=${p})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-migrate-"));
      try {
        const [savepoint, first] = await stateOfV1(dir, from, incremental);
        const env = new StreamExecutionEnvironment({
          parallelism: p,
          checkpointInterval: 50,
          checkpointDirectory: join(dir, "cp2"),
          restorePath: savepoint,
          stateBackend: to,
        });
        const h = v2(env);
        await env.execute("v2");
        const counts = h.values.filter((v) => !v.startsWith("migrated:"));
        const migrated = new Set(h.values.filter((v) => v.startsWith("migrated:")));
        assert.deepEqual([...first, ...counts].sort(), reference());
        // Every key had state in the savepoint, and each read it migrated once (then wrote its own).
        assert.equal(migrated.size, KEYS);
        assert.equal(h.values.length - counts.length, KEYS);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("a state whose kind changed fails the job at once, naming the state, under the default restart strategy", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-migrate-"));
    try {
      const [savepoint] = await stateOfV1(dir, "heap");
      const env = new StreamExecutionEnvironment({
        parallelism: 2,
        checkpointInterval: 50,
        checkpointDirectory: join(dir, "cp2"),
        restorePath: savepoint,
      });
      env
        .fromSource(source(), "events")
        .uid("events")
        .keyBy((e) => e.k)
        .process<number>({
          processElement(e, ctx, out) {
            const st = ctx.runtime.getListState(new ListStateDescriptor<number>("acc", Types.INT));
            st.add(e.i);
            out.collect(e.i);
          },
        })
        .uid("counter")
        .collect();
      await assert.rejects(env.execute("v2"), (e: Error) => {
        assert.match(
          e.message,
          /StateMigrationError: state 'acc' cannot be restored: it was written as value state and is now registered as list state/,
        );
        assert.match(e.message, /operator 'KeyedProcess' \(uid counter\)/);
        assert.doesNotMatch(e.message, /restart/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
