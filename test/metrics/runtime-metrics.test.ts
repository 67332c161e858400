// Runtime metrics of real jobs: exact record counts at parallelism 2 (in-thread and on worker
// threads), user metrics, counters totalled across restarts, backpressure seen while it happens,
// and checkpoint metrics after checkpoints completed.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  DataGeneratorSource,
  StreamExecutionEnvironment,
  Types,
  WatermarkStrategy,
} from "../../src/index.ts";
import { submitJob } from "../../src/cluster/index.ts";
import { renderPrometheus } from "../../src/web/prometheus.ts";
import type { JobMetrics } from "../../src/runtime/metrics/job-metrics.ts";
import type { TaskMetricsSnapshot } from "../../src/runtime/metrics/task-metrics-snapshot.ts";
import { buildBackpressureJob } from "../fixtures/backpressure-job.ts";
import { waitFor } from "../fixtures/helpers.ts";
import { RECORDS, buildMetricsJob } from "../fixtures/metrics-job.ts";

const JOB = fileURLToPath(new URL("../fixtures/metrics-job.ts", import.meta.url));

/** Sum of an operator's metric over its subtasks. */
function operatorSum(tasks: TaskMetricsSnapshot[], operator: string, metric: string): number {
  let sum = 0;
  for (const t of tasks) for (const o of t.operators) if (o.name === operator) sum += o.metrics[metric]!;
  return sum;
}

function taskSum(
  metrics: JobMetrics,
  tasks: TaskMetricsSnapshot[],
  operator: string,
  metric: string,
): number {
  const v = metrics.vertices.find((x) => x.operators.some((o) => o.name === operator))!;
  return tasks.filter((t) => t.vertexId === v.id).reduce((s, t) => s + t.metrics[metric]!, 0);
}

function userSum(tasks: TaskMetricsSnapshot[], name: string): number {
  let sum = 0;
  for (const t of tasks)
    for (const o of t.operators) for (const u of o.user) if (u.name === name) sum += u.value;
  return sum;
}

function assertExactCounts(metrics: JobMetrics): void {
  const tasks = metrics.tasks();
  assert.equal(tasks.length, 4, "two vertices at parallelism 2");
  assert.equal(taskSum(metrics, tasks, "numbers", "numRecordsIn"), RECORDS);
  assert.equal(taskSum(metrics, tasks, "numbers", "numRecordsOut"), RECORDS);
  assert.equal(taskSum(metrics, tasks, "double", "numRecordsIn"), RECORDS);
  assert.equal(operatorSum(tasks, "numbers", "numRecordsOut"), RECORDS);
  assert.equal(operatorSum(tasks, "double", "numRecordsIn"), RECORDS);
  assert.equal(operatorSum(tasks, "double", "numRecordsOut"), RECORDS);
  assert.equal(operatorSum(tasks, "keep", "numRecordsIn"), RECORDS);
  assert.equal(operatorSum(tasks, "keep", "numRecordsOut"), RECORDS / 2);
  const bytesOut = taskSum(metrics, tasks, "numbers", "numBytesOut");
  assert.ok(bytesOut > RECORDS, `numBytesOut ${bytesOut}`);
  assert.equal(
    taskSum(metrics, tasks, "double", "numBytesIn"),
    bytesOut,
    "bytes out of numbers = bytes into double",
  );
  assert.equal(userSum(tasks, "seen"), RECORDS, "user counter");
  assert.equal(userSum(tasks, "lastSeen"), RECORDS, "user gauge");
  assert.equal(userSum(tasks, "values"), RECORDS, "user histogram count");
  const meters = tasks.flatMap((t) =>
    t.operators.flatMap((o) => o.user.filter((u) => u.name === "mine.doubled")),
  );
  assert.equal(meters.length, 2);
  assert.equal(
    meters.reduce((s, m) => s + m.count!, 0),
    RECORDS,
    "user meter count",
  );
  for (const t of tasks) assert.equal(t.state, "finished");
  assert.equal(metrics.status, "FINISHED");
  assert.equal(metrics.jobMetrics().numRestarts, 0);
}

