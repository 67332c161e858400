import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runJob } from "../../src/cluster/index.ts";
import { liveWorkerCount } from "../../src/cluster/worker-threads.ts";
import { corpus, countWords, waitFor } from "../fixtures/helpers.ts";

const JOB = fileURLToPath(new URL("../fixtures/wordcount-job.ts", import.meta.url));

/** The final count of each word: the largest of its rolling sums. */
function finalCounts(values: unknown[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values as Array<{ word: string; count: number }>) {
    m.set(v.word, Math.max(m.get(v.word) ?? 0, v.count));
  }
  return m;
}

describe("word count on worker threads (MiniCluster)", () => {
  process.env.WEIR_TEST_WC_WORDS = "200000";
  process.env.WEIR_TEST_WC_VOCAB = "5000";
  process.env.WEIR_TEST_WC_SEED = "7";
  const expected = countWords(corpus(200_000, 5_000, 7));

  for (const p of [1, 2, 4]) {
    it(`equals a plain Map count at parallelism ${p}`, async () => {
      const r = await runJob({ job: JOB, parallelism: p });
      const values = r.collected.get("counts")!;
      assert.ok(values !== undefined, "the collect sink 'counts' returned nothing");
      // One rolling update per word occurrence, no more, no less.
      assert.equal(values.length, 200_000);
      assert.deepStrictEqual(finalCounts(values), expected);
      const tokenize = r.vertex("tokenize")!;
      assert.equal(tokenize.parallelism, p);
      assert.equal(tokenize.operators.find((o) => o.name === "tokenize")!.recordsOut, 200_000);
      await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
    });
  }
});
