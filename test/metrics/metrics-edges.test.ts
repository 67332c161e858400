// Small metric pieces at their edges, without a job: a meter's rate with two samples at the same
// time and once its ring of samples is full, flame graphs of several threads merged, and the
// JSON-lines reporter's timer not keeping the process alive; a subtask's account of a checkpoint
// the history no longer holds is dropped; a step without work is idle time unless back-pressured.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CheckpointHistory } from "../../src/runtime/metrics/checkpoint-history.ts";
import { type FlameGraphNode, mergeFlameGraphs } from "../../src/runtime/metrics/cpu-profiler.ts";
import { startJsonLinesReporter } from "../../src/runtime/metrics/json-lines-reporter.ts";
import { MeterView } from "../../src/runtime/metrics/meter-view.ts";
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
});
