// A two-phase-commit sink whose prepareCommit returns a Promise (staging in an external system is
// asynchronous, as PostgresXaSink's PREPARE TRANSACTION): the checkpoint must not complete before
// it resolved, a rejection must decline the checkpoint and fail the task, records keep flowing
// after the barrier, and every record is committed exactly once, also through a restart. A commit
// that rejects asynchronously fails the running job.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  type Committer,
  type PrecommittingSinkWriter,
  RestartStrategies,
  type SinkWriterContext,
  StreamExecutionEnvironment,
  type TwoPhaseCommittingSink,
} from "../../src/index.ts";
import { waitFor } from "../fixtures/helpers.ts";

const FINAL = Number.MAX_SAFE_INTEGER;

/** One checkpoint's staged records of one subtask. */
interface Staged {
  checkpointId: number;
  attempt: number;
  values: number[];
}

/** What the test controls and observes of the sink (jobs run in this thread). */
class Probe {
  /** How prepareCommit answers for a (non-final) checkpoint of an attempt. */
  answer: (staged: Staged[], checkpointId: number, attempt: number) => Staged[] | Promise<Staged[]> = (s) =>
    s;
  written = 0;
  /** Records written after the last prepareCommit call. */
  writtenSincePrepare = 0;
  prepared: number[] = [];
  committed: Staged[] = [];
}

