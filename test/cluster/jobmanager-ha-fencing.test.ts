// A deposed JobManager leader cannot move a job's checkpoint pointer: its leadership is taken away
// in etcd (its election key deleted, as when its lease expired while it was frozen or cut off),
// and the pointer it then publishes for a completed checkpoint is refused — whether or not it has
// noticed yet — so that checkpoint never completes (nothing of it is committed). It then stands by.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Etcd3 } from "etcd3";
import { parseEtcdEndpoints } from "../../src/cluster/ha/etcd-connection.ts";
import { EtcdHaServices } from "../../src/cluster/ha/ha-services.ts";
import { NotLeaderError } from "../../src/cluster/ha/ha-stores.ts";
import { HaJobManager } from "../../src/cluster/jobmanager/ha-jobmanager.ts";
import type { JobManagerHaHooks } from "../../src/cluster/jobmanager/job-manager.ts";
import { type EtcdTestServer, freePort, startEtcd } from "../fixtures/etcd-server.ts";
import { waitFor } from "./failover-job.ts";

let etcd: EtcdTestServer;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.close();
});

describe("a deposed JobManager leader (fencing)", () => {
  it("cannot publish a checkpoint pointer once its leadership is gone, and stands by", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-ha-fencing-"));
    const clusterId = `fencing-${process.pid}`;
    const lines: string[] = [];
    const h = await HaJobManager.start({
      jobManager: {
        port: await freePort(),
        token: "",
        artifactDir: join(dir, "artifacts"),
        log: (level, line) => lines.push(`${level} ${line}`),
      },
      ha: { endpoints: etcd.endpoints, clusterId, leaseTtlSeconds: 30 },
      storageDir: join(dir, "ha"),
    });
    const raw = new Etcd3({ hosts: parseEtcdEndpoints(etcd.endpoints) });
    const services = await EtcdHaServices.connect({ endpoints: etcd.endpoints, clusterId });
    try {
      await waitFor(() => h.leader !== undefined, "the only JobManager leads", 120_000);
      // What the leader's JobManager calls when a checkpoint completes.
      const hooks = (h.leader as unknown as { options: { ha: JobManagerHaHooks } }).options.ha;
      await hooks.checkpointCompleted("job-1", { id: 1, path: join(dir, "chk-1"), timestamp: 1 });
      const pointers = services.checkpointPointers();
      assert.equal((await pointers.get("job-1"))?.checkpointId, 1);

      await raw.delete().prefix(`/weir/${clusterId}/election/`).exec();
      await assert.rejects(
        hooks.checkpointCompleted("job-1", { id: 2, path: join(dir, "chk-2"), timestamp: 2 }),
        NotLeaderError,
      );
      assert.equal((await pointers.get("job-1"))?.checkpointId, 1, "the pointer did not move");
      assert.ok(
        lines.some((l) =>
          /WARN checkpoint 2 of job job-1 does not complete: .*not \(or no longer\) the leader/.test(l),
        ),
        lines.join("\n"),
      );
      // It learns it no longer leads (within a lease TTL), stops its JobManager, and stands by.
      await waitFor(() => lines.some((l) => l.includes("no longer leads")), "the leader steps down", 120_000);
    } finally {
      await h.close();
      await services.close();
      raw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
