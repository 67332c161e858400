// map, filter and flatMap on their own, through the operator harness (as a user unit-tests them, and
// as they run at the head of a task, after a network edge, where nothing fuses them into the
// upstream loop): records and their timestamps, a filter's predicate, a flatMap's collector and
// returned elements (nothing returned is fine), and a rich function's open() before the first
// record, with the runtime context. Found by mutation testing of runtime/operators/basic.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Collector, DataStream, RuntimeContext } from "../../src/index.ts";
import { OneInputHarness } from "../../src/testing/index.ts";

/** A flatMap that only collects (returns nothing). */
function tokenize(line: string, out: Collector<string>): void {
  for (const w of line.split(" ")) if (w !== "") out.collect(w);
}

describe("map, filter and flatMap through the harness", () => {
  it("a map transforms each record and keeps its timestamp", async () => {
    const h = OneInputHarness.of((s: DataStream<number>) => s.map((x) => x * 10));
    await h.open();
    h.processElement(1, 100);
    h.processElement(2);
    assert.deepEqual(h.records(), [
      { value: 10, timestamp: 100 },
      { value: 20, timestamp: undefined },
    ]);
    await h.close();
  });

  it("a filter keeps the records its predicate accepts, with their timestamps", async () => {
    const h = OneInputHarness.of((s: DataStream<number>) => s.filter((x) => x % 2 === 0));
    await h.open();
    for (let x = 1; x <= 6; x++) h.processElement(x, x * 100);
    assert.deepEqual(h.records(), [
      { value: 2, timestamp: 200 },
      { value: 4, timestamp: 400 },
      { value: 6, timestamp: 600 },
    ]);
    await h.close();
  });

  it("a rich filter is opened with the runtime context before its first record", async () => {
    const calls: string[] = [];
    const h = OneInputHarness.of((s: DataStream<string>) =>
      s.filter({
        open(ctx: RuntimeContext) {
          calls.push(`open ${ctx.indexOfThisSubtask}/${ctx.numberOfParallelSubtasks}`);
        },
        filter: (w: string) => {
          calls.push(`filter ${w}`);
          return w !== "";
        },
        close() {
          calls.push("close");
        },
      }),
    );
    await h.open();
    h.processElement("a");
    h.processElement("");
    await h.close();
    assert.deepEqual(h.values(), ["a"]);
    assert.deepEqual(calls, ["open 0/1", "filter a", "filter ", "close"]);
  });

  it("a flatMap emits through its collector, each element with the record's timestamp", async () => {
    const h = OneInputHarness.of((s: DataStream<string>) => s.flatMap(tokenize));
    await h.open();
    h.processElement("to be", 5);
    h.processElement("", 6); // nothing emitted, nothing returned
    h.processElement("or not", 7);
    assert.deepEqual(h.records(), [
      { value: "to", timestamp: 5 },
      { value: "be", timestamp: 5 },
      { value: "or", timestamp: 7 },
      { value: "not", timestamp: 7 },
    ]);
    await h.close();
  });

  it("a flatMap may return its elements instead, and mix both", async () => {
    const h = OneInputHarness.of((s: DataStream<number>) =>
      s.flatMap((n: number, out: Collector<number>) => {
        out.collect(-n);
        return n > 1 ? [n, n] : [];
      }),
    );
    await h.open();
    h.processElement(1);
    h.processElement(2);
    assert.deepEqual(h.values(), [-1, -2, 2, 2]);
    await h.close();
  });

  it("a rich flatMap is opened with the runtime context before its first record, and closed", async () => {
    const calls: string[] = [];
    let prefix = "";
    const h = OneInputHarness.of(
      (s: DataStream<string>) =>
        s.flatMap({
          open(ctx: RuntimeContext) {
            prefix = `${ctx.indexOfThisSubtask}/${ctx.numberOfParallelSubtasks}:`;
            calls.push("open");
          },
          flatMap(w: string, out: Collector<string>) {
            out.collect(prefix + w);
          },
          close() {
            calls.push("close");
          },
        }),
      { parallelism: 2, subtaskIndex: 1 },
    );
    await h.open();
    h.processElement("x");
    await h.close();
    assert.deepEqual(calls, ["open", "close"]);
    assert.deepEqual(h.values(), ["1/2:x"], "open() ran before the record, with this subtask's context");
  });
});
