// High availability on etcd (a private etcd started by the test): one leader among contenders,
// its address published to observers; a leader killed with SIGKILL is replaced by the standby
// once its lease expires, and the job store and checkpoint pointers it wrote are there for the
// new leader; a leader whose lease is revoked learns it by an event and its writes are refused.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Etcd3 } from "etcd3";
import { parseEtcdEndpoints } from "../../src/cluster/ha/etcd-connection.ts";
import { EtcdHaServices } from "../../src/cluster/ha/ha-services.ts";
import { NotLeaderError } from "../../src/cluster/ha/ha-stores.ts";
import type { LeaderElection } from "../../src/cluster/ha/leader-election.ts";
import { type EtcdTestServer, startEtcd } from "../fixtures/etcd-server.ts";

const CONTENDER = fileURLToPath(new URL("../fixtures/ha-contender.ts", import.meta.url));
const TTL = 2;

let etcd: EtcdTestServer;
let clusters = 0;
const open: EtcdHaServices[] = [];

before(async () => {
  etcd = await startEtcd();
});

after(async () => {
  for (const ha of open) await ha.close().catch(() => {});
  await etcd?.close();
});

/** A cluster id of its own for each test. */
function cluster(): string {
  return `test-${process.pid}-${++clusters}`;
}

async function connect(clusterId: string): Promise<EtcdHaServices> {
  const ha = await EtcdHaServices.connect({ endpoints: etcd.endpoints, clusterId, leaseTtlSeconds: TTL });
  open.push(ha);
  return ha;
}

