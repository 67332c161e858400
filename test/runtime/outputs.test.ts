// The compiled record path of chained outputs (outputs.ts): in a long chain of map, filter,
// flatMap and sink, run as many jobs in one process, every operator counts its records and a
// failure names the operator whose function threw, whatever its position in the chain.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JobExecutionError, StreamExecutionEnvironment } from "../../src/index.ts";

type Failing = "m1" | "f1" | "fm" | "m2" | "none";

async function runChain(failIn: Failing) {
  const env = new StreamExecutionEnvironment({ parallelism: 1 });
  const boom = (where: Failing, x: number) => {
    if (failIn === where && x === 77) throw new RangeError(`boom in ${where}`);
  };
  const seen: number[] = [];
  env
    .fromSequence(1, 100)
    .name("src")
    .map((x) => {
      boom("m1", x);
      return x * 2;
    })
    .name("m1")
    .filter((x) => {
      boom("f1", x / 2);
      return x % 3 !== 0;
    })
    .name("f1")
    // biome-ignore lint/suspicious/useIterableCallbackReturn: DataStream.flatMap emits through its collector
    .flatMap<number>((x, out) => {
      boom("fm", x / 2);
      out.collect(x);
      out.collect(-x);
    })
    .name("fm")
    .map((x: number) => {
      boom("m2", Math.abs(x) / 2);
      return x + 1;
    })
    .name("m2")
    .sinkTo({ createWriter: () => ({ write: (v: number) => void seen.push(v) }) }, "sink");
  return { result: await env.execute(`chain-${failIn}`), seen };
}

describe("chained outputs", () => {
  it("count records at every operator of a long chain, over many jobs in one process", async () => {
    for (let job = 0; job < 6; job++) {
      const { result, seen } = await runChain("none");
      const v = result.vertices[0]!;
      const op = (name: string) => v.operators.find((o) => o.name === name)!;
      const kept = Array.from({ length: 100 }, (_, i) => (i + 1) * 2).filter((x) => x % 3 !== 0);
      assert.equal(op("m1").recordsIn, 100);
      assert.equal(op("m1").recordsOut, 100);
      assert.equal(op("f1").recordsIn, 100);
      assert.equal(op("f1").recordsOut, kept.length);
      assert.equal(op("fm").recordsOut, 2 * kept.length);
      assert.equal(op("m2").recordsIn, 2 * kept.length);
      assert.equal(op("sink").recordsIn, 2 * kept.length);
      assert.deepEqual(
        seen,
        kept.flatMap((x) => [x + 1, -x + 1]),
      );
    }
  });

  for (const where of ["m1", "f1", "fm", "m2"] as const) {
    it(`name the operator that threw (${where})`, async () => {
      await assert.rejects(runChain(where), (e) => {
        assert.ok(e instanceof JobExecutionError, String(e));
        assert.equal(e.location?.operatorName, where);
        assert.match(e.message, new RegExp(`boom in ${where}`));
        return true;
      });
    });
  }
});
