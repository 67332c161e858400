// Latency markers (Flink's metrics.latency.interval): with an interval, every source subtask emits
// markers that reach every operator downstream — chained ones, and across the network to every
// subtask — and each records a `latency` histogram per source (a marker's arrival minus its making,
// never negative), served as Flink's job metrics and
// in Prometheus; without one (the default), no operator has any. Markers never reach user
// functions and never change what a job outputs, through a failure and restore too.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { submitJob } from "../../src/cluster/index.ts";
import {
  type ManagedJobClient,
  RestartStrategies,
  StreamExecutionEnvironment,
  Types,
} from "../../src/index.ts";
import type { JobMetrics } from "../../src/runtime/metrics/job-metrics.ts";
import { operatorLatencies } from "../../src/runtime/metrics/latency-metrics.ts";
import { LatencyStats } from "../../src/runtime/metrics/latency-stats.ts";
import { renderPrometheus } from "../../src/web/prometheus.ts";
import { type RestServer, startRestServer } from "../../src/web/rest-server.ts";
import { waitFor } from "../fixtures/helpers.ts";

const METRICS_JOB = fileURLToPath(new URL("../fixtures/metrics-job.ts", import.meta.url));

const served: JobMetrics[] = [];
let server: RestServer | undefined;
const dirs: string[] = [];

async function jobMetricIds(jobId: string): Promise<string[]> {
  server ??= await startRestServer({ port: 0, jobs: () => served });
  const res = await fetch(`${server.url}/jobs/${jobId}/metrics`);
  assert.equal(res.status, 200);
  return ((await res.json()) as Array<{ id: string }>).map((m) => m.id);
}

/** Source (p=2) → map (chained) → keyBy → reduce (p=2) → sink; unbounded unless `count`. */
function build(env: StreamExecutionEnvironment, count = Number.POSITIVE_INFINITY) {
  const seenByUser: unknown[] = [];
  env
    .fromGenerator((i) => i, { type: Types.NUMBER, count })
    .uid("numbers")
    .name("numbers")
    .setParallelism(2)
    .map((x) => {
      if (typeof x !== "number") seenByUser.push(x);
      return x % 7;
    })
    .uid("mod")
    .name("mod")
    .setParallelism(2)
    .keyBy((x) => x)
    .reduce((a, b) => a + b)
    .uid("sum")
    .name("sum")
    .setParallelism(2)
    .sinkTo({ createWriter: () => ({ write(): void {} }) }, "drop")
    .uid("drop");
  return seenByUser;
}

describe("an operator's latency histograms", () => {
  it("record the time from each marker's making to its arrival, per source", () => {
    const stats = new LatencyStats();
    const marker = (sourceUid: string, markedTime: number) => ({ sourceUid, sourceSubtask: 0, markedTime });
    stats.record(marker("numbers", 10_000), 10_004);
    stats.record(marker("numbers", 10_010), 10_016);
    stats.record(marker("letters", 20_000), 20_003);
    // A marker made "later" than it arrived (another thread's clock ahead): 0, not negative.
    stats.record(marker("letters", 20_010), 20_008);
    const bySource = new Map(stats.snapshot().map((s) => [s.sourceUid, s.stats]));
    assert.deepEqual([...bySource.keys()], ["numbers", "letters"]);
    const numbers = bySource.get("numbers")!;
    assert.deepEqual(
      { count: numbers.count, min: numbers.min, max: numbers.max, mean: numbers.mean },
      {
        count: 2,
        min: 4,
        max: 6,
        mean: 5,
      },
    );
    const letters = bySource.get("letters")!;
    assert.deepEqual(
      { count: letters.count, min: letters.min, max: letters.max },
      { count: 2, min: 0, max: 3 },
    );
  });
});

