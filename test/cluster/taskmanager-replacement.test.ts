// Failover onto a new TaskManager: the job needs every slot of the cluster, one TaskManager is
// killed (kill -9) after a checkpoint, and the next attempt waits for slots until a replacement
// TaskManager registers; the committed output equals a failure-free run.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ClusterClient } from "../../src/cluster/cluster-client.ts";
import { JOB, checkpointCompleted, committed, expected, waitFor, failoverParams } from "./failover-job.ts";
import { startCluster } from "./process-cluster.ts";

describe("a TaskManager lost with no slot to spare", () => {
  it("kill -9 with no slot to spare: the job waits for a replacement TaskManager, output exact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-tm-replace-"));
    const params = failoverParams(dir);
    const env = { WEIR_CHAOS_JOB: JSON.stringify(params) };
    const cluster = await startCluster({ taskManagers: 2, slots: 1, env, heartbeatIntervalMs: 200 });
    const client = new ClusterClient(cluster.address, "");
    try {
      const job = await client.submit(JOB, { parallelism: 2 }, { follow: true });
      await waitFor(() => checkpointCompleted(params.checkpoints, job.jobId), "a completed checkpoint");
      cluster.taskManagers[1]!.child.kill("SIGKILL");
      // One slot is left and the job needs two: its next attempt waits for the replacement.
      await waitFor(
        () => /TaskManager tm-1 \(pid \d+ on .+\) lost/.test(cluster.jobManager.err()),
        "tm-1 lost",
      );
      await cluster.addTaskManager("tm-2", 1);
      const end = await job.ended;
      assert.equal(end.status, "FINISHED", String(end.error));
      assert.ok(end.result!.restarts >= 1, "the job restarted");
      assert.match(cluster.jobManager.err(), /deployment \d+ on (tm-0, tm-2|tm-2, tm-0)\n/);
      assert.deepEqual(committed(params.out), expected());
    } finally {
      client.close();
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
