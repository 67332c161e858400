// `weir run --rest-port`: the REST server of a running job, its URL printed when the job starts,
// the worker threads' metrics arriving at /metrics; and the refusals: a non-loopback address
// without a token, a port in use (one line, exit 2). Only loopback traffic.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES, ROOT, assertOneLineError, spawnWeir, weir } from "../cli/cli-harness.ts";

const JOB = `${FIXTURES}/counting-job.ts`;

describe("weir run --rest-port", () => {
  it("serves the running job's REST API and Prometheus metrics from the worker threads", async () => {
    // With latency markers (--latency-interval): the sink's latency histogram reaches /metrics too.
    const run = spawnWeir(["run", JOB, "--rest-port", "0", "--latency-interval", "20", "--flamegraph"]);
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
      let markers = 0;
      while (markers === 0 && Date.now() < deadline) {
        const text = await (await fetch(`${url}/metrics`)).text();
        const m =
          /^weir_taskmanager_job_latency_source_id_operator_id_operator_subtask_index_latency_count\{[^}]*\} (\d+)$/m.exec(
            text,
          );
        markers = m === null ? 0 : Number(m[1]);
        if (markers === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(markers > 0, "latency markers reached the sink, and its histogram /metrics");
      // --flamegraph: a CPU profile of the source's worker thread.
      const details = (await (await fetch(`${url}/jobs/${jobs[0].jid}`)).json()) as { vertices: any[] };
      const vid = details.vertices[0].id as string;
      const flame = await fetch(`${url}/jobs/${jobs[0].jid}/vertices/${vid}/flamegraph?duration=200`);
      assert.equal(flame.status, 200, await flame.clone().text());
      const graph = (await flame.json()) as { data: { name: string; value: number } };
      assert.equal(graph.data.name, "root");
      assert.ok(graph.data.value > 0, "samples were taken");
    } finally {
      run.child.kill("SIGINT");
      await run.exited;
    }
  });

  it("PATCH ?mode=cancel ends the run: the cancel line names the REST API, exit 0", async () => {
    const run = spawnWeir(["run", JOB, "--rest-port", "0"]);
    try {
      await run.until((err) => /REST API at http:\/\/127\.0\.0\.1:\d+/.test(err), "stderr");
      await run.until((out) => /progress: [1-9]\d* records/.test(out));
      const url = /REST API at (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr())![1]!;
      const { jobs } = (await (await fetch(`${url}/jobs/overview`)).json()) as { jobs: any[] };
      const res = await fetch(`${url}/jobs/${jobs[0].jid}?mode=cancel`, { method: "PATCH" });
      assert.equal(res.status, 202);
      const { code } = await run.exited;
      assert.equal(code, 0, run.stderr());
      assert.match(run.stdout(), /^Job 'counting-job' cancelled after .* \(asked through the REST API\)$/m);
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("POST /stop takes a savepoint and ends the run with its path", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "weir-run-rest-stop-"));
    const run = spawnWeir([
      "run",
      JOB,
      "--rest-port",
      "0",
      "--checkpoint-interval",
      "50",
      "--checkpoint-dir",
      join(scratch, "cp"),
    ]);
    try {
      await run.until((err) => /REST API at http:\/\/127\.0\.0\.1:\d+/.test(err), "stderr");
      await run.until((out) => /progress: [1-9]\d* records/.test(out));
      const url = /REST API at (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr())![1]!;
      const { jobs } = (await (await fetch(`${url}/jobs/overview`)).json()) as { jobs: any[] };
      const target = join(scratch, "savepoints");
      const res = await fetch(`${url}/jobs/${jobs[0].jid}/stop`, {
        method: "POST",
        body: JSON.stringify({ targetDirectory: target }),
      });
      assert.equal(res.status, 202);
      const { code } = await run.exited;
      assert.equal(code, 0, run.stderr());
      const m = /^Job 'counting-job' stopped with savepoint at (.+)$/m.exec(run.stdout());
      assert.ok(m !== null, run.stdout().slice(-500));
      assert.ok(existsSync(join(resolve(ROOT, m[1]!), "_metadata")));
    } finally {
      run.child.kill("SIGKILL");
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("--status-interval: a plain status line that often off a terminal", async () => {
    // The harness turns status lines off through WEIR_STATUS_INTERVAL_MS=0: the option wins.
    const run = spawnWeir(["run", JOB, "--status-interval", "1"]);
    try {
      await run.until(
        (err) => (err.match(/^weir: \d+s \| in [\d,.]+\/s \| out /gm) ?? []).length >= 2,
        "stderr",
      );
    } finally {
      run.child.kill("SIGINT");
      await run.exited;
    }
    const bad = await weir(["run", JOB, "--status-interval", "soon"]);
    assertOneLineError(bad, 2, "--status-interval", "soon");
    const badLatency = await weir(["run", JOB, "--latency-interval", "-5"]);
    assertOneLineError(badLatency, 2, "--latency-interval", "-5");
  });

  it("--flamegraph needs --rest-port", async () => {
    const r = await weir(["run", JOB, "--flamegraph"]);
    assertOneLineError(r, 2, "--flamegraph", "--rest-port");
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