describe("runtime metrics", () => {
  it("in-thread: record, byte and user counts are exact at parallelism 2", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    buildMetricsJob(env, false);
    const client = await env.executeAsync("metrics-in-thread");
    await client.wait();
    assertExactCounts(client.metrics);
  });

  it("worker threads: the same counts arrive from the workers", async () => {
    const client = await submitJob({ job: JOB, parallelism: 2, jobName: "metrics-workers" });
    await client.wait();
    assertExactCounts(client.metrics);
  });

  it("a restart: numRestarts counts it, counters total both attempts, the attempt's own stay apart", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    buildMetricsJob(env, true);
    const client = await env.executeAsync("metrics-restart");
    await client.wait();
    const m = client.metrics;
    assert.equal(m.jobMetrics().numRestarts, 1);
    assert.equal(m.exceptions.length, 1);
    assert.match(m.exceptions[0]!.message, /777 in the first attempt/);
    assert.equal(m.exceptions[0]!.attempt, 0);
    const attempt = m.tasks();
    for (const t of attempt) assert.equal(t.attempt, 1);
    assert.equal(operatorSum(attempt, "double", "numRecordsIn"), RECORDS, "the second attempt's own count");
    const totals = m.totals();
    const total = operatorSum(totals, "double", "numRecordsIn");
    assert.ok(total > RECORDS, `the total (${total}) includes what the first attempt read`);
    assert.ok(userSum(totals, "seen") > RECORDS, "user counters are totalled too");
  });

  it("worker threads: a restart is counted, and the failed attempt's counts reach the totals", async () => {
    process.env.WEIR_TEST_METRICS_FAIL = "1";
    let client: Awaited<ReturnType<typeof submitJob>>;
    try {
      client = await submitJob({ job: JOB, parallelism: 2, jobName: "metrics-workers-restart" });
    } finally {
      delete process.env.WEIR_TEST_METRICS_FAIL;
    }
    await client.wait();
    const m = client.metrics;
    assert.equal(m.jobMetrics().numRestarts, 1);
    assert.match(m.exceptions[0]!.message, /777 in the first attempt/);
    const attempt = m.tasks();
    for (const t of attempt) assert.equal(t.attempt, 1);
    assert.equal(operatorSum(attempt, "double", "numRecordsIn"), RECORDS);
    assert.ok(
      operatorSum(m.totals(), "double", "numRecordsIn") > RECORDS,
      "attempt 0's counts are in the totals",
    );
  });

  it("a backpressured job shows isBackPressured and backPressuredTimeMsPerSecond", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    buildBackpressureJob(env, Number.POSITIVE_INFINITY, 100, 20_000);
    const client = await env.executeAsync("metrics-backpressure");
    try {
      const source = client.metrics.vertices.find((v) => v.name.includes("generator"))!;
      const sink = client.metrics.vertices.find((v) => v !== source)!;
      let seen: TaskMetricsSnapshot | undefined;
      await waitFor(() => {
        seen = client.metrics
          .tasks()
          .find(
            (t) =>
              t.vertexId === source.id &&
              t.metrics.isBackPressured === 1 &&
              t.metrics.backPressuredTimeMsPerSecond! > 0,
          );
        return seen !== undefined;
      }, "a backpressured source subtask");
      assert.ok(seen!.metrics.outPoolUsage! > 0, "its output buffers are in use");
      await waitFor(
        () =>
          client.metrics
            .tasks()
            .some((t) => t.vertexId === sink.id && t.metrics.inPoolUsage! > 0 && t.metrics.inPoolUsage! <= 1),
        "a sink subtask whose input buffers are in use",
      );
      await waitFor(
        () =>
          client.metrics.tasks().some((t) => t.vertexId === sink.id && t.metrics.busyTimeMsPerSecond! > 0),
        "a busy sink subtask",
      );
    } finally {
      await client.cancel();
    }
    assert.equal(client.metrics.status, "CANCELED");
  });

  it("source split metrics: each split's watermark and idle time", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    env
      .fromSource(
        new DataGeneratorSource((i) => i * 10, { type: Types.NUMBER, recordsPerSecond: 5000 }),
        WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((x) => x),
        "events",
      )
      .sinkTo({ createWriter: () => ({ write() {} }) }, "discard");
    const client = await env.executeAsync("metrics-splits");
    try {
      let splits: Array<{ splitId: string; metrics: Record<string, number> }> = [];
      await waitFor(() => {
        const source = client.metrics.tasks()[0]?.operators.find((o) => o.name === "events");
        splits = source?.splits ?? [];
        return splits.some((s) => s.metrics["watermark.currentWatermark"]! > 0);
      }, "a split with a watermark");
      const s = splits.find((x) => x.metrics["watermark.currentWatermark"]! > 0)!;
      assert.equal(s.metrics.isIdle, 0);
      assert.equal(s.metrics.idleTimeMsPerSecond, 0);
      const { body } = await renderPrometheus([client.metrics]);
      const line = body
        .split("\n")
        .find((l) =>
          l.startsWith("weir_taskmanager_job_task_operator_source_split_watermark_currentWatermark{"),
        );
      assert.ok(line !== undefined, "the split watermark series");
      assert.match(line, /split_id="[^"]/);
      assert.ok(Number(line.split(" ").pop()) > 0, line);
    } finally {
      await client.cancel();
    }
  });

  it("an assigner chained behind a channel: its watermark, and the operators' input watermarks", async () => {
    // The source has no WatermarkStrategy; rebalance() puts the assigner in a task of its own
    // that reads a channel without watermarks. The assigner makes the chain's watermark: the
    // operator after it sees that one, while the task's input has none.
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    env
      .fromSource(
        new DataGeneratorSource((i) => 1_000 + i * 10, { type: Types.NUMBER, recordsPerSecond: 5000 }),
        "events",
      )
      .rebalance()
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((x) => x),
      )
      .name("stamps")
      .map((x) => x)
      .name("after")
      .sinkTo({ createWriter: () => ({ write() {} }) }, "discard");
    const client = await env.executeAsync("metrics-chained-assigner");
    try {
      let task: TaskMetricsSnapshot | undefined;
      await waitFor(() => {
        task = client.metrics.tasks().find((t) => t.operators.some((o) => o.name === "stamps"));
        const after = task?.operators.find((o) => o.name === "after");
        return (after?.metrics.currentInputWatermark ?? 0) > 1_000;
      }, "a watermark after the assigner");
      const t = task!;
      assert.equal(t.metrics.currentInputWatermark, Number.NEGATIVE_INFINITY, "the channel has none");
      const after = t.operators.find((o) => o.name === "after")!;
      assert.ok(after.metrics.currentInputWatermark! > 1_000);
      const info = t.watermarks!;
      assert.equal(info.assigner?.name, "stamps");
      assert.equal(info.assigner?.idleTimeoutMs, null);
      assert.ok(info.assigner!.records > 0 && info.assigner!.watermark > 1_000, JSON.stringify(info));
      assert.deepEqual(info.pendingTimers, [], "no operator of the chain has event-time timers");
      assert.equal(info.source, undefined, "not a source task");
      assert.deepEqual(
        info.channels?.map((c) => [c.watermark, c.idle, c.ended]),
        [[Number.NEGATIVE_INFINITY, false, false]],
      );
      const source = client.metrics.tasks().find((x) => x.vertexId === info.channels![0]!.producerVertexId);
      assert.equal(source?.watermarks?.assigner, undefined, "the source's chain has no assigner");
      assert.equal(source?.watermarks?.source?.eventTime, false);
    } finally {
      await client.cancel();
    }
  });

  it("checkpoint metrics after checkpoints completed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-metrics-checkpoints-"));
    try {
      const env = new StreamExecutionEnvironment({ parallelism: 2, checkpointDirectory: dir });
      env.enableCheckpointing(20);
      buildBackpressureJob(env, Number.POSITIVE_INFINITY, 10, 0);
      const client = await env.executeAsync("metrics-checkpoints");
      try {
        await waitFor(
          () => (client.metrics.jobMetrics().numberOfCompletedCheckpoints ?? 0) >= 3,
          "three completed checkpoints",
        );
        const j = client.metrics.jobMetrics();
        assert.ok(
          j.lastCompletedCheckpointId! >= 3,
          `lastCompletedCheckpointId ${j.lastCompletedCheckpointId}`,
        );
        assert.ok(j.lastCheckpointSize! > 0, "lastCheckpointSize");
        assert.ok(j.lastCheckpointDuration! >= 0);
        assert.equal(j.numberOfFailedCheckpoints, 0);
        assert.ok(j.numberOfInProgressCheckpoints! >= 0 && j.numberOfInProgressCheckpoints! <= 1);
        assert.ok(j.uptime! > 0);
        assert.ok(client.metrics.checkpointHistory.length >= 1);
      } finally {
        await client.cancel();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
