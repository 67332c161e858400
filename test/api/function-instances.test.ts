// Every parallel instance (and every attempt after a restart) of a function object gets its own
// copy of the object's array, Map and Set fields, as Flink gives each subtask a deserialized copy.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { instanceOf } from "../../src/api/function-forms.ts";
import { type MapFunction, type RuntimeContext, StreamExecutionEnvironment } from "../../src/index.ts";

describe("function instances", () => {
  it("copies array, Map and Set fields; shares other objects", () => {
    const client = { calls: 0 };
    const fn = {
      seen: new Set([1]),
      byKey: new Map([["a", [1]]]),
      list: [[1]],
      client,
      map: (x: number) => x,
    };
    const a = instanceOf(fn);
    const b = instanceOf(fn);
    a.seen.add(2);
    a.byKey.get("a")!.push(2);
    a.list[0]!.push(2);
    assert.deepEqual([...b.seen], [1]);
    assert.deepEqual(b.byKey.get("a"), [1]);
    assert.deepEqual(b.list, [[1]]);
    assert.deepEqual([...fn.seen], [1]);
    assert.equal(a.client, client);
    assert.equal(a.map, fn.map);
  });

  it("subtasks of one operator do not share a field initialized in the class body", async () => {
    class Dedup implements MapFunction<number, string> {
      private readonly seen = new Set<number>();
      private subtask = -1;
      open(ctx: RuntimeContext): void {
        this.subtask = ctx.indexOfThisSubtask;
      }
      map(v: number): string {
        this.seen.add(v);
        return `${this.subtask}:${this.seen.size}`;
      }
    }
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const out = env.fromSequence(1, 200).rebalance().map(new Dedup()).collect();
    await env.execute("dedup");
    // Each subtask counts only its own values: the last count per subtask sums to 200.
    const last = new Map<string, number>();
    for (const v of out.values) {
      const [s, n] = v.split(":");
      last.set(s!, Math.max(last.get(s!) ?? 0, Number(n)));
    }
    assert.equal(
      [...last.values()].reduce((x, y) => x + y, 0),
      200,
    );
  });
});
