// Checkpoint statistics of real jobs: the REST history holds every checkpoint the coordinator
// triggered (from its own events, not what a poll happened to see), bounded to Flink's 10; each
// checkpoint's detail shows every subtask's start delay (checkpointStartDelayNanos: the trigger
// time travels with the barriers, also between worker threads), alignment and acknowledgement.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { submitJob } from "../../src/cluster/index.ts";
import { StreamExecutionEnvironment } from "../../src/index.ts";
import type { JobMetrics } from "../../src/runtime/metrics/job-metrics.ts";
import { SubtaskCheckpointTracker } from "../../src/runtime/metrics/subtask-checkpoint-stats.ts";
import { type RestServer, startRestServer } from "../../src/web/rest-server.ts";
import { buildBackpressureJob } from "../fixtures/backpressure-job.ts";
import { waitFor } from "../fixtures/helpers.ts";

const BACKPRESSURE_JOB = fileURLToPath(new URL("../fixtures/backpressure-job.ts", import.meta.url));

const served: JobMetrics[] = [];
let server: RestServer | undefined;
const dirs: string[] = [];

async function get(path: string): Promise<{ status: number; body: any }> {
  server ??= await startRestServer({ port: 0, jobs: () => served });
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, body: await res.json() };
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "weir-checkpoint-stats-"));
  dirs.push(d);
  return d;
}

interface SubtaskDetail {
  index: number;
  status: string;
  start_delay: number;
  start_delay_nanos: number;
  ack_timestamp: number;
  alignment: { duration: number };
}

