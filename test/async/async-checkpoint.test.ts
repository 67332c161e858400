// Async I/O under checkpoints (in-thread): the requests in flight at a checkpoint are in it and are
// sent again after a restore, so an injected failure or a savepoint restored at another
// parallelism loses no record and duplicates none; ordered mode keeps each subtask's order. Every
// record carries the attempt (or run) whose source read it: a request made later for a record read
// earlier can only come from the operator's restored state, which shows that the snapshot held it.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadCheckpoint } from "../../src/checkpoint/fs-storage.ts";
import type { AsyncQueueSnapshot } from "../../src/runtime/operators/async/async-wait-operator.ts";
import type { TaskSnapshot } from "../../src/runtime/snapshot.ts";
import {
  AsyncDataStream,
  type AsyncFunction,
  type CollectHandle,
  DataGeneratorSource,
  type DataStream,
  JobCancelledError,
  type ResultFuture,
  RestartStrategies,
  StreamExecutionEnvironment,
  WatermarkStrategy,
} from "../../src/index.ts";
import { prng, waitFor } from "../fixtures/helpers.ts";

type Mode = "ordered" | "unordered";
/** A record as the async operator takes it: its index, and the attempt (or run) that read it. */
type Tagged = { i: number; read: number };
/** A result: index, timestamp, and whether it arrived behind a watermark that passed it. */
type Out = { i: number; ts: number; late: boolean };

const CAPACITY = 50;
const ts = (i: number) => i * 10;

/**
 * Completes each request after 1 to 1 + `maxDelay` ms (seeded): with a source faster than that,
 * the queue is full most of the time, so every checkpoint holds requests in flight. Records the
 * requests for records that an earlier attempt (or run) read: restored from the operator's state.
 * `run`: the run's tag (records are tagged with the attempt number when undefined).
 */
function slowFunction(seed: number, maxDelay: number, run?: number) {
  const rnd = prng(seed);
  const restored = new Set<number>();
  let current = 0;
  const fn: AsyncFunction<Tagged, Tagged> = {
    open(ctx) {
      current = run ?? ctx.attemptNumber;
    },
    asyncInvoke(r: Tagged, rf: ResultFuture<Tagged>) {
      if (r.read < current) restored.add(r.i);
      setTimeout(() => rf.complete([r]), 1 + Math.floor(rnd() * maxDelay));
    },
  };
  return { fn, restored };
}

/**
 * After the async operator (chained to it): the result with its timestamp and subtask, and
 * whether it is late. `failIf` (asked before each result): throw there (an injected failure).
 */
function describeResults(stream: DataStream<Tagged>, failIf: (attempt: number) => boolean = () => false) {
  return stream.process<Out>({
    processElement(r, ctx, out) {
      if (failIf(ctx.runtime.attemptNumber)) throw new Error(`injected failure at record ${r.i}`);
      const t = ctx.timestamp() ?? Number.NaN;
      const late = t <= ctx.timerService().currentWatermark();
      out.collect({ i: r.i, ts: t, late });
    },
  });
}

function asyncWait(mode: Mode, s: DataStream<Tagged>, fn: AsyncFunction<Tagged, Tagged>) {
  return mode === "ordered"
    ? AsyncDataStream.orderedWait(s, fn, 0, CAPACITY)
    : AsyncDataStream.unorderedWait(s, fn, 0, CAPACITY);
}

/** Every output subtask's results, in arrival order (the collect sink is chained to the async operator). */
function bySubtask(out: CollectHandle<Out>): Out[][] {
  return [...out.parts.keys()].sort((a, b) => a - b).map((k) => out.parts.get(k)!);
}

/** Each subtask emits the records of each source split (i mod `splits`) in increasing order. */
function assertOrderPerSubtask(parts: Out[][], splits: number): void {
  for (const [s, part] of parts.entries()) {
    const last = new Map<number, number>();
    for (const r of part) {
      const prev = last.get(r.i % splits) ?? -1;
      assert.ok(r.i > prev, `subtask ${s}: record ${r.i} after ${prev}`);
      last.set(r.i % splits, r.i);
    }
  }
}

/**
 * Every record's result exactly once, with its timestamp; none of `watched` (all when undefined)
 * behind a watermark that passed it.
 */
