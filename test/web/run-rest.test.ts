// `weir run --rest-port`: the REST server of a running job, its URL printed when the job starts,
// the worker threads' metrics arriving at /metrics; and the refusals: a non-loopback address
// without a token, a port in use (one line, exit 2). Only loopback traffic.

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { FIXTURES, assertOneLineError, spawnWeir, weir } from "../cli/cli-harness.ts";

const JOB = `${FIXTURES}/counting-job.ts`;

describe("weir run --rest-port", () => {
  it("serves the running job's REST API and Prometheus metrics from the worker threads", async () => {
    const run = spawnWeir(["run", JOB, "--rest-port", "0"]);
    try {
      await run.until((err) => /REST API at http:\/\/127\.0\.0\.1:\d+/.test(err), "stderr");
      const url = /REST API at (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr())![1]!;
      const { jobs } = (await (await fetch(`${url}/jobs/overview`)).json()) as { jobs: any[] };
      assert.equal(jobs.length, 1);
      assert.equal(jobs[0].name, "counting-job");
      assert.equal(jobs[0].state, "RUNNING");
      // Worker threads report every second: wait until the source's count shows at /metrics.
      let seen = 0;
      const deadline = Date.now() + 60_000;
      while (seen === 0 && Date.now() < deadline) {
        const text = await (await fetch(`${url}/metrics`)).text();
        const m =
          /^weir_taskmanager_job_task_operator_numRecordsOut\{[^}]*operator_name="Events"[^}]*\} (\d+)$/m.exec(
            text,
          );
        seen = m === null ? 0 : Number(m[1]);
        if (seen === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(seen > 0, "the Events source's numRecordsOut reached /metrics");
    } finally {
      run.child.kill("SIGINT");
      await run.exited;
    }
  });

  it("refuses a non-loopback address without a token", async () => {
    const r = await weir(["run", JOB, "--rest-port", "0", "--rest-address", "0.0.0.0"], {
      WEIR_REST_TOKEN: "",
    });
    assertOneLineError(r, 2, "0.0.0.0", "without a token", "--rest-token");
  });

  it("a port in use is one line and exit 2", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await weir(["run", JOB, "--rest-port", String(port)]);
      assertOneLineError(r, 2, `port ${port}`, "in use");
    } finally {
      blocker.close();
    }
  });
});
