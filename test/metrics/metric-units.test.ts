// Metric pieces on their own: a histogram's standard deviation where the values sit far from zero,
// whether a metric group has anything registered (its subgroups included), and a CPU profile of
// this thread folded into a flame graph.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { profileThisThread } from "../../src/runtime/metrics/cpu-profiler.ts";
import { MetricGroupImpl, TASK_SCOPE } from "../../src/runtime/metrics/metric-group.ts";
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
});
