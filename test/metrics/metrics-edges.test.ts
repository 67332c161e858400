// Small metric pieces at their edges, without a job: a meter's rate with two samples at the same
// time and once its ring of samples is full, flame graphs of several threads merged, and the
// JSON-lines reporter's timer not keeping the process alive; a subtask's account of a checkpoint
// the history no longer holds is dropped; a step without work is idle time unless back-pressured.
// Then what the REST API's checkpoint history shows through a checkpoint's life (late, failed,
// evicted), a meter's window and sample spacing, the report interval's setting, and a V8 profile
// folded into a flame graph. A job's uptime while it runs, restarts and after it ended.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CheckpointHistory } from "../../src/runtime/metrics/checkpoint-history.ts";
import {
  type FlameGraphNode,
  mergeFlameGraphs,
  toFlameGraph,
} from "../../src/runtime/metrics/cpu-profiler.ts";
import { startJsonLinesReporter } from "../../src/runtime/metrics/json-lines-reporter.ts";
import type { TaskMetricsSnapshot } from "../../src/runtime/metrics/task-metrics-snapshot.ts";
import { JobMetrics } from "../../src/runtime/metrics/job-metrics.ts";
import { MeterView } from "../../src/runtime/metrics/meter-view.ts";
import {
  METRICS_INTERVAL_ENV,
  metricsReportInterval,
  startMetricsReporting,
} from "../../src/runtime/metrics/metrics-reporting.ts";
import { TaskMetricGroup } from "../../src/runtime/metrics/task-metric-group.ts";

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("metrics edges", () => {
  it("a meter whose two samples have the same time has rate 0", () => {
    let count = 0;
    const m = new MeterView(() => count);
    m.update(1000);
    count = 5;
    m.update(1000);
    assert.equal(m.getRate(), 0);
  });

  it("a meter keeps its rate exact once its ring of 256 samples is full", () => {
    let count = 0;
    const m = new MeterView(() => count, 10_000_000);
    for (let i = 0; i < 300; i++) {
      count = 10 * i;
      m.update(1000 * i);
    }
    assert.equal(m.getRate(), 10);
  });

  it("merges flame graphs: frames of the same name under the same parent are added up", () => {
    const node = (name: string, value: number, children: FlameGraphNode[] = []) => ({
      name,
      value,
      children,
    });
    const a = node("root", 3, [node("main", 3, [node("f", 2), node("g", 1)])]);
    const b = node("root", 2, [node("main", 1, [node("f", 1)]), node("gc", 1)]);
    assert.deepEqual(
      mergeFlameGraphs([a, b]),
      node("root", 5, [node("main", 4, [node("f", 3), node("g", 1)]), node("gc", 1)]),
    );
  });

  it("the JSON-lines reporter's timer does not keep the process alive", () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-jsonl-"));
    const before = timeouts();
    const r = startJsonLinesReporter(() => [], join(dir, "m.jsonl"), 60_000);
    try {
      assert.equal(timeouts(), before, "a referenced timer was added");
    } finally {
      r.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the checkpoint history keeps subtask accounts only of checkpoints it holds", () => {
    const h = new CheckpointHistory(2);
    h.triggered(1, false, 1000);
    const stats = (id: number) => ({
      id,
      triggerTimestamp: 1000,
      startDelayNanos: 0,
      alignmentMs: 0,
      syncMs: 1,
      ackTimestamp: 1005,
      unaligned: false,
    });
    h.recordSubtask("1/0", [stats(1), stats(7)]);
    assert.equal(h.subtasksOf(1).size, 1);
    assert.equal(h.subtasksOf(7).size, 0, "checkpoint 7 is not in the history");
  });

  it("a step without work counts as idle, or as back-pressured when the output was full", () => {
    const g = new TaskMetricGroup({
      jobId: "j",
      jobName: "j",
      taskName: "t",
      vertexId: 1,
      subtaskIndex: 0,
      attempt: 0,
    });
    g.account(0, 10, false);
    assert.deepEqual([g.idleMs, g.backPressuredMs, g.busyMs], [10, 0, 0]);
    g.backPressured = true;
    g.account(10, 14, false);
    assert.deepEqual([g.idleMs, g.backPressuredMs, g.busyMs], [10, 4, 0]);
    g.account(14, 20, true);
    assert.deepEqual([g.idleMs, g.backPressuredMs, g.busyMs], [10, 4, 6]);
  });

  it("the checkpoint history: a checkpoint's life as the REST API shows it", () => {
    const h = new CheckpointHistory(3);
    h.triggered(1, false, 1000);
    h.triggered(1, true, 1500);
    assert.deepEqual(h.entries, [
      {
        id: 1,
        status: "IN_PROGRESS",
        is_savepoint: false,
        trigger_timestamp: 1000,
        latest_ack_timestamp: 1000,
        end_to_end_duration: 0,
        state_size: 0,
      },
    ]);
    h.triggered(2, true, 2000);
    h.completed(1, 300, 4096, 1300);
    h.failed(2, 2600, "declined by 3/1");
    h.failed(1, 9000, "too late: it completed");
    h.failed(42, 9000);
    assert.equal(h.lastCompleted()?.id, 1);
    assert.deepEqual(
      h.entries.map((e) => ({ ...e })),
      [
        {
          id: 1,
          status: "COMPLETED",
          is_savepoint: false,
          trigger_timestamp: 1000,
          latest_ack_timestamp: 1300,
          end_to_end_duration: 300,
          state_size: 4096,
        },
        {
          id: 2,
          status: "FAILED",
          is_savepoint: true,
          trigger_timestamp: 2000,
          latest_ack_timestamp: 2600,
          end_to_end_duration: 600,
          state_size: 0,
          failure_message: "declined by 3/1",
        },
      ],
    );
    h.triggered(3, false, 3000);
    h.failed(3, 3100);
    assert.equal("failure_message" in h.find(3)!, false, "no message: none shown");
    assert.equal(h.find(3)!.end_to_end_duration, 100);
  });

  it("the checkpoint history enters a completion it did not see triggered in id order", () => {
    const h = new CheckpointHistory(2);
    h.triggered(5, false, 5000);
    h.triggered(7, false, 7000);
    h.completed(6, 250, 10, 6500);
    assert.deepEqual(
      h.entries.map((e) => [e.id, e.status, e.is_savepoint, e.trigger_timestamp]),
      [
        [6, "COMPLETED", false, 6250],
        [7, "IN_PROGRESS", false, 7000],
      ],
    );
    assert.equal(h.lastCompleted()?.id, 6, "the oldest entry counts too");
    assert.equal(new CheckpointHistory().lastCompleted(), undefined);
  });

  it("the checkpoint history keeps the newest entries and the accounts of those only", () => {
    const h = new CheckpointHistory(2);
    const stats = (id: number, syncMs = 1) => ({
      id,
      triggerTimestamp: 1000,
      startDelayNanos: 0,
      alignmentMs: 0,
      syncMs,
      ackTimestamp: 1005,
      unaligned: false,
    });
    h.triggered(1, false, 1000);
    h.triggered(2, false, 2000);
    h.recordSubtask("1/0", [stats(1), stats(2)]);
    h.recordSubtask("1/1", [stats(1, 7)]);
    assert.deepEqual([...h.subtasksOf(1).keys()], ["1/0", "1/1"]);
    assert.equal(h.subtasksOf(1).get("1/1")?.syncMs, 7);
    h.triggered(3, false, 3000);
    assert.deepEqual(
      h.entries.map((e) => e.id),
      [2, 3],
    );
    assert.equal(h.subtasksOf(1).size, 0, "checkpoint 1 left the history with its accounts");
    assert.equal(h.subtasksOf(2).size, 1);
    h.recordSubtask("1/0", [stats(1)]);
    assert.equal(h.subtasksOf(1).size, 0, "an account of a checkpoint no longer held is dropped");
  });

  it("a meter's rate is over its window, at least two samples, and close samples replace the newest", () => {
    const m = new MeterView(undefined, 1000);
    m.markEvent();
    m.markEvent(4);
    assert.equal(m.getCount(), 5);
    m.update(0);
    assert.equal(m.getRate(), 0, "one sample: no rate");
    m.markEvent(10);
    m.update(100);
    assert.equal(m.getRate(), 100, "a second sample is kept however close");
    m.markEvent(5);
    m.update(200);
    assert.equal(m.getRate(), 75, "a third within 250 ms replaces the second: 15 events in 200 ms");
    m.update(1000);
    assert.equal(m.getRate(), 15, "the window spans 1000 ms: all three kept");
    m.markEvent(30);
    m.update(1200);
    assert.equal(m.getRate(), 30, "the sample at 0 is a window behind the one at 200: dropped");
    m.update(5000);
    assert.equal(m.getRate(), 0, "no new events; the older samples leave the window, two stay");
    m.markEvent(38);
    m.update(6000);
    assert.equal(m.getRate(), 38);
  });

  it("a meter's full ring drops its oldest sample, and a sample 250 ms on is kept", () => {
    let count = 0;
    const ring = new MeterView(() => count, 10_000_000);
    for (let i = 0; i < 300; i++) {
      count = i * i; // not linear: the rate says which samples are kept
      ring.update(1000 * i);
    }
    // The ring holds the last 256 samples: 44..299.
    assert.equal(ring.getRate(), ((299 * 299 - 44 * 44) * 1000) / (1000 * (299 - 44)));
    const spaced = new MeterView(() => count, 1000);
    for (const [t, c] of [
      [0, 0],
      [100, 50],
      [250, 250], // 250 ms after the sample at 0: kept beside the one at 100, not replacing it
      [1100, 1100],
    ] as const) {
      count = c;
      spaced.update(t);
    }
    assert.equal(spaced.getRate(), 1050, "from the sample at 100 (the one at 0 left the window)");
  });

  it("a meter sampled more often than every 250 ms still measures over its window", () => {
    // A REST client or the dashboard polling an in-thread job samples every meter on each read.
    let count = 0;
    const m = new MeterView(() => count, 1000);
    const rates = new Map<number, number>();
    for (let t = 0; t <= 5000; t += 100) {
      if (t <= 2500) count = t; // 1000 events/s, then none
      m.update(t);
      rates.set(t, m.getRate());
    }
    assert.equal(rates.get(2500), 1000);
    assert.equal(rates.get(5000), 0, "no event for 2.5 s: the samples before the window are gone");
    const frequent = new MeterView(() => count, 60_000);
    for (let t = 0; t <= 120_000; t += 10) {
      // None for a minute, then 100/s for 50 s, then none for the last 10 s.
      count = Math.min(5000, Math.max(0, (t - 60_000) / 10));
      frequent.update(t);
    }
    // The last minute's: not the average since the start (41.7), nor the last 256 samples' (0).
    assert.equal(Math.round(frequent.getRate()), 83);
  });

  it("the report interval is a whole number of ms >= 0 from the environment, else 1 s", () => {
    const saved = process.env[METRICS_INTERVAL_ENV];
    const read = (v: string | undefined) => {
      if (v === undefined) delete process.env[METRICS_INTERVAL_ENV];
      else process.env[METRICS_INTERVAL_ENV] = v;
      return metricsReportInterval();
    };
    try {
      assert.deepEqual(
        [undefined, "", "  ", "0", "250", "-1", "1.5", "x"].map(read),
        [1000, 1000, 1000, 0, 250, 1000, 1000, 1000],
      );
    } finally {
      if (saved === undefined) delete process.env[METRICS_INTERVAL_ENV];
      else process.env[METRICS_INTERVAL_ENV] = saved;
    }
  });

  it("metric reporting sends every interval without keeping the process alive, and once at stop", async () => {
    const sent: number[] = [];
    const before = timeouts();
    const r = startMetricsReporting([], (s) => sent.push(s.length), 5);
    assert.equal(timeouts(), before, "a referenced timer was added");
    const deadline = Date.now() + 30_000;
    while (sent.length < 2) {
      assert.ok(Date.now() < deadline, "no periodic report");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    r.stop();
    const n = sent.length;
    r.stop();
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(sent.length, n, "nothing after stop, and stop sends once");
    const quiet: number[] = [];
    const q = startMetricsReporting([], (s) => quiet.push(s.length), 0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(quiet, [], "interval 0: no periodic report");
    q.stop();
    assert.deepEqual(quiet, [0], "only the last one");
  });

  it("folds a V8 profile into a flame graph of frames and their samples", () => {
    const node = (
      id: number,
      functionName: string,
      url: string,
      lineNumber: number,
      children?: number[],
    ) => ({
      id,
      callFrame: { functionName, url, lineNumber },
      ...(children === undefined ? {} : { children }),
    });
    const profile = {
      nodes: [
        node(1, "(root)", "", 0, [2, 5, 99]),
        node(2, "", "file:///app/src/job.ts", 9, [3, 4]),
        node(3, "step", "file:///app/src/task.ts", 41),
        node(4, "never", "file:///app/src/task.ts", 50),
        node(5, "(garbage collector)", "", 0),
      ],
      samples: [3, 3, 2, 5, 1],
    };
    assert.deepEqual(toFlameGraph(profile), {
      name: "root",
      value: 5,
      children: [
        {
          name: "(anonymous) (job.ts:10)",
          value: 3,
          children: [{ name: "step (task.ts:42)", value: 2, children: [] }],
        },
        { name: "(garbage collector)", value: 1, children: [] },
      ],
    });
    assert.deepEqual(toFlameGraph({ nodes: profile.nodes }), { name: "root", value: 0, children: [] });
    assert.deepEqual(toFlameGraph({ nodes: [] }), { name: "root", value: 0, children: [] });
  });

  it("a job keeps its last 100 failures and counts the ones it dropped", () => {
    const job = new JobMetrics("j", "flaky", []);
    for (let i = 0; i < 103; i++) job.recordFailure(i, new Error(`failure ${i}`));
    assert.equal(job.exceptions.length, 100);
    assert.equal(job.exceptionsDropped, 3);
    assert.equal(job.exceptions[0]?.message, "failure 3");
  });

  it("a job's uptime is the ms since it started while it runs, 0 while it restarts and once it ended", async () => {
    const before = Date.now();
    const job = new JobMetrics("j", "uptime", []);
    // Let the wall clock move on from the start, so a running job's uptime cannot be 0.
    while (Date.now() < job.startTime + 2) await new Promise((r) => setTimeout(r, 1));
    const least = Date.now() - job.startTime;
    const uptime = job.jobMetrics().uptime!;
    const most = Date.now() - before;
    assert.ok(uptime >= least && uptime <= most, `uptime ${uptime} ms, expected ${least}..${most}`);
    job.status = "RESTARTING";
    assert.equal(job.jobMetrics().uptime, 0);
    job.status = "RUNNING";
    assert.ok(job.jobMetrics().uptime! >= least);
    job.end("FINISHED");
    assert.equal(job.jobMetrics().uptime, 0, "docs/metrics.md: 0 after the job ended");
  });

  it("job totals: the same attempt made live again keeps its counts; a new attempt adds to them", () => {
    const job = new JobMetrics("j", "restarts", []);
    const snap = (attempt: number, numRecordsIn: number): TaskMetricsSnapshot => ({
      vertexId: 1,
      subtask: 0,
      attempt,
      taskName: "count",
      state: "running",
      timestamp: 0,
      metrics: { numRecordsIn },
      operators: [],
    });
    const total = () => job.totals()[0]!.metrics.numRecordsIn;
    let live = [snap(0, 5)];
    job.setLiveSource(0, () => live);
    assert.equal(total(), 5);
    // The job master hands attempt 0's source again (e.g. after a savepoint): nothing folds.
    job.setLiveSource(0, () => live);
    live = [snap(0, 7)];
    assert.equal(total(), 7, "not 5 + 7: the same attempt's counts are not kept twice");
    live = [snap(1, 2)];
    job.setLiveSource(1, () => live);
    assert.equal(total(), 9, "attempt 1's counts add to attempt 0's last ones");
  });

  it("job totals: news of an attempt arriving after the next one went live is left out", () => {
    const job = new JobMetrics("j", "restarts", []);
    const snap = (attempt: number, numRecordsIn: number): TaskMetricsSnapshot => ({
      vertexId: 1,
      subtask: 0,
      attempt,
      taskName: "count",
      state: "running",
      timestamp: 0,
      metrics: { numRecordsIn },
      operators: [],
    });
    job.setLiveSource(0, () => [snap(0, 5)]);
    assert.equal(job.totals()[0]!.metrics.numRecordsIn, 5);
    // Attempt 1 goes live; then a report of attempt 0 still on its way (a worker thread's last
    // push) arrives before anyone reads the metrics.
    job.setLiveSource(1, () => [snap(1, 2)]);
    job.record([snap(0, 8)]);
    const [task] = job.totals();
    assert.equal(task!.attempt, 1);
    assert.equal(task!.metrics.numRecordsIn, 7, "attempt 0's counts as they were when attempt 1 went live");
  });
});