class AsyncStagingSink implements TwoPhaseCommittingSink<number, Staged> {
  constructor(private readonly probe: Probe) {}
  createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<number, Staged> {
    const probe = this.probe;
    const attempt = ctx.runtime.attemptNumber;
    let values: number[] = [];
    return {
      write(v) {
        values.push(v);
        probe.written++;
        probe.writtenSincePrepare++;
      },
      prepareCommit(checkpointId) {
        probe.prepared.push(checkpointId);
        probe.writtenSincePrepare = 0;
        const staged = values.length > 0 ? [{ checkpointId, attempt, values }] : [];
        values = [];
        return checkpointId === FINAL ? staged : probe.answer(staged, checkpointId, attempt);
      },
    };
  }
  createCommitter(): Committer<Staged> {
    return {
      commit: (committables) => {
        for (const c of committables) {
          // Idempotent: a restart commits the restored committables again.
          if (!this.probe.committed.some((d) => d.checkpointId === c.checkpointId && d.attempt === c.attempt))
            this.probe.committed.push(c);
        }
      },
    };
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function withEnv<R>(run: (env: StreamExecutionEnvironment) => Promise<R>): Promise<R> {
  const dir = mkdtempSync(join(tmpdir(), "weir-async-prepare-"));
  try {
    return await run(new StreamExecutionEnvironment({ parallelism: 1, checkpointDirectory: dir }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("asynchronous prepareCommit", () => {
  it("the checkpoint completes only once the staging resolved; records flow meanwhile", async () => {
    const probe = new Probe();
    await withEnv(async (env) => {
      env.enableCheckpointing(3_600_000); // only the checkpoints the test triggers
      env.setRestartStrategy(RestartStrategies.noRestart());
      env
        .fromGenerator((i) => i, { count: 10_000_000, recordsPerSecond: 4000 })
        .uid("numbers")
        .sinkTo(new AsyncStagingSink(probe))
        .uid("async-sink");
      const client = await env.executeAsync("async-prepare");
      try {
        await waitFor(() => probe.written >= 50, "records reaching the sink");
        const held = deferred<void>();
        probe.answer = (staged) => held.promise.then(() => staged);
        let completed = false;
        const checkpoint = client.triggerCheckpoint().then(() => {
          completed = true;
        });
        await waitFor(() => probe.prepared.length === 1, "prepareCommit at the barrier");
        // The task goes on writing records after the barrier while the staging is pending.
        await waitFor(() => probe.writtenSincePrepare >= 400, "records after the barrier");
        assert.equal(completed, false, "the checkpoint completed before its staging resolved");
        assert.equal(probe.committed.length, 0);
        held.resolve();
        await checkpoint;
        await waitFor(() => probe.committed.length === 1, "the commit of the staged records");
        const first = probe.committed[0]!;
        assert.equal(first.checkpointId, probe.prepared[0]);
        assert.deepEqual(first.values, range(first.values.length));

        // Then a synchronous one: committables stay in checkpoint order, no record twice or lost.
        probe.answer = (staged) => staged;
        await waitFor(() => probe.writtenSincePrepare >= 50, "records for the next checkpoint");
        await client.triggerCheckpoint();
        await waitFor(() => probe.committed.length === 2, "the second commit");
        assert.deepEqual(
          probe.committed.map((c) => c.checkpointId),
          [...probe.prepared],
        );
        const all = probe.committed.flatMap((c) => c.values);
        assert.deepEqual(all, range(all.length));
      } finally {
        await client.cancel();
      }
    });
  });

  it("a rejected staging declines the checkpoint and fails the task", async () => {
    const probe = new Probe();
    await withEnv(async (env) => {
      env.enableCheckpointing(3_600_000);
      env.setRestartStrategy(RestartStrategies.noRestart());
      env
        .fromGenerator((i) => i, { count: 10_000_000, recordsPerSecond: 4000 })
        .uid("numbers")
        .sinkTo(new AsyncStagingSink(probe))
        .uid("async-sink");
      const client = await env.executeAsync("async-prepare-rejects");
      try {
        await waitFor(() => probe.written >= 50, "records reaching the sink");
        probe.answer = () =>
          new Promise((_, reject) => setTimeout(() => reject(new Error("the staging area said no")), 20));
        await assert.rejects(client.triggerCheckpoint(), "the checkpoint completed with a failed staging");
        await assert.rejects(client.wait(), /the staging area said no/);
        assert.equal(probe.committed.length, 0);
      } finally {
        await client.cancel();
      }
    });
  });

  it("exactly once through a failed staging and a restart (periodic checkpoints, end of input)", async () => {
    const probe = new Probe();
    const count = 1500;
    let failed = false;
    let inFlight = 0;
    let overlapped = false;
    probe.answer = (staged, _id, attempt) => {
      if (inFlight++ > 0) overlapped = true;
      const settled = new Promise<Staged[]>((resolve, reject) =>
        setTimeout(() => {
          // The third staging of the first attempt fails: the task fails, the job restarts.
          if (attempt === 0 && probe.prepared.length >= 3 && !failed) {
            failed = true;
            reject(new Error("injected staging failure"));
          } else resolve(staged);
        }, 40),
      );
      return settled.finally(() => inFlight--);
    };
    await withEnv(async (env) => {
      // Checkpoints overlap: a barrier arrives while earlier stagings are still pending.
      env.enableCheckpointing(15);
      env.getCheckpointConfig().setTolerableCheckpointFailureNumber(100).setMaxConcurrentCheckpoints(3);
      env.setRestartStrategy(RestartStrategies.fixedDelay(2, 10));
      env
        .fromGenerator((i) => i, { count, recordsPerSecond: 3000 })
        .uid("numbers")
        .sinkTo(new AsyncStagingSink(probe))
        .uid("async-sink");
      await env.execute("async-prepare-restart");
    });
    assert.equal(failed, true, "the staging failure was not injected");
    const values = probe.committed.flatMap((c) => c.values).sort((a, b) => a - b);
    assert.deepEqual(values, range(count));
    assert.ok(overlapped, "no barrier arrived while a staging was pending");
  });

  it("an asynchronous commit that rejects fails the running job", async () => {
    const probe = new Probe();
    class RejectingCommitSink extends AsyncStagingSink {
      override createCommitter(): Committer<Staged> {
        return { commit: () => Promise.reject(new Error("the commit service said no")) };
      }
    }
    await withEnv(async (env) => {
      env.enableCheckpointing(3_600_000);
      env.setRestartStrategy(RestartStrategies.noRestart());
      env
        .fromGenerator((i) => i, { count: 10_000_000, recordsPerSecond: 4000 })
        .uid("numbers")
        .sinkTo(new RejectingCommitSink(probe))
        .uid("rejecting-sink");
      const client = await env.executeAsync("async-commit-rejects");
      let failure: Error | undefined;
      client.wait().catch((e: Error) => {
        failure = e;
      });
      try {
        await waitFor(() => probe.written >= 50, "records reaching the sink");
        await client.triggerCheckpoint(); // completes; its commit then rejects
        await waitFor(() => failure !== undefined, "the job failing with the rejected commit", 30_000);
        assert.match(failure!.message, /the commit service said no/);
      } finally {
        await client.cancel();
      }
    });
  });
});
