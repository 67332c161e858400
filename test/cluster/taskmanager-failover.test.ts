// Failover across processes: an exactly-once job (keyed windows, the exactly-once file sink) runs
// on two TaskManagers; one of them is killed (kill -9), or frozen (SIGSTOP: its connections stay
// open, only the heartbeat timeout notices), after a checkpoint has completed. The JobManager
// restarts the job from its latest checkpoint on the slots left, and the committed output equals
// the output of a run without failures: nothing lost, nothing duplicated.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ClusterClient } from "../../src/cluster/cluster-client.ts";
import { JOB, checkpointCompleted, committed, expected, waitFor, failoverParams } from "./failover-job.ts";
import { startCluster } from "./process-cluster.ts";

describe("a TaskManager lost while an exactly-once job runs", () => {
  for (const how of ["kill -9", "SIGSTOP (heartbeat timeout)"] as const) {
    it(`${how}: restarted from the latest checkpoint, committed output exact`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-tm-failover-"));
      const params = failoverParams(dir);
      const cluster = await startCluster({
        taskManagers: 2,
        slots: 2,
        slotPlacement: "spread",
        env: { WEIR_CHAOS_JOB: JSON.stringify(params) },
        heartbeatIntervalMs: 200,
        heartbeatTimeoutMs: 2_000,
      });
      const client = new ClusterClient(cluster.address, "");
      try {
        const job = await client.submit(JOB, { parallelism: 2 }, { follow: true });
        // Spread: one slot on each TaskManager.
        await waitFor(
          () => /deployment 1 on (tm-0, tm-1|tm-1, tm-0)/.test(cluster.jobManager.err()),
          "deployment",
        );
        await waitFor(() => checkpointCompleted(params.checkpoints, job.jobId), "a completed checkpoint");
        const victim = cluster.taskManagers[1]!;
        victim.child.kill(how === "kill -9" ? "SIGKILL" : "SIGSTOP");
        const end = await job.ended;
        assert.equal(end.status, "FINISHED", String(end.error));
        assert.ok(end.result!.restarts >= 1, "the job restarted");
        const log = cluster.jobManager.err();
        assert.match(
          log,
          how === "kill -9"
            ? /TaskManager tm-1 \(pid \d+ on .+\) lost: (its connection closed|no heartbeat)/
            : /TaskManager tm-1 \(pid \d+ on .+\) lost: no heartbeat for 2000 ms/,
        );
        // The restart ran on the slots left: both on tm-0.
        assert.match(log, /deployment \d+ on tm-0\n/);
        assert.deepEqual(committed(params.out), expected());
      } finally {
        client.close();
        await cluster.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