describe("latency markers", () => {
  after(async () => {
    await server?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("on: every operator subtask downstream of the sources has a latency histogram", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2, latencyTrackingInterval: 5 });
    assert.equal(env.getLatencyTrackingInterval(), 5);
    const seenByUser = build(env);
    const client = await env.executeAsync("latency-on");
    served.push(client.metrics);
    try {
      const expected = ["mod", "sum", "drop"].flatMap((op) => [0, 1].map((s) => `${op}/${s}`));
      await waitFor(() => {
        const have = new Set(
          operatorLatencies(client.metrics.tasks())
            .filter((l) => l.stats.count >= 3)
            .map((l) => `${l.operatorUid}/${l.operatorSubtask}`),
        );
        return expected.every((e) => have.has(e));
      }, "latency histograms at mod, sum and drop, both subtasks each");
      const latencies = operatorLatencies(client.metrics.tasks());
      assert.ok(
        latencies.every((l) => l.sourceUid === "numbers"),
        "the source operator's uid names the source",
      );
      assert.ok(!latencies.some((l) => l.operatorUid === "numbers"), "the source records none itself");
      for (const l of latencies) {
        assert.ok(l.stats.min >= 0 && l.stats.p99 >= l.stats.p50 && l.stats.max >= l.stats.p99);
      }
      const ids = await jobMetricIds(client.jobId);
      assert.ok(
        ids.includes("latency.source_id.numbers.operator_id.sum.operator_subtask_index.1.latency_p99"),
        ids
          .filter((i) => i.startsWith("latency"))
          .slice(0, 5)
          .join(", "),
      );
      const { body } = await renderPrometheus([client.metrics]);
      assert.match(
        body,
        /weir_taskmanager_job_latency_source_id_operator_id_operator_subtask_index_latency\{[^}]*source_id="numbers"[^}]*operator_id="drop"[^}]*quantile="0.99"\} \d/,
      );
      assert.deepEqual(seenByUser, [], "user functions see records only");
    } finally {
      await client.cancel();
    }
  });

  it("off (the default): no operator has a latency histogram", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    assert.equal(env.getLatencyTrackingInterval(), 0);
    build(env, 20_000);
    const client = await env.executeAsync("latency-off");
    served.push(client.metrics);
    await client.wait();
    assert.deepEqual(operatorLatencies(client.metrics.tasks()), []);
    for (const t of client.metrics.tasks()) for (const o of t.operators) assert.equal(o.latency, undefined);
    const ids = await jobMetricIds(client.jobId);
    assert.deepEqual(
      ids.filter((i) => i.startsWith("latency")),
      [],
    );
  });

  it("on, on worker threads: markers cross threads as network elements", async () => {
    const client = await submitJob({
      job: METRICS_JOB,
      parallelism: 2,
      jobName: "latency-workers",
      latencyTrackingInterval: 1,
    });
    served.push(client.metrics);
    await client.wait();
    // A bounded job of 2000 records: whatever markers were made reached the operators downstream.
    const ops = new Set(operatorLatencies(client.metrics.tasks()).map((l) => l.operatorUid));
    const names = new Map(client.metrics.vertices.flatMap((v) => v.operators.map((o) => [o.uid, o.name])));
    const reached = [...ops].map((u) => names.get(u));
    assert.ok(reached.includes("double") || reached.includes("keep"), `reached: ${reached.join(", ")}`);
  });

  it("exactly-once output is unchanged by markers, through a failure and restore", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-latency-eo-"));
    dirs.push(dir);
    // Rate-limited (at least a second), so that checkpoints complete before the planned failure.
    const N = 10_000;
    const env = new StreamExecutionEnvironment({
      parallelism: 2,
      latencyTrackingInterval: 1,
      checkpointInterval: 5,
      checkpointDirectory: dir,
    });
    env.setRestartStrategy(RestartStrategies.fixedDelay(1, 10));
    let client: ManagedJobClient | undefined;
    const out = env
      .fromGenerator((i) => i, { type: Types.NUMBER, count: N, recordsPerSecond: 10_000 })
      .uid("numbers")
      .setParallelism(2)
      .rebalance()
      .map((x: number, ctx) => {
        // Fail once in the first attempt, after a checkpoint has completed (the restore then
        // replays from it), or near the end if none has on a slow machine (replayed from the start).
        const checkpointed = (client?.metrics.checkpoints.lastCompleted()?.id ?? 0) > 0;
        if (ctx.attemptNumber === 0 && (checkpointed || x >= N - 100) && x % 2 === 0)
          throw new Error("planned failure");
        return [x % 5, x] as [number, number];
      })
      .uid("fail-once")
      .keyBy((p) => p[0])
      .reduce((a, b) => [a[0], a[1] + b[1]] as [number, number])
      .uid("sums")
      .collect();
    client = await env.executeAsync("latency-exactly-once");
    served.push(client.metrics);
    await client.wait();
    assert.equal(client.metrics.jobMetrics().numRestarts, 1, "the planned failure happened once");
    assert.ok(operatorLatencies(client.metrics.tasks()).length > 0, "markers flowed");
    const values = out.values as Array<[number, number]>;
    assert.equal(values.length, N, "one running sum per record: none lost, none twice");
    const finals = new Map<number, number>();
    for (const [k, sum] of values) finals.set(k, Math.max(finals.get(k) ?? 0, sum));
    for (let r = 0; r < 5; r++) {
      let expected = 0;
      for (let i = r; i < N; i += 5) expected += i;
      assert.equal(finals.get(r), expected, `the sum of key ${r}`);
    }
  });
});
