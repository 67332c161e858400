// Async I/O on worker threads under failure: a worker thread is killed while requests are in
// flight; the exactly-once file sink's committed output must equal the failure-free output (no
// record lost, none duplicated, every result with its input's timestamp; ordered: in order).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { submitJob } from "../../src/cluster/mini-cluster.ts";
import { liveWorkerCount } from "../../src/cluster/worker-threads.ts";
import { sharedCounters, waitFor } from "../fixtures/helpers.ts";
import {
  chaosSeeds,
  planFor,
  replayCommand,
  runDoubleRestore,
} from "../checkpoint/fixtures/chaos-double-restore.ts";
import { type AsyncChaosParams, timestampOf } from "./fixtures/async-chaos-job.ts";

const JOB = fileURLToPath(new URL("./fixtures/async-chaos-job.ts", import.meta.url));
const COUNTERS = "async-chaos";

/** The committed part files, each as its records in write order. */
function committedFiles(dir: string): Array<Array<{ i: number; ts: number }>> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => !f.startsWith("."))
    .map((f) =>
      readFileSync(join(dir, f), "utf8")
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as { i: number; ts: number }),
    );
}

describe("Async I/O: a worker thread killed while requests are in flight (file sink)", () => {
  const EVENTS = 6_000;
  const PARALLELISM = 2;
  for (const mode of ["ordered", "unordered"] as const) {
    it(`${mode}: the committed output equals the failure-free output`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-async-chaos-"));
      const counters = sharedCounters(COUNTERS);
      Atomics.store(counters, 0, 0);
      try {
        const params: AsyncChaosParams = {
          out: join(dir, "out"),
          checkpoints: join(dir, "checkpoints"),
          events: EVENTS,
          rate: 6_000,
          mode,
          capacity: 50,
          counters: COUNTERS,
        };
        process.env.WEIR_ASYNC_CHAOS_JOB = JSON.stringify(params);
        const client = await submitJob({ job: JOB, parallelism: PARALLELISM });
        // Once a checkpoint has committed output (and so was taken with full queues: requests take
        // longer than the records take to arrive), the worker of slot 0 dies.
        await waitFor(
          () => existsSync(params.out) && readdirSync(params.out).some((f) => !f.startsWith(".")),
          "committed output",
        );
        client.killWorker(0);
        const result = await client.wait();
        assert.ok(result.restarts >= 1, "the job restarted after the kill");

        const files = committedFiles(params.out);
        const all = files.flat();
        assert.deepEqual(
          all.map((r) => r.i).sort((a, b) => a - b),
          Array.from({ length: EVENTS }, (_, i) => i),
          "every record's result once",
        );
        for (const r of all) assert.equal(r.ts, timestampOf(r.i), `record ${r.i} kept its timestamp`);
        if (mode === "ordered") {
          // A part file holds one subtask's results in emission order; each source split
          // (i mod parallelism) is in order within it.
          for (const f of files) {
            const last = new Map<number, number>();
            for (const { i } of f) {
              const split = i % PARALLELISM;
              assert.ok(i > (last.get(split) ?? -1), `record ${i} after ${last.get(split)}`);
              last.set(split, i);
            }
          }
        }
        assert.ok(
          Atomics.load(counters, 0) > 0,
          "requests in flight at the checkpoint were restored from it",
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("leaves no worker thread behind", async () => {
    await waitFor(() => liveWorkerCount() === 0, "every worker thread to end", 30_000);
  });
});

// The double-restore chaos mode (see test/checkpoint/chaos-double-restore.test.ts): requests in
// flight at both cuts, the second during a quiet stretch; both backends (the async operator's
// queue is operator state, beside the job's keyed state). Replay a seed with CHAOS_SEED=n.
describe("Async I/O: two restores with a quiet stretch between them", () => {
  for (const seed of chaosSeeds([5, 10])) {
    for (const backend of ["heap", "embedded"] as const) {
      const plan = planFor(seed, backend);
      it(`seed ${seed}, ${backend}: ordered and unordered results equal the run without restores`, async () => {
        await runDoubleRestore(
          plan,
          ["async-ordered", "async-unordered"],
          replayCommand(seed, "test/async/async-chaos.test.ts"),
        );
      });
    }
  }
});
