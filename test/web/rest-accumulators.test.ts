// GET /jobs/:jid/accumulators and GET /jobs/:jid/checkpoints/config in Flink's shapes: the user
// accumulators merged over subtasks as the job's result merges them, and the checkpoint settings
// the job runs with (a 404 when it does not checkpoint, as in Flink).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type Counter,
  MaxAccumulator,
  type RuntimeContext,
  StreamExecutionEnvironment,
} from "../../src/index.ts";
import type { JobMetrics } from "../../src/runtime/metrics/job-metrics.ts";
import { type RestServer, startRestServer } from "../../src/web/rest-server.ts";

const N = 1_000;

class Counting {
  private seen!: Counter;
  private max!: MaxAccumulator;
  open(ctx: RuntimeContext): void {
    this.seen = ctx.getCounter("seen");
    this.max = ctx.addAccumulator("largest", new MaxAccumulator()) as MaxAccumulator;
  }
  map(n: number): number {
    this.seen.add();
    this.max.add(n);
    return n;
  }
}

async function getJson(server: RestServer, path: string, status = 200): Promise<any> {
  const res = await fetch(server.url + path);
  assert.equal(res.status, status, `GET ${path}`);
  return res.json();
}

describe("REST: accumulators and checkpoint config", () => {
  const dir = mkdtempSync(join(tmpdir(), "weir-rest-acc-"));
  const jobs: JobMetrics[] = [];
  let server: RestServer;
  let checkpointed: string;
  let plain: string;

  before(async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env.enableCheckpointing(60_000);
    env.getCheckpointConfig().setCheckpointStorage(join(dir, "checkpoints"));
    env
      .fromSequence(1, N)
      .map(new Counting())
      .name("count")
      .sinkTo({ createWriter: () => ({ write() {} }) });
    const a = await env.executeAsync("rest-accumulators");
    await a.wait();
    const env2 = new StreamExecutionEnvironment({ parallelism: 1 });
    env2
      .fromSequence(1, 10)
      .map(new Counting())
      .sinkTo({ createWriter: () => ({ write() {} }) });
    const b = await env2.executeAsync("rest-no-checkpoints");
    await b.wait();
    jobs.push(a.metrics, b.metrics);
    checkpointed = a.jobId;
    plain = b.jobId;
    server = await startRestServer({ port: 0, jobs: () => jobs });
  });

  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("GET /jobs/:id/accumulators merges every subtask's accumulators", async () => {
    const a = await getJson(server, `/jobs/${checkpointed}/accumulators`);
    assert.deepEqual(a["job-accumulators"], []);
    const byName = Object.fromEntries(
      (a["user-task-accumulators"] as Array<{ name: string; type: string; value: string }>).map((u) => [
        u.name,
        u,
      ]),
    );
    assert.deepEqual(byName.seen, { name: "seen", type: "LongCounter", value: String(N) });
    assert.deepEqual(byName.largest, { name: "largest", type: "MaxAccumulator", value: String(N) });
  });

  it("GET /jobs/:id/checkpoints/config: the job's settings; 404 without checkpointing", async () => {
    const c = await getJson(server, `/jobs/${checkpointed}/checkpoints/config`);
    assert.equal(c.mode, "exactly_once");
    assert.equal(c.interval, 60_000);
    assert.equal(c.max_concurrent, 1);
    assert.deepEqual(c.externalization, { enabled: true, delete_on_cancellation: true });
    assert.equal(c.checkpoint_storage, join(dir, "checkpoints"));
    assert.equal(c.unaligned_checkpoints, false);
    const none = await getJson(server, `/jobs/${plain}/checkpoints/config`, 404);
    assert.deepEqual(none, { errors: ["Checkpointing is not enabled for this job."] });
  });
});
