// A broken data connection between two TaskManagers fails the attempts that use it at once: the
// TaskManager reports their slots as failed, and the JobManager fails the attempt over by its
// restart strategy (instead of the channels staying silent until checkpoints time out). A
// JobManager and two TaskManagers run in this process; the exactly-once chaos job's committed
// output must equal a failure-free run's.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startJobManagerRest } from "../../src/cli/jobmanager-rest.ts";
import { ClusterClient } from "../../src/cluster/cluster-client.ts";
import { JobManager } from "../../src/cluster/jobmanager/job-manager.ts";
import type { FrameSocket } from "../../src/cluster/rpc/frame-socket.ts";
import { TaskManager } from "../../src/cluster/taskmanager/task-manager.ts";
import { JOB, checkpointCompleted, committed, expected, waitFor, failoverParams } from "./failover-job.ts";

/** The data connections a TaskManager holds, by peer (reached into for the test). */
function dataSockets(tm: TaskManager): FrameSocket[] {
  const exchange = (tm as unknown as { exchange: { peers: Map<string, { socket?: FrameSocket }> } }).exchange;
  return [...exchange.peers.values()].flatMap((p) => (p.socket === undefined ? [] : [p.socket]));
}

describe("a data connection between TaskManagers that breaks", () => {
  it("fails the attempt at once; it restarts from the latest checkpoint, output exact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-data-failover-"));
    const params = failoverParams(dir, 4_000); // at least 10 s: still running when the connection breaks
    const saved = process.env.WEIR_CHAOS_JOB;
    process.env.WEIR_CHAOS_JOB = JSON.stringify(params);
    const lines: string[] = [];
    const log = (level: string, line: string) => lines.push(`${level} ${line}`);
    const jm = new JobManager({ port: 0, token: "", artifactDir: join(dir, "jm"), log });
    await jm.start();
    const tms = ["tm-a", "tm-b"].map(
      (id) =>
        new TaskManager({
          jobManagerHost: "127.0.0.1",
          jobManagerPort: jm.port,
          slots: 1,
          token: "",
          id,
          artifactDir: join(dir, id),
          log,
        }),
    );
    for (const tm of tms) await tm.start();
    const rest = await startJobManagerRest(jm, { port: 0, address: "127.0.0.1", token: "" });
    const client = new ClusterClient(rest.url, "");
    try {
      const job = await client.submit(JOB, { parallelism: 2 }, { follow: true });
      await waitFor(
        () => checkpointCompleted(params.checkpoints, job.jobId),
        "a completed checkpoint",
        120_000,
      );
      await waitFor(() => dataSockets(tms[0]!).length > 0, "the data connection", 120_000);
      for (const s of dataSockets(tms[0]!)) s.destroy();
      // Without the failover the channels stay silent: the job would never end.
      const end = await Promise.race([
        job.ended,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`the job did not end:\n${lines.join("\n")}`)), 300_000).unref(),
        ),
      ]);
      assert.equal(end.status, "FINISHED", String(end.error));
      assert.ok(end.result!.restarts >= 1, "the job restarted");
      assert.ok(
        lines.some((l) => /the data connection to TaskManager tm-[ab] broke/.test(l)),
        lines.join("\n"),
      );
      assert.deepEqual(committed(params.out), expected());
    } finally {
      client.close();
      await rest.close();
      for (const tm of tms) await tm.stop();
      await jm.stop();
      if (saved === undefined) delete process.env.WEIR_CHAOS_JOB;
      else process.env.WEIR_CHAOS_JOB = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