function assertExactlyOnce(results: Out[], n: number, watched?: Set<number>): void {
  const seen = results.map((r) => r.i).sort((a, b) => a - b);
  assert.equal(seen.length, n, `${seen.length} results for ${n} records`);
  assert.deepEqual(
    seen,
    Array.from({ length: n }, (_, i) => i),
  );
  for (const r of results) assert.equal(r.ts, ts(r.i), `record ${r.i} kept its timestamp`);
  assert.deepEqual(
    results.filter((r) => r.late && (watched?.has(r.i) ?? true)).map((r) => r.i),
    [],
    "no record arrives behind a watermark that passed it",
  );
}

describe("Async I/O: in-flight requests survive a failure (checkpoints, restart)", () => {
  const N = 4_000;
  for (const mode of ["ordered", "unordered"] as const) {
    for (const rebalance of [false, true]) {
      const shape = rebalance ? "source p=1 -> rebalance -> async p=2" : "source -> async, one chain, p=1";
      it(`${mode}, ${shape}: an operator throws after a checkpoint; the output equals the failure-free one`, async () => {
        const dir = mkdtempSync(join(tmpdir(), "weir-async-cp-"));
        try {
          const parallelism = rebalance ? 2 : 1;
          const env = new StreamExecutionEnvironment({
            parallelism,
            checkpointInterval: 30,
            checkpointDirectory: dir,
          });
          env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
          // A checkpoint whose metadata was being written when the failure came is aborted by the
          // restart, and its failure counted against the next attempt: tolerate it.
          env.getCheckpointConfig().setTolerableCheckpointFailureNumber(100);
          let out: CollectHandle<Out> | undefined;
          let results = 0;
          let thrown = false;
          // After a quarter of the results, once a checkpoint has committed output: fail once.
          const failIf = (attempt: number) => {
            if (attempt > 0 || thrown || ++results < N / 4 || out!.parts.size === 0) return false;
            thrown = true;
            return true;
          };
          // Behind a rebalance the source is rate-limited (its records would otherwise all wait in
          // network buffers, and checkpoints stop once every source has finished); the requests
          // take long enough at that rate to keep the queues full.
          const { fn, restored } = slowFunction(mode === "ordered" ? 1 : 2, rebalance ? 48 : 8);
          const tagged = env
            .fromSource(
              new DataGeneratorSource((i) => i, { count: N, recordsPerSecond: rebalance ? 4_000 : 1e9 }),
              WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner(ts),
              "numbers",
            )
            .uid("numbers")
            .setParallelism(rebalance ? 1 : parallelism)
            .map((i: number, ctx): Tagged => ({ i, read: ctx.attemptNumber }))
            .uid("tag")
            .setParallelism(rebalance ? 1 : parallelism);
          const input: DataStream<Tagged> = rebalance ? tagged.rebalance() : tagged;
          out = describeResults(asyncWait(mode, input, fn).uid("async"), failIf).collect();
          const result = await env.execute(`async-restart-${mode}`);
          assert.ok(thrown, "the failure was injected");
          assert.ok(result.restarts >= 1, "the job restarted");
          assertExactlyOnce(out.values, N);
          assert.ok(restored.size > 0, "requests in flight at the checkpoint were restored from it");
          if (mode === "ordered") {
            if (rebalance) assertOrderPerSubtask(bySubtask(out), 1);
            else
              assert.deepEqual(
                out.values.map((r) => r.i),
                Array.from({ length: N }, (_, i) => i),
              );
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  }
});

describe("Async I/O: a savepoint with requests in flight, restored at another parallelism", () => {
  const N = 6_000;
  const HOLD_FROM = 1_000;
  const cases: Array<[Mode, number]> = [
    ["ordered", 3],
    ["ordered", 1],
    ["unordered", 3],
    ["unordered", 1],
  ];
  for (const [mode, restoreP] of cases) {
    it(`${mode}: savepoint at p=2 while requests are held, restored at p=${restoreP}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-async-sp-"));
      try {
        // Run 1: the requests of records from HOLD_FROM on never complete: the queues fill up.
        const held = new Set<number>();
        const fn1: AsyncFunction<Tagged, Tagged> = {
          asyncInvoke(r, rf) {
            setTimeout(() => (r.i >= HOLD_FROM ? held.add(r.i) : rf.complete([r])), 1);
          },
        };
        const build = (env: StreamExecutionEnvironment, run: number, fn: AsyncFunction<Tagged, Tagged>) =>
          describeResults(
            asyncWait(
              mode,
              env
                .fromSource(
                  new DataGeneratorSource((i) => i, { count: N }),
                  // A watermark after every record: the queues hold them between their records.
                  WatermarkStrategy.forGenerator<number>(() => ({
                    onEvent: (_i, t, wm) => wm.emitWatermark(t - 1),
                    onPeriodicEmit: () => {},
                  })).withTimestampAssigner(ts),
                  "numbers",
                )
                .uid("numbers")
                .map((i: number): Tagged => ({ i, read: run }))
                .uid("tag"),
              fn,
            ).uid("async"),
          ).collect();
        const env1 = new StreamExecutionEnvironment({
          parallelism: 2,
          checkpointInterval: 40,
          checkpointDirectory: join(dir, "cp1"),
        });
        const out1 = build(env1, 1, fn1);
        const client = await env1.executeAsync("async-sp");
        // Both subtasks' queues full of requests that will not complete in this run.
        await waitFor(() => held.size >= 2 * CAPACITY, "full queues");
        const savepoint = await client.stopWithSavepoint(join(dir, "savepoints"));
        await assert.rejects(client.wait(), JobCancelledError);
        const first = out1.values;
        assert.ok(first.length < N, "the first run stopped before the end");

        // Run 2 restores it at another parallelism.
        const { fn: fn2, restored } = slowFunction(7, 8, 2);
        const env2 = new StreamExecutionEnvironment({
          parallelism: restoreP,
          checkpointInterval: 40,
          checkpointDirectory: join(dir, "cp2"),
          restorePath: savepoint,
        });
        const out2 = build(env2, 2, fn2);
        await env2.execute("async-sp");
        // Only the restored records are watched for lateness: a reader that gets both old splits
        // reads one after the other, and the second one's records fall behind the first's watermarks.
        assertExactlyOnce([...first, ...out2.values], N, restored);
        if (mode === "ordered") {
          // Splits are i mod 2 (the first run's parallelism), whichever subtask reads them now.
          assertOrderPerSubtask(bySubtask(out1), 2);
          assertOrderPerSubtask(bySubtask(out2), 2);
        }

        // The savepoint held every held request (and the records buffered behind them), with the
        // watermarks between them, and every record it held was requested again.
        const { records: inSavepoint, watermarks } = await queuedInSavepoint(savepoint, "async");
        assert.ok(watermarks >= inSavepoint.size - 2, `${watermarks} watermarks between the records`);
        for (const i of held) assert.ok(inSavepoint.has(i), `held record ${i} is in the savepoint`);
        for (const r of first) assert.ok(!inSavepoint.has(r.i), `emitted record ${r.i} is not in it`);
        assert.deepEqual(
          [...restored].sort((a, b) => a - b),
          [...inSavepoint].sort((a, b) => a - b),
          "every record of the savepoint's queues was requested again",
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

/**
 * The indices of the records queued in the async operator `uid`, in every subtask of a
 * checkpoint, and how many watermarks sit between them (each in its place: before the records
 * that follow it in the input, none of which it passed).
 */
async function queuedInSavepoint(
  path: string,
  uid: string,
): Promise<{ records: Set<number>; watermarks: number }> {
  const cp = await loadCheckpoint(path);
  const records = new Set<number>();
  let watermarks = 0;
  for (const task of Object.values(cp.metadata.tasks)) {
    if (!task.operators.includes(uid)) continue;
    for (const h of task.subtasks) {
      if (h.file === undefined) continue;
      const snap = (await cp.read(h.file)) as TaskSnapshot;
      const queue = snap.operators[uid]?.custom as AsyncQueueSnapshot | undefined;
      let watermark = Number.NEGATIVE_INFINITY;
      for (const e of queue?.elements ?? []) {
        if ("watermark" in e) {
          assert.ok(e.watermark >= watermark, "watermarks in input order");
          watermark = e.watermark;
          watermarks++;
          continue;
        }
        const r = e.value as Tagged;
        assert.ok(!records.has(r.i), `record ${r.i} is queued once`);
        assert.equal(e.timestamp, ts(r.i));
        assert.ok(e.timestamp > watermark, `record ${r.i} is queued after watermark ${watermark}`);
        records.add(r.i);
      }
    }
  }
  return { records, watermarks };
}
