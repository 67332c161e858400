// The JSON-lines reporter: a line per job per interval, and a last one with the final counts.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { StreamExecutionEnvironment } from "../../src/index.ts";
import { startJsonLinesReporter } from "../../src/runtime/metrics/json-lines-reporter.ts";
import { waitFor } from "../fixtures/helpers.ts";
import { RECORDS, buildMetricsJob } from "../fixtures/metrics-job.ts";

describe("JSON-lines reporter", () => {
  it("appends a line per interval and a final one with the job's counts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-jsonl-"));
    const path = join(dir, "metrics.jsonl");
    try {
      const env = new StreamExecutionEnvironment({ parallelism: 2 });
      buildMetricsJob(env, false);
      const client = await env.executeAsync("jsonl");
      const reporter = startJsonLinesReporter(() => [client.metrics], path, 5);
      await client.wait();
      await waitFor(() => {
        try {
          return readFileSync(path, "utf8").length > 0;
        } catch {
          return false;
        }
      }, "a periodic line");
      reporter.stop();
      const lines = readFileSync(path, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      assert.ok(lines.length >= 2);
      const last = lines[lines.length - 1];
      assert.equal(last.job_name, "jsonl");
      assert.equal(last.status, "FINISHED");
      assert.equal(last.job.numRestarts, 0);
      let doubled = 0;
      for (const t of last.tasks)
        for (const o of t.operators) if (o.name === "double") doubled += o.metrics.numRecordsIn;
      assert.equal(doubled, RECORDS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