function granted(e: LeaderElection): Promise<unknown> {
  return e.isLeader ? Promise.resolve() : once(e, "granted");
}

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe("HA services on etcd", () => {
  it("one leader among two contenders; observers see its address; a standby's writes are refused", async () => {
    const id = cluster();
    const [a, b, observer] = [await connect(id), await connect(id), await connect(id)];
    const ea = a.leaderElection();
    const eb = b.leaderElection();
    ea.start("http://10.0.0.1:8081");
    eb.start("http://10.0.0.2:8081");
    const first = await within(
      30_000,
      "a leader",
      Promise.race([granted(ea).then(() => ea), granted(eb).then(() => eb)]),
    );
    const [leader, standby] = first === ea ? [ea, eb] : [eb, ea];
    const address = first === ea ? "http://10.0.0.1:8081" : "http://10.0.0.2:8081";
    const retrieval = await observer.leaderRetrieval();
    assert.equal(await within(30_000, "the leader's address", retrieval.waitForLeader()), address);
    assert.ok(leader.isLeader && !standby.isLeader, "exactly one leader");

    const standbyServices = standby === ea ? a : b;
    await assert.rejects(
      standbyServices.jobStore(standby).put({ jobId: "j", jobName: "n", artifact: "x", submittedAt: 1 }),
      NotLeaderError,
    );
    await assert.rejects(
      standbyServices
        .checkpointPointers(standby)
        .publish("j", { checkpointId: 1, location: "x", timestamp: 1 }),
      NotLeaderError,
    );
    assert.deepEqual(await observer.jobStore().list(), []);

    // The leader resigns (its services close): the standby takes over at once, not after the TTL.
    const revoked = once(leader, "revoked");
    await (leader === ea ? a : b).close();
    await revoked;
    await within(30_000, "the standby elected", granted(standby));
    const other = address.endsWith("10.0.0.1:8081") ? "http://10.0.0.2:8081" : "http://10.0.0.1:8081";
    assert.equal(
      await within(
        30_000,
        "the new address",
        retrieval.waitForLeader((x) => x === other),
      ),
      other,
    );
  });

  it("the leader's process SIGKILLed: the standby leads after its lease expires and reads its job store and checkpoint pointer", async () => {
    const id = cluster();
    const child = spawn(
      process.execPath,
      ["--import", "tsx", CONTENDER, etcd.endpoints, id, String(TTL), "jm-1:6123"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d));
    child.stderr!.on("data", (d: Buffer) => (err += d));
    const exited = once(child, "exit");
    try {
      await within(
        60_000,
        "the first contender leads",
        new Promise<void>((resolve, reject) => {
          const check = () => (out.includes("LEADER jm-1:6123") ? resolve() : undefined);
          child.stdout!.on("data", check);
          void exited.then(() => reject(new Error(`the contender exited: ${err}`)));
        }),
      );
      const ha = await connect(id);
      const standby = ha.leaderElection();
      standby.start("jm-2:6123");
      const retrieval = await ha.leaderRetrieval();
      assert.equal(retrieval.leader, "jm-1:6123");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(standby.isLeader, false, "the standby waits while the leader lives");

      const killedAt = Date.now();
      child.kill("SIGKILL");
      await exited;
      // Its lease (TTL 2 s) is no longer renewed: etcd deletes its key, the standby is elected.
      await within(TTL * 1000 + 15_000, "the standby elected", granted(standby));
      const takeover = Date.now() - killedAt;
      assert.equal(
        await within(
          10_000,
          "the new address",
          retrieval.waitForLeader((x) => x === "jm-2:6123"),
        ),
        "jm-2:6123",
      );
      console.log(`# takeover after SIGKILL: ${takeover} ms (lease TTL ${TTL} s)`);

      const jobs = ha.jobStore(standby);
      const pointers = ha.checkpointPointers(standby);
      assert.deepEqual(await jobs.list(), [
        {
          jobId: "job-1",
          jobName: "counts",
          artifact: "blob://jobs/job-1.mjs",
          artifactSha256: "ab".repeat(32),
          submittedAt: 1_000,
          config: { parallelism: 2 },
        },
      ]);
      assert.deepEqual(await pointers.get("job-1"), {
        checkpointId: 7,
        location: "s3://weir-checkpoints/cp/job-1/chk-7",
        timestamp: 2_000,
      });
      // The new leader carries on: the pointer moves forward, never back.
      assert.equal(
        await pointers.publish("job-1", { checkpointId: 8, location: "…/chk-8", timestamp: 3 }),
        true,
      );
      assert.equal(
        await pointers.publish("job-1", { checkpointId: 6, location: "…/chk-6", timestamp: 4 }),
        false,
      );
      assert.equal((await pointers.get("job-1"))?.checkpointId, 8);
      await jobs.remove("job-1");
      assert.equal(await jobs.get("job-1"), undefined);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a leader whose lease is revoked gets a revoked event; its writes are refused; the standby leads", async () => {
    const id = cluster();
    const [a, b] = [await connect(id), await connect(id)];
    const ea = a.leaderElection();
    ea.start("jm-a");
    await within(30_000, "a leads", granted(ea));
    const eb = b.leaderElection();
    eb.start("jm-b");
    const pointers = a.checkpointPointers(ea);
    assert.equal(await pointers.publish("job", { checkpointId: 1, location: "chk-1", timestamp: 1 }), true);

    const raw = new Etcd3({ hosts: parseEtcdEndpoints(etcd.endpoints) });
    try {
      // The standby's lease revoked: its campaign fails (an event, not a throw) and starts again.
      const prefix = ea.fence!.key.slice(0, ea.fence!.key.lastIndexOf("/") + 1);
      const standbyKey = await within(
        30_000,
        "the standby's key",
        (async () => {
          for (;;) {
            const keys = (await raw.getAll().prefix(prefix).keys()).filter((k) => k !== ea.fence!.key);
            if (keys.length > 0) return keys[0]!;
            await new Promise((r) => setTimeout(r, 50));
          }
        })(),
      );
      const failed = once(eb, "campaignFailed");
      await raw.leaseClient.leaseRevoke({ ID: standbyKey.slice(prefix.length) });
      await within(TTL * 1000 + 10_000, "the standby's campaignFailed", failed);
      assert.equal(eb.isLeader, false);
      assert.ok(ea.isLeader, "the leader is not affected");

      // Revoke the leader's lease behind its back (as etcd does when it expires).
      const leaseId = ea.fence!.key.split("/").pop()!;
      const revoked = once(ea, "revoked");
      await raw.leaseClient.leaseRevoke({ ID: leaseId });
      const [reason] = (await within(TTL * 1000 + 10_000, "the revoked event", revoked)) as [string];
      assert.match(reason, /lease|key is gone/);
      assert.equal(ea.isLeader, false);
      await assert.rejects(
        pointers.publish("job", { checkpointId: 2, location: "chk-2", timestamp: 2 }),
        NotLeaderError,
      );
      await within(30_000, "the standby leads", granted(eb));
      assert.equal(
        await b.checkpointPointers(eb).publish("job", { checkpointId: 2, location: "chk-2", timestamp: 2 }),
        true,
      );
    } finally {
      raw.close();
    }
  });

  it("cut off from etcd (frozen): the leader is told by a revoked event; leader and standby recover", async () => {
    const id = cluster();
    const [a, b] = [await connect(id), await connect(id)];
    const ea = a.leaderElection();
    ea.start("jm-a");
    await within(30_000, "a leads", granted(ea));
    const eb = b.leaderElection();
    eb.start("jm-b");
    const revoked = once(ea, "revoked");
    etcd.pause();
    try {
      const [reason] = (await within(TTL * 1000 + 15_000, "the revoked event", revoked)) as [string];
      assert.match(reason, /did not confirm its leadership for 2 s|lease/);
      assert.equal(ea.isLeader, false);
      assert.equal(ea.fence, undefined);
    } finally {
      etcd.resume();
    }
    // Both campaign again; one of them leads once etcd answers.
    await within(60_000, "a leader again", Promise.race([granted(ea), granted(eb)]));
    assert.ok(ea.isLeader !== eb.isLeader, "exactly one leader");
  });

  it("bad endpoints and an unreachable etcd are clear errors", async () => {
    assert.throws(() => parseEtcdEndpoints("127.0.0.1:2379"), /do not start with etcd:\/\//);
    assert.throws(
      () => parseEtcdEndpoints("etcd://user:pw@h:1"),
      (e: Error) => /credentials/.test(e.message),
    );
    assert.deepEqual(parseEtcdEndpoints("etcd://h1:2379,h2:2380"), ["http://h1:2379", "http://h2:2380"]);
    await assert.rejects(
      EtcdHaServices.connect({ endpoints: "etcd://127.0.0.1:1", dialTimeoutMs: 500 }),
      /cannot reach etcd at http:\/\/127\.0\.0\.1:1: .*check that etcd runs there/,
    );
  });
});
