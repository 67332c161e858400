// Flink's DataStream.union: a stream unioned with itself yields each element twice (Flink's docs
// say so); unioned with others, every element of each once.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StreamExecutionEnvironment } from "../../src/index.ts";

describe("union", () => {
  for (const p of [1, 2]) {
    it(`a stream unioned with itself gives each element twice (p=${p})`, async () => {
      const env = StreamExecutionEnvironment.getExecutionEnvironment({ parallelism: p });
      const s = env.fromElements(1, 2, 3);
      const out = await s.union(s).executeAndCollect();
      assert.deepEqual(
        out.sort((a, b) => a - b),
        [1, 1, 2, 2, 3, 3],
      );
    });
  }

  it("with itself and another stream: the other's elements once", async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const s = env.fromElements(1, 2);
    const out = await s.union(s, env.fromElements(10)).executeAndCollect();
    assert.deepEqual(
      out.sort((a, b) => a - b),
      [1, 1, 2, 2, 10],
    );
  });
});
