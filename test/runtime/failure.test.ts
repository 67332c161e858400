// A failing job: the error names the job, operator, uid and subtask, keeps the user's stack, and
// leaves nothing running. Same in-thread and on worker threads.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { liveWorkerCount } from "../../src/cluster/worker-threads.ts";
import { JobExecutionError, StreamExecutionEnvironment } from "../../src/index.ts";
import { runJob } from "../../src/cluster/index.ts";
import { buildFailingJob } from "../fixtures/failing-job.ts";
import { waitFor } from "../fixtures/helpers.ts";

const JOB = fileURLToPath(new URL("../fixtures/failing-job.ts", import.meta.url));

function assertUserFailure(e: unknown, jobName: string): true {
  assert.ok(e instanceof JobExecutionError, `expected a JobExecutionError, got ${e}`);
  assert.equal(e.code, "JOB_FAILED");
  const m = /thrown in subtask (\d)/.exec(e.message);
  assert.ok(m !== null, `the user's message is missing: ${e.message}`);
  const k = m[1]!;
  assert.match(e.message, new RegExp(`'${jobName}'`), "names the job");
  assert.match(e.message, /'explode'/, "names the operator");
  assert.match(e.message, /explode-uid/, "names the uid");
  assert.match(e.message, new RegExp(`subtask ${k}/4`), "names the subtask that failed");
  assert.match(e.message, /RangeError: no 777 please/);
  assert.equal(e.location?.operatorName, "explode");
  assert.equal(e.location?.operatorUid, "explode-uid");
  assert.equal(e.location?.subtaskIndex, Number(k) - 1);
  assert.equal(e.location?.parallelism, 4);
  assert.ok(e.userStack !== undefined, "no user stack");
  assert.match(e.userStack, /explodeOn777/, "the user stack lacks the user function's frame");
  assert.match(e.userStack, /failing-job\.ts/, "the user stack lacks the user's file");
  return true;
}

describe("a user function that throws", () => {
  it("in-thread: the job rejects with a JobExecutionError naming job, operator, uid and subtask", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 4 });
    buildFailingJob(env, "throw");
    await assert.rejects(env.execute("failing-in-thread"), (e) => assertUserFailure(e, "failing-in-thread"));
  });

  it("in-thread: executeAsync reports FAILED", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 4 });
    buildFailingJob(env, "throw");
    const client = await env.executeAsync("failing-async");
    await assert.rejects(client.wait(), (e) => assertUserFailure(e, "failing-async"));
    assert.equal(client.getStatus(), "FAILED");
  });

  it("threaded (p=4): the job rejects likewise, and every worker thread exits", async () => {
    process.env.WEIR_TEST_FAIL_MODE = "throw";
    await assert.rejects(runJob({ job: JOB, parallelism: 4 }), (e) =>
      assertUserFailure(e, "failing-fixture"),
    );
    await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
  });

  it("threaded: a worker out of its heap limit fails the job with one line saying what to raise", async () => {
    process.env.WEIR_TEST_FAIL_MODE = "oom";
    try {
      await assert.rejects(runJob({ job: JOB, parallelism: 1 }), (e: unknown) => {
        assert.ok(e instanceof JobExecutionError, `expected a JobExecutionError, got ${e}`);
        assert.match(e.message, /slot 0.s worker thread ran out of its heap limit of 32 MiB/);
        assert.match(e.message, /raise --task-heap-memory/);
        return true;
      });
    } finally {
      process.env.WEIR_TEST_FAIL_MODE = "throw";
    }
    await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
  });

  it("close() of the user function runs when the job fails", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    let opened = 0;
    let closed = 0;
    env
      .fromSequence(1, 100)
      .map({
        open() {
          opened++;
        },
        map(x: number) {
          if (x === 50) throw new Error("fifty");
          return x;
        },
        close() {
          closed++;
        },
      })
      .collect();
    await assert.rejects(env.execute(), JobExecutionError);
    assert.equal(opened, 2);
    assert.equal(closed, 2);
  });
});

describe("a record that cannot be serialized", () => {
  const cases = [
    ["class-on-object", "'to-point' -> 'after-point'", /"y"/],
    ["class-on-generic", "'to-point' -> 'after-point'", /class Point/],
    ["function-on-generic", "'with-function' -> 'after-function'", /function/],
  ] as const;
  for (const [mode, edge, what] of cases) {
    it(`in-thread (${mode}): fails the job with a message naming the edge`, async () => {
      const env = new StreamExecutionEnvironment({ parallelism: 2 });
      buildFailingJob(env, mode);
      await assert.rejects(env.execute("unserializable"), (e: unknown) => {
        assert.ok(e instanceof JobExecutionError, `expected a JobExecutionError, got ${e}`);
        assert.ok(e.message.includes(edge), `the message does not name the edge ${edge}: ${e.message}`);
        assert.match(e.message, what);
        assert.match(e.message, /'unserializable'/);
        return true;
      });
    });

    it(`threaded (${mode}): fails the job with a message naming the edge`, async () => {
      process.env.WEIR_TEST_FAIL_MODE = mode;
      await assert.rejects(runJob({ job: JOB, parallelism: 2 }), (e: unknown) => {
        assert.ok(e instanceof JobExecutionError, `expected a JobExecutionError, got ${e}`);
        assert.ok(e.message.includes(edge), `the message does not name the edge ${edge}: ${e.message}`);
        assert.match(e.message, what);
        return true;
      });
      await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
    });
  }
});
