// A failure while an attempt is set up (a source's split enumerator that cannot start or be
// restored) is an attempt failure like any other: the restart strategy decides, as in Flink. The
// job then finishes with exact output, or fails with an error naming the source. In-thread and
// on worker threads.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { submitJob } from "../../src/cluster/index.ts";
import { liveWorkerCount } from "../../src/cluster/worker-threads.ts";
import type { AttemptFailure } from "../../src/execution/job-master.ts";
import { JobExecutionError, RestartStrategies, StreamExecutionEnvironment } from "../../src/index.ts";
import {
  type FlakyOptions,
  buildFlakyJob,
  counters,
  resetCounters,
} from "../fixtures/flaky-enumerator-job.ts";
import { waitFor } from "../fixtures/helpers.ts";

const JOB = fileURLToPath(new URL("../fixtures/flaky-enumerator-job.ts", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "weir-setup-failure-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sorted = (xs: unknown[]) => (xs as number[]).slice().sort((a, b) => a - b);

function assertNamesSource(e: unknown, jobName: string, cause: RegExp, verb = "start"): true {
  assert.ok(e instanceof JobExecutionError, `expected a JobExecutionError, got ${e}`);
  assert.match(e.message, new RegExp(`^job '${jobName}' failed: `));
  assert.match(
    e.message,
    new RegExp(`split enumerator of source 'flaky numbers' \\(uid flaky-numbers\\) could not ${verb}`),
  );
  assert.match(e.message, cause);
  assert.ok(e.cause instanceof Error, "keeps the user's error as the cause");
  assert.match(e.userStack ?? "", /flaky-enumerator-job\.ts/, "keeps the user's stack");
  return true;
}

async function runInThread(o: FlakyOptions, restarts: number | undefined, name: string) {
  const env = new StreamExecutionEnvironment({ parallelism: 2 });
  env.setRestartStrategy(
    restarts === undefined ? RestartStrategies.noRestart() : RestartStrategies.fixedDelay(restarts, 10),
  );
  const out = buildFlakyJob(env, o);
  const client = await env.executeAsync(name);
  const result = await client.wait();
  return { result, values: out.values, numRestarts: client.metrics.jobMetrics().numRestarts };
}

beforeEach(() => resetCounters());

describe("a failure while an attempt is set up", () => {
  for (const mode of ["sync", "async"] as const) {
    const how = mode === "sync" ? "throws" : "rejects";
    it(`in-thread: an enumerator start() that ${how} twice is restarted by the strategy; exact output`, async () => {
      const { result, values, numRestarts } = await runInThread(
        { failStarts: 2, mode, splits: 4, perSplit: 25 },
        3,
        `setup-${mode}`,
      );
      assert.deepEqual(sorted(values), range(100));
      assert.equal(result.restarts, 2);
      assert.equal(result.failures, 2);
      assert.equal(numRestarts, 2);
      assert.equal(counters.starts, 3);
    });

    it(`in-thread: with noRestart, an enumerator start() that ${how} fails the job naming the source`, async () => {
      await assert.rejects(
        runInThread({ failStarts: 1, mode, splits: 4, perSplit: 25 }, undefined, `setup-none-${mode}`),
        (e) => assertNamesSource(e, `setup-none-${mode}`, /Error: broker unreachable \(start 1\)/),
      );
      assert.equal(counters.starts, 1);
    });
  }

  it("in-thread: failing more often than the strategy allows fails the job after its restarts", async () => {
    await assert.rejects(
      runInThread({ failStarts: 10, mode: "sync", splits: 2, perSplit: 5 }, 3, "setup-exhausted"),
      (e) =>
        assertNamesSource(e, "setup-exhausted", /broker unreachable \(start 4\)/) &&
        /\(after 3 restarts\)$/.test((e as Error).message),
    );
    assert.equal(counters.starts, 4);
  });

  it("in-thread: a restoreEnumerator() that throws is restarted too; the job restores and finishes exactly", async () => {
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      checkpointInterval: 30,
      checkpointDirectory: join(scratch, "restore"),
    });
    env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
    const out = buildFlakyJob(env, {
      failStarts: 0,
      mode: "sync",
      failRestores: 2,
      failAfterCheckpoint: true,
      splits: 1,
      perSplit: 40,
    });
    const client = await env.executeAsync("setup-restore");
    const result = await client.wait();
    assert.deepEqual(sorted(out.values), range(40));
    assert.equal(counters.readerFailures >= 1, true);
    assert.equal(counters.restores, 3, "two restores failed, the third worked");
    assert.equal(result.restarts, 3, "the reader's failure and the two failed restores");
    const messages = client.metrics.exceptions.map((x) => x.message);
    assert.equal(messages.length, 3);
    assert.match(messages[1]!, /source 'flaky numbers' \(uid flaky-numbers\) could not be restored/);
    assert.match(messages[1]!, /enumerator state unreadable \(restore 1\)/);
  });

  it("worker threads: restarted by the strategy, with exact output and every attempt reported", async () => {
    process.env.WEIR_TEST_SF_FAILS = "2";
    process.env.WEIR_TEST_SF_RESTARTS = "3";
    process.env.WEIR_TEST_SF_MODE = "async";
    const failures: AttemptFailure[] = [];
    try {
      const client = await submitJob({
        job: JOB,
        parallelism: 2,
        jobName: "setup-workers",
        onAttemptFailed: (f) => failures.push(f),
      });
      const result = await client.wait();
      assert.deepEqual(sorted(result.collected.get("out")!), range(100));
      assert.equal(result.restarts, 2);
      assert.equal(client.metrics.jobMetrics().numRestarts, 2);
      assert.deepEqual(
        failures.map((f) => [f.attempt, f.restartDelayMs]),
        [
          [0, 10],
          [1, 10],
        ],
      );
      assertNamesSource(failures[0]!.error, "setup-workers", /broker unreachable \(start 1\)/);
    } finally {
      delete process.env.WEIR_TEST_SF_FAILS;
      delete process.env.WEIR_TEST_SF_RESTARTS;
      delete process.env.WEIR_TEST_SF_MODE;
    }
    await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
  });

  it("worker threads: with noRestart the job fails naming the source, and no worker is left", async () => {
    process.env.WEIR_TEST_SF_FAILS = "1";
    const failures: AttemptFailure[] = [];
    try {
      const client = await submitJob({
        job: JOB,
        parallelism: 2,
        jobName: "setup-workers-none",
        onAttemptFailed: (f) => failures.push(f),
      });
      await assert.rejects(client.wait(), (e) =>
        assertNamesSource(e, "setup-workers-none", /broker unreachable \(start 1\)/),
      );
      assert.equal(client.getStatus(), "FAILED");
      assert.deepEqual(
        failures.map((f) => [f.attempt, f.restartDelayMs]),
        [[0, undefined]],
      );
    } finally {
      delete process.env.WEIR_TEST_SF_FAILS;
    }
    await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
  });
});
