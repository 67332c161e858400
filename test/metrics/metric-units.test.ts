// Metric pieces on their own: a histogram's standard deviation where the values sit far from zero,
// whether a metric group has anything registered (its subgroups included), and a CPU profile of
// this thread folded into a flame graph.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { profileThisThread } from "../../src/runtime/metrics/cpu-profiler.ts";
import {
  MetricGroupImpl,
  MetricRegistrationError,
  OPERATOR_SCOPE,
  TASK_SCOPE,
} from "../../src/runtime/metrics/metric-group.ts";
import type { MetricValue } from "../../src/runtime/metrics/metric-value.ts";
import { ReservoirHistogram } from "../../src/runtime/metrics/reservoir-histogram.ts";

describe("metric units", () => {
  it("a histogram's standard deviation does not depend on where its values sit", () => {
    const spread = [0.1, 0.2, 0.7];
    const stddevAt = (base: number) => {
      const h = new ReservoirHistogram(8);
      for (const v of spread) h.update(base + v);
      return h.getStatistics().stddev;
    };
    const near = stddevAt(0);
    assert.ok(Math.abs(near - 0.3214550253664318) < 1e-12, `stddev ${near}`);
    // Around a million (latencies in µs, byte counts): the squared deviations keep their precision.
    for (const base of [1e3, 1e6, 1e9]) {
      const far = stddevAt(base);
      assert.ok(Math.abs(far - near) < 1e-6, `stddev at ${base}: ${far}, at 0: ${near}`);
    }
  });

  it("a histogram's statistics: empty, one value, and the last values of a full reservoir", () => {
    const zero = {
      count: 0,
      min: 0,
      max: 0,
      mean: 0,
      stddev: 0,
      p50: 0,
      p75: 0,
      p95: 0,
      p98: 0,
      p99: 0,
      p999: 0,
    };
    assert.deepEqual(new ReservoirHistogram(4).getStatistics(), zero);
    const one = new ReservoirHistogram(4);
    one.update(7);
    assert.deepEqual(one.getStatistics(), {
      ...zero,
      count: 1,
      min: 7,
      max: 7,
      mean: 7,
      p50: 7,
      p75: 7,
      p95: 7,
      p98: 7,
      p99: 7,
      p999: 7,
    });
    // Six values into four slots: the statistics are over the last four (3, 1, 4, 2), the count over all.
    const h = new ReservoirHistogram(4);
    for (const v of [100, 200, 3, 1, 4, 2]) h.update(v);
    const s = h.getStatistics();
    assert.deepEqual(
      [s.count, s.min, s.max, s.mean, s.p50, s.p75, s.p95, s.p999],
      [6, 1, 4, 2.5, 2, 3, 4, 4],
    );
    // The sample standard deviation (n - 1): sqrt(((1.5² + 0.5²) · 2) / 3).
    assert.equal(s.stddev, Math.sqrt(5 / 3));
    const two = new ReservoirHistogram(4);
    two.update(1);
    two.update(3);
    assert.equal(two.getStatistics().stddev, Math.SQRT2);
  });

  it("a gauge is registered as a function or as an object; a group's name may not be empty", () => {
    const g = new MetricGroupImpl(OPERATOR_SCOPE, { operator_name: "parse", subtask_index: "2" });
    assert.deepEqual(g.getAllVariables(), { operator_name: "parse", subtask_index: "2" });
    assert.deepEqual((g.addGroup("io") as MetricGroupImpl).getScopeComponents(), [...OPERATOR_SCOPE, "io"]);
    g.gauge("fn", () => 3);
    const asObject = { getValue: () => 5 };
    assert.equal(g.gauge("object", asObject), asObject);
    const out: MetricValue[] = [];
    g.collect(out, 0);
    assert.deepEqual(
      out.map((m) => [m.name, m.value]),
      [
        ["fn", 3],
        ["object", 5],
      ],
    );
    assert.throws(
      () => g.addGroup(""),
      (e: unknown) =>
        e instanceof MetricRegistrationError &&
        /of operator 'parse' \(subtask 2\) has an empty name/.test(e.message),
    );
    const task = new MetricGroupImpl(TASK_SCOPE, {});
    assert.throws(() => task.counter(""), /of weir\.taskmanager\.job\.task has an empty name/);
  });

  it("reading a group samples its meters at the time given; a meter of the user's own is read as it is", () => {
    const g = new MetricGroupImpl(TASK_SCOPE, {});
    const events = g.meter("events");
    const own = { markEvent: () => {}, getCount: () => 9, getRate: () => 4 };
    g.meter("own", own);
    const read = (nowMs: number) => {
      const out: MetricValue[] = [];
      g.collect(out, nowMs);
      return out.map((m) => [m.name, m.value, m.count]);
    };
    assert.deepEqual(read(0), [
      ["events", 0, 0],
      ["own", 4, 9],
    ]);
    events.markEvent(50);
    assert.deepEqual(read(2000), [
      ["events", 25, 50],
      ["own", 4, 9],
    ]);
  });

  it("a metric group is empty until something is registered in it or in a subgroup", () => {
    const g = new MetricGroupImpl(TASK_SCOPE, {});
    assert.equal(g.isEmpty, true);
    const sub = g.addGroup("io") as MetricGroupImpl;
    assert.equal(g.isEmpty, true, "an empty subgroup registers nothing");
    sub.counter("reads");
    assert.equal(sub.isEmpty, false);
    assert.equal(g.isEmpty, false, "a metric in a subgroup");
    const h = new MetricGroupImpl(TASK_SCOPE, {});
    h.gauge("lag", () => 1);
    assert.equal(h.isEmpty, false, "a metric in the group itself");
  });

  it("a CPU profile of this thread is a flame graph rooted at root", async () => {
    const graph = await profileThisThread(20);
    assert.equal(graph.name, "root");
    assert.equal(typeof graph.value, "number");
    assert.ok(Array.isArray(graph.children));
    const sum = (n: typeof graph): boolean =>
      n.value >= n.children.reduce((s, c) => s + c.value, 0) && n.children.every(sum);
    assert.ok(sum(graph), "a frame's value counts its children's samples");
  });

  it("a CPU profile the inspector refuses (a sampling interval that is not whole µs) rejects with its error", async () => {
    await assert.rejects(profileThisThread(5, 1.5), /Invalid parameters/);
  });
});
