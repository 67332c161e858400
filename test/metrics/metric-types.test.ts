// The metric types on their own: counters count, meters compute their rate from samples over the
// window, histograms keep a bounded reservoir, and groups return what is already registered.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MeterView } from "../../src/runtime/metrics/meter-view.ts";
import {
  MetricGroupImpl,
  MetricRegistrationError,
  OPERATOR_SCOPE,
} from "../../src/runtime/metrics/metric-group.ts";
import type { MetricValue } from "../../src/runtime/metrics/metric-value.ts";
import { ReservoirHistogram } from "../../src/runtime/metrics/reservoir-histogram.ts";

describe("metric types", () => {
  it("a meter's rate is the count's growth per second over its window", () => {
    const m = new MeterView(undefined, 10_000);
    m.update(0);
    assert.equal(m.getRate(), 0, "one sample has no rate");
    m.markEvent(500);
    m.update(1000);
    assert.equal(m.getRate(), 500);
    m.markEvent(1500);
    m.update(2000);
    assert.equal(m.getRate(), 1000, "2000 events over 2 s");
    // Samples older than the window fall out of the rate.
    m.update(30_000);
    m.update(31_000);
    assert.equal(m.getRate(), 0);
    assert.equal(m.getCount(), 2000);
  });

  it("a meter over a count kept elsewhere samples that count", () => {
    let n = 0;
    const m = new MeterView(() => n);
    m.update(0);
    n = 300;
    m.update(3000);
    assert.equal(m.getRate(), 100);
  });

  it("a histogram keeps the most recent values and reports their quantiles", () => {
    const h = new ReservoirHistogram(100);
    for (let i = 1; i <= 1000; i++) h.update(i);
    const s = h.getStatistics();
    assert.equal(s.count, 1000);
    assert.equal(h.getCount(), 1000);
    assert.equal(s.min, 901, "only the last 100 values are kept");
    assert.equal(s.max, 1000);
    assert.equal(s.p50, 950);
    assert.equal(s.p99, 999);
    assert.equal(s.mean, 950.5);
    assert.deepEqual(new ReservoirHistogram().getStatistics().count, 0);
  });

  it("a group returns the metric already registered under a name, and refuses another kind", () => {
    const g = new MetricGroupImpl(OPERATOR_SCOPE, { operator_name: "map", subtask_index: "0" });
    const c = g.counter("seen");
    c.inc();
    assert.equal(g.counter("seen"), c);
    assert.throws(() => g.meter("seen"), MetricRegistrationError);
    assert.throws(() => g.counter(""), MetricRegistrationError);
    g.addGroup("mine").counter("deep").inc(3);
    g.gauge("level", () => 7);
    g.histogram("sizes").update(4);
    const out: MetricValue[] = [];
    g.collect(out, 0);
    const byName = new Map(out.map((v) => [v.name, v]));
    assert.equal(byName.get("seen")?.value, 1);
    assert.equal(byName.get("mine.deep")?.value, 3);
    assert.equal(byName.get("level")?.value, 7);
    assert.equal(byName.get("sizes")?.stats?.max, 4);
    assert.equal(g.getMetricIdentifier("seen"), "weir.taskmanager.job.task.operator.seen");
  });

  it("a subgroup asked for twice is the same group: its metrics are not registered twice", () => {
    const g = new MetricGroupImpl(OPERATOR_SCOPE, { operator_name: "map", subtask_index: "0" });
    const a = g.addGroup("cache");
    a.counter("hits").inc(2);
    const b = g.addGroup("cache");
    assert.equal(b, a);
    assert.equal(b.counter("hits").getCount(), 2);
    const out: MetricValue[] = [];
    g.collect(out, 0);
    assert.deepEqual(
      out.filter((v) => v.name === "cache.hits").map((v) => v.value),
      [2],
    );
  });
});