/** Every vertex's subtasks in the detail of checkpoint `id`, once all have reported it. */
async function subtaskDetails(metrics: JobMetrics, id: number): Promise<Map<string, SubtaskDetail[]>> {
  const out = new Map<string, SubtaskDetail[]>();
  await waitFor(() => {
    metrics.tasks();
    const reports = metrics.checkpoints.subtasksOf(id);
    return reports.size === metrics.vertices.reduce((s, v) => s + v.parallelism, 0);
  }, `every subtask's account of checkpoint ${id}`);
  for (const v of metrics.vertices) {
    const r = await get(`/jobs/${metrics.jobId}/checkpoints/details/${id}/subtasks/${v.id}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.set(v.name, r.body.subtasks);
  }
  return out;
}

describe("checkpoint statistics", () => {
  after(async () => {
    await server?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("a subtask's start delay is the time from the trigger to its start", () => {
    const t = new SubtaskCheckpointTracker();
    t.start(1, 10_000, 10_250);
    assert.equal(t.lastStartDelayNanos, 250e6);
    assert.equal(t.triggerTimeOf(1), 10_000);
    t.start(1, 10_000, 10_900); // a second barrier of the same checkpoint: the first counts
    t.acknowledged(1, 3, 1, false, 11_000);
    const [s] = t.recent();
    assert.deepEqual(
      { id: s!.id, delay: s!.startDelayNanos, ack: s!.ackTimestamp, align: s!.alignmentMs },
      { id: 1, delay: 250e6, ack: 11_000, align: 3 },
    );
    t.start(2, 0, 12_000); // trigger time unknown (a barrier from another machine)
    assert.equal(t.lastStartDelayNanos, 250e6, "an unknown trigger time leaves the last delay as it was");
    t.acknowledged(2, 0, 1, false, 12_001);
    assert.equal(t.recent()[1]!.startDelayNanos, -1);
  });

  it("a subtask keeps its last 10 acknowledged checkpoints, oldest first", () => {
    const t = new SubtaskCheckpointTracker();
    for (let id = 1; id <= 10; id++) {
      t.start(id, 1_000 * id, 1_000 * id + 5);
      t.acknowledged(id, 0, 1, false, 1_000 * id + 9);
    }
    assert.deepEqual(
      t.recent().map((s) => s.id),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      "ten: none dropped yet",
    );
    for (let id = 11; id <= 13; id++) {
      t.start(id, 1_000 * id, 1_000 * id + 5);
      t.acknowledged(id, 0, 1, false, 1_000 * id + 9);
    }
    assert.deepEqual(
      t.recent().map((s) => s.id),
      [4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    );
    assert.equal(t.recent()[9]!.ackTimestamp, 13_009);
  });

  it("in-thread: every triggered checkpoint is in the history (the last 10), with per-subtask detail", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2, checkpointDirectory: tempDir() });
    env.enableCheckpointing(10);
    buildBackpressureJob(env, Number.POSITIVE_INFINITY, 10, 0);
    const client = await env.executeAsync("checkpoint-stats-in-thread");
    served.push(client.metrics);
    try {
      // No polling meanwhile: the history must not depend on it.
      await waitFor(() => (client.metrics.checkpoints.lastCompleted()?.id ?? 0) >= 14, "14 checkpoints");
      const r = await get(`/jobs/${client.jobId}/checkpoints`);
      assert.equal(r.status, 200);
      const history = r.body.history as Array<{ id: number; status: string; trigger_timestamp: number }>;
      assert.equal(history.length, 10, "Flink's web.checkpoints.history: 10");
      const ids = history.map((h) => h.id);
      for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! - 1, `no gap: ${ids}`);
      assert.ok(history.every((h) => ["COMPLETED", "IN_PROGRESS", "FAILED"].includes(h.status)));
      assert.ok(r.body.latest.completed.id >= 14);
      const id = r.body.latest.completed.id as number;
      const d = await get(`/jobs/${client.jobId}/checkpoints/details/${id}`);
      assert.equal(d.status, 200);
      assert.equal(d.body.id, id);
      assert.equal(d.body.num_subtasks, 4);
      const details = await subtaskDetails(client.metrics, id);
      for (const [name, subtasks] of details) {
        assert.equal(subtasks.length, 2, name);
        for (const s of subtasks) {
          assert.equal(s.status, "completed", `${name} ${JSON.stringify(s)}`);
          assert.ok(s.start_delay_nanos >= 0, `${name} knows its trigger time: ${JSON.stringify(s)}`);
          assert.ok(s.ack_timestamp >= d.body.trigger_timestamp);
        }
      }
      const metric = await get(
        `/jobs/${client.jobId}/vertices/${client.metrics.vertices[1]!.id}/metrics?get=0.checkpointStartDelayNanos`,
      );
      assert.equal(metric.body[0]?.id, "0.checkpointStartDelayNanos");
      assert.ok(Number(metric.body[0].value) >= 0);
      const missing = await get(`/jobs/${client.jobId}/checkpoints/details/1`);
      assert.equal(missing.status, 404, "checkpoint 1 fell out of the history");
    } finally {
      await client.cancel();
    }
  });

  it("worker threads: the barrier carries the trigger time to downstream subtasks", async () => {
    const client = await submitJob({
      job: BACKPRESSURE_JOB,
      parallelism: 2,
      jobName: "checkpoint-stats-workers",
      // A subtask reports its last 10 checkpoints with its metrics: at 50 ms a loaded machine's
      // reports could skip past checkpoint 2 before it was read.
      checkpointInterval: 400,
      checkpointDirectory: tempDir(),
    });
    served.push(client.metrics);
    try {
      await waitFor(() => (client.metrics.checkpoints.lastCompleted()?.id ?? 0) >= 2, "2 checkpoints");
      const id = client.metrics.checkpoints.lastCompleted()!.id;
      const details = await subtaskDetails(client.metrics, id);
      const sink = [...details].find(([name]) => name.includes("slow sink"));
      assert.ok(sink !== undefined, [...details.keys()].join(", "));
      for (const s of sink[1]) {
        assert.equal(s.status, "completed");
        assert.ok(s.start_delay_nanos >= 0, `the trigger time crossed threads: ${JSON.stringify(s)}`);
      }
    } finally {
      await client.cancel();
    }
  });
});
