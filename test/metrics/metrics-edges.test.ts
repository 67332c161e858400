// Small metric pieces at their edges, without a job: a meter's rate with two samples at the same
// time and once its ring of samples is full, flame graphs of several threads merged, and the
// JSON-lines reporter's timer not keeping the process alive.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type FlameGraphNode, mergeFlameGraphs } from "../../src/runtime/metrics/cpu-profiler.ts";
import { startJsonLinesReporter } from "../../src/runtime/metrics/json-lines-reporter.ts";
import { MeterView } from "../../src/runtime/metrics/meter-view.ts";

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
});
