// A job's checkpoint id counter in etcd (a private etcd started by the test), shared by the
// JobManagers that run the job one after another — or, a deposed one and the new leader, at once:
// ids taken concurrently through two connections are all different, the counter only moves up
// (past a restored checkpoint), and a value that is not an id is refused with what to do.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Etcd3 } from "etcd3";
import { parseEtcdEndpoints } from "../../src/cluster/ha/etcd-connection.ts";
import { EtcdHaServices } from "../../src/cluster/ha/ha-services.ts";
import { type EtcdTestServer, startEtcd } from "../fixtures/etcd-server.ts";

let etcd: EtcdTestServer;
const open: EtcdHaServices[] = [];
const clusterId = `counter-${process.pid}`;

async function connect(): Promise<EtcdHaServices> {
  const ha = await EtcdHaServices.connect({ endpoints: etcd.endpoints, clusterId });
  open.push(ha);
  return ha;
}

describe("the checkpoint id counter in etcd", () => {
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    for (const ha of open) await ha.close().catch(() => {});
    await etcd?.close();
  });

  it("hands out every id once, across JobManagers taking them at the same time", async () => {
    const [a, b] = [await connect(), await connect()];
    const ca = a.checkpointIdCounter("job-1");
    const cb = b.checkpointIdCounter("job-1");
    assert.equal(await ca.get(), 1, "a job that took no id starts at 1");
    assert.equal(await ca.getAndIncrement(), 1);
    assert.equal(await cb.getAndIncrement(), 2);
    const taken = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? ca : cb).getAndIncrement()),
    );
    assert.deepEqual(
      [...taken].sort((x, y) => x - y),
      Array.from({ length: 40 }, (_, i) => i + 3),
    );
    assert.equal(await cb.get(), 43);
    // Another job counts apart.
    assert.equal(await a.checkpointIdCounter("job-2").getAndIncrement(), 1);
  });

  it("moves up past a restored checkpoint, never down; removed, it starts again", async () => {
    const c = (await connect()).checkpointIdCounter("job-3");
    assert.equal(await c.setAtLeast(100), 100);
    assert.equal(await c.getAndIncrement(), 100);
    assert.equal(await c.setAtLeast(50), 101, "a lower restore point does not move it back");
    assert.equal(await c.getAndIncrement(), 101);
    await assert.rejects(c.setAtLeast(0), RangeError);
    await c.remove();
    assert.equal(await c.get(), 1);
  });

  it("reserves blocks that never overlap, across JobManagers, at or above what each asks for", async () => {
    const [a, b] = [await connect(), await connect()];
    const ca = a.checkpointIdCounter("job-5");
    const cb = b.checkpointIdCounter("job-5");
    const firsts = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? ca : cb).reserve(8, i < 5 ? 1 : 30)),
    );
    const ids = firsts.flatMap((f) => Array.from({ length: 8 }, (_, k) => f + k));
    assert.equal(new Set(ids).size, 80, `blocks overlap: ${firsts}`);
    assert.ok(
      firsts.slice(5).every((f) => f >= 30),
      `asked for 30 or more: ${firsts}`,
    );
    assert.equal(await ca.get(), Math.max(...firsts) + 8);
    await assert.rejects(ca.reserve(0, 1), RangeError);
  });

  it("refuses a value that is not an id, saying which key to fix", async () => {
    const ha = await connect();
    const raw = new Etcd3({ hosts: parseEtcdEndpoints(etcd.endpoints) });
    try {
      await raw.put(`/weir/${clusterId}/checkpoint-counter/job-4`).value("soon");
    } finally {
      raw.close();
    }
    await assert.rejects(
      ha.checkpointIdCounter("job-4").getAndIncrement(),
      /the etcd key '\/weir\/counter-\d+\/checkpoint-counter\/job-4' holds 'soon', not a checkpoint id/,
    );
  });
});
