// The REST server against real jobs: Flink-shaped JSON of the jobs, vertices, metrics,
// checkpoints and exceptions; Prometheus text at /metrics with the expected series; Flink-style
// 404s; the token check; a port in use. Only loopback traffic.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ManagedJobClient, StreamExecutionEnvironment } from "../../src/index.ts";
import type { JobMetrics } from "../../src/runtime/metrics/job-metrics.ts";
import { type RestServer, RestServerError, startRestServer } from "../../src/web/rest-server.ts";
import { RECORDS, buildMetricsJob } from "../fixtures/metrics-job.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse Prometheus text exposition (0.0.4): every sample line, checking the comment lines' shape. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.length === 0) continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      assert.ok(m !== null, `bad comment line: ${line}`);
      if (m[1] === "TYPE") types.set(m[2]!, m[3]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m !== null, `bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    const v = m[3]!;
    samples.push({ name: m[1]!, labels, value: v === "-Inf" ? Number.NEGATIVE_INFINITY : Number(v) });
  }
  return { samples, types };
}

async function getJson(server: RestServer, path: string, status = 200): Promise<any> {
  const res = await fetch(server.url + path);
  assert.equal(res.status, status, `GET ${path}`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  return res.json();
}

describe("REST server", () => {
  let finished: ManagedJobClient;
  let failedOnce: ManagedJobClient;
  let server: RestServer;
  const jobs: JobMetrics[] = [];

  before(async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    buildMetricsJob(env, false);
    finished = await env.executeAsync("rest-finished");
    await finished.wait();
    const env2 = new StreamExecutionEnvironment({ parallelism: 2 });
    buildMetricsJob(env2, true);
    failedOnce = await env2.executeAsync("rest-restarted");
    await failedOnce.wait();
    jobs.push(finished.metrics, failedOnce.metrics);
    server = await startRestServer({ port: 0, jobs: () => jobs });
  });

  after(async () => {
    await server?.close();
  });

  it("listens on 127.0.0.1", () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("GET /overview and /jobs/overview", async () => {
    const o = await getJson(server, "/overview");
    assert.equal(o["jobs-finished"], 2);
    assert.equal(o["jobs-running"], 0);
    const { jobs: list } = await getJson(server, "/jobs/overview");
    assert.equal(list.length, 2);
    const j = list.find((x: any) => x.jid === finished.jobId);
    assert.equal(j.name, "rest-finished");
    assert.equal(j.state, "FINISHED");
    assert.ok(j["start-time"] > 0 && j["end-time"] >= j["start-time"]);
    assert.deepEqual(j.tasks, { total: 4, running: 0, finished: 4, canceled: 0, failed: 0 });
  });

  it("GET /jobs/:id: vertices with parallelism, status and record counts", async () => {
    const j = await getJson(server, `/jobs/${finished.jobId}`);
    assert.equal(j.jid, finished.jobId);
    assert.equal(j.vertices.length, 2);
    const source = j.vertices.find((v: any) => v.name.includes("numbers"));
    assert.equal(source.parallelism, 2);
    assert.equal(source.status, "FINISHED");
    assert.equal(source.metrics["write-records"], RECORDS);
    const other = j.vertices.find((v: any) => v !== source);
    assert.equal(other.metrics["read-records"], RECORDS);
    assert.equal(other.metrics["read-bytes"], source.metrics["write-bytes"]);
    const v = await getJson(server, `/jobs/${finished.jobId}/vertices/${other.id}`);
    assert.equal(v.subtasks.length, 2);
    assert.deepEqual(
      v.subtasks.map((s: any) => [s.subtask, s.status, s.backPressureLevel]),
      [
        [0, "FINISHED", "ok"],
        [1, "FINISHED", "ok"],
      ],
    );
  });

  it("GET vertex and job metrics, Flink's ?get= query", async () => {
    const j = await getJson(server, `/jobs/${finished.jobId}`);
    const vid = j.vertices.find((v: any) => v.operators.some((o: any) => o.name === "double")).id;
    const base = `/jobs/${finished.jobId}/vertices/${vid}/metrics`;
    const ids = (await getJson(server, base)).map((m: any) => m.id);
    assert.ok(ids.includes("0.numRecordsIn") && ids.includes("1.double.seen"), ids.join(","));
    const values = await getJson(server, `${base}?get=0.numRecordsIn,1.numRecordsIn,0.double.seen,nope`);
    assert.equal(values.length, 3);
    const sum = values
      .filter((m: any) => m.id.endsWith("numRecordsIn"))
      .reduce((s: number, m: any) => s + Number(m.value), 0);
    assert.equal(sum, RECORDS);
    assert.equal(typeof values[0].value, "string", "values are strings, as in Flink");
    const restarts = await getJson(server, `/jobs/${failedOnce.jobId}/metrics?get=numRestarts,uptime`);
    assert.deepEqual(restarts[0], { id: "numRestarts", value: "1" });
  });

  it("GET a vertex's subtask metrics aggregated (?get, ?agg, ?subtasks), one subtask's, watermarks, backpressure", async () => {
    const j = await getJson(server, `/jobs/${finished.jobId}`);
    const vid = j.vertices.find((v: any) => v.operators.some((o: any) => o.name === "double")).id;
    const base = `/jobs/${finished.jobId}/vertices/${vid}`;
    const ids = (await getJson(server, `${base}/subtasks/metrics`)).map((m: any) => m.id);
    assert.ok(ids.includes("numRecordsIn") && ids.includes("double.seen"), ids.join(","));
    assert.equal(new Set(ids).size, ids.length, "each id once, not once per subtask");

    const one = async (i: number) =>
      Number((await getJson(server, `${base}/subtasks/${i}/metrics?get=numRecordsIn,nope`))[0].value);
    const [a, b] = [await one(0), await one(1)];
    assert.equal(a + b, RECORDS);
    const all = await getJson(server, `${base}/subtasks/metrics?get=numRecordsIn,nope`);
    assert.equal(all.length, 1, "a metric no subtask has is left out");
    const avg = (a + b) / 2;
    const skew = avg === 0 ? 0 : ((Math.abs(a - avg) + Math.abs(b - avg)) / 2 / avg) * 100;
    assert.deepEqual(all[0], {
      id: "numRecordsIn",
      min: Math.min(a, b),
      max: Math.max(a, b),
      avg,
      sum: RECORDS,
      skew,
    });
    assert.deepEqual(await getJson(server, `${base}/subtasks/metrics?get=numRecordsIn&agg=max,sum`), [
      { id: "numRecordsIn", max: Math.max(a, b), sum: RECORDS },
    ]);
    const second = await getJson(server, `${base}/subtasks/metrics?get=numRecordsIn&agg=sum&subtasks=1`);
    assert.deepEqual(second, [{ id: "numRecordsIn", sum: b }]);
    assert.deepEqual(
      await getJson(server, `${base}/subtasks/metrics?get=numRecordsIn&agg=sum&subtasks=0-1`),
      [{ id: "numRecordsIn", sum: RECORDS }],
    );
    const badAgg = await getJson(server, `${base}/subtasks/metrics?get=numRecordsIn&agg=median`, 400);
    assert.match(badAgg.errors[0], /median.*min, max, avg, sum, skew/);
    const badRange = await getJson(server, `${base}/subtasks/metrics?get=numRecordsIn&subtasks=2-1`, 400);
    assert.match(badRange.errors[0], /2-1/);
    await getJson(server, `${base}/subtasks/7/metrics`, 404);

    const watermarks = await getJson(server, `${base}/watermarks`);
    assert.deepEqual(
      watermarks.map((w: any) => w.id),
      ["0.currentInputWatermark", "1.currentInputWatermark"],
    );
    for (const w of watermarks) assert.equal(typeof w.value, "string");

    const bp = await getJson(server, `${base}/backpressure`);
    assert.equal(bp.status, "ok");
    assert.ok(["ok", "low", "high"].includes(bp.backpressureLevel));
    assert.deepEqual(
      bp.subtasks.map((s: any) => s.subtask),
      [0, 1],
    );
    for (const s of bp.subtasks) {
      for (const r of [s.ratio, s.idleRatio, s.busyRatio]) assert.ok(r >= 0 && r <= 1, `${r} is a ratio`);
    }
  });

  it("GET /jobs/:id/exceptions and /checkpoints", async () => {
    const e = await getJson(server, `/jobs/${failedOnce.jobId}/exceptions`);
    assert.match(e["root-exception"], /777 in the first attempt/);
    assert.equal(e.exceptionHistory.entries.length, 1);
    assert.match(e.exceptionHistory.entries[0].taskName, /double \(subtask \d\)/);
    const none = await getJson(server, `/jobs/${finished.jobId}/exceptions`);
    assert.equal(none["root-exception"], null);
    const c = await getJson(server, `/jobs/${finished.jobId}/checkpoints`);
    assert.deepEqual(Object.keys(c).sort(), ["counts", "history", "latest", "summary"]);
    assert.equal(c.counts.completed, 0);
  });

  it("unknown jobs, vertices and paths are Flink-style 404 JSON errors", async () => {
    const j = await getJson(server, "/jobs/no-such-job", 404);
    assert.deepEqual(j, { errors: ["Job no-such-job not found"] });
    const v = await getJson(server, `/jobs/${finished.jobId}/vertices/99`, 404);
    assert.match(v.errors[0], /Vertex 99/);
    await getJson(server, "/nothing/here", 404);
    const res = await fetch(`${server.url}/jobs/${finished.jobId}`, { method: "DELETE" });
    assert.equal(res.status, 405);
  });

  it("GET /metrics is Prometheus text with Flink-reporter-style names and labels", async () => {
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const { samples, types } = parsePrometheus(await res.text());
    const of = (name: string, job: string, operator?: string) =>
      samples.filter(
        (s) =>
          s.name === name &&
          s.labels.job_name === job &&
          (operator === undefined || s.labels.operator_name === operator),
      );
    const inDouble = of("weir_taskmanager_job_task_operator_numRecordsIn", "rest-finished", "double");
    assert.equal(inDouble.length, 2, "one series per subtask");
    assert.deepEqual(inDouble.map((s) => s.labels.subtask_index).sort(), ["0", "1"]);
    assert.equal(
      inDouble.reduce((s, x) => s + x.value, 0),
      RECORDS,
    );
    for (const l of ["job_id", "job_name", "task_name", "task_id", "operator_id", "task_attempt_num"])
      assert.ok(inDouble[0]!.labels[l] !== undefined, `label ${l}`);
    assert.equal(types.get("weir_taskmanager_job_task_operator_numRecordsIn"), "counter");
    assert.equal(types.get("weir_taskmanager_job_task_busyTimeMsPerSecond"), "gauge");
    assert.equal(of("weir_taskmanager_job_task_numRecordsOut", "rest-finished").length, 4);
    assert.equal(of("weir_jobmanager_job_numRestarts", "rest-restarted")[0]?.value, 1);
    // Counters are job totals across restarts: the restarted job read more than RECORDS.
    const restarted = of("weir_taskmanager_job_task_operator_numRecordsIn", "rest-restarted", "double");
    assert.ok(restarted.reduce((s, x) => s + x.value, 0) > RECORDS);
    // User metrics: counter, meter (a subgroup), histogram as quantiles and a count.
    assert.equal(
      of("weir_taskmanager_job_task_operator_seen", "rest-finished").reduce((s, x) => s + x.value, 0),
      RECORDS,
    );
    assert.equal(of("weir_taskmanager_job_task_operator_mine_doubled", "rest-finished").length, 2);
    const q = of("weir_taskmanager_job_task_operator_values", "rest-finished").map((s) => s.labels.quantile);
    assert.ok(q.includes("0.5") && q.includes("0.99"));
    assert.equal(
      of("weir_taskmanager_job_task_operator_values_count", "rest-finished").reduce((s, x) => s + x.value, 0),
      RECORDS,
    );
    assert.equal(of("weir_taskmanager_job_task_currentInputWatermark", "rest-finished").length, 4);
  });

  it("with a token, a request without it gets 401", async () => {
    const guarded = await startRestServer({ port: 0, token: "s3cret", jobs: () => jobs });
    try {
      const res = await fetch(`${guarded.url}/jobs/overview`);
      assert.equal(res.status, 401);
      assert.ok(Array.isArray(((await res.json()) as { errors: unknown }).errors));
      const wrong = await fetch(`${guarded.url}/jobs/overview`, {
        headers: { authorization: "Bearer nope" },
      });
      assert.equal(wrong.status, 401);
      const ok = await fetch(`${guarded.url}/jobs/overview`, { headers: { authorization: "Bearer s3cret" } });
      assert.equal(ok.status, 200);
    } finally {
      await guarded.close();
    }
  });

  it("refuses a non-loopback address without a token", async () => {
    const saved = process.env.WEIR_REST_TOKEN;
    delete process.env.WEIR_REST_TOKEN;
    try {
      await assert.rejects(
        startRestServer({ port: 0, address: "0.0.0.0", jobs: () => jobs }),
        (e) =>
          e instanceof RestServerError && /without a token/.test(e.message) && /--rest-token/.test(e.message),
      );
    } finally {
      if (saved !== undefined) process.env.WEIR_REST_TOKEN = saved;
    }
  });

  it("a port in use is one clear error", async () => {
    await assert.rejects(
      startRestServer({ port: server.port, jobs: () => jobs }),
      (e) =>
        e instanceof RestServerError &&
        new RegExp(`port ${server.port} on 127.0.0.1 is in use`).test(e.message),
    );
  });
});
