// Every JobManager of a highly available cluster serves the REST API, as in Flink: with a private
// etcd (test/fixtures/etcd-server.ts), two `weir jobmanager --ha` (one leads, one stands by) and a
// TaskManager that finds the leader in etcd. A job submitted with `weir run -m <standby>` runs and
// reports its end through the standby (which forwards to the leader's REST address, published in
// etcd); a request a standby cannot forward gets 503 with Retry-After; after the leader is
// SIGKILLed, `weir list -m <dead leader>,<standby>` still answers, and shows the job the standby
// took over. Over TLS, a standby forwards to the leader's https REST API, checking its certificate
// against the cluster CA.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ClusterClient } from "../../src/cluster/cluster-client.ts";
import { FORWARDED_HEADER } from "../../src/web/rest-proxy.ts";
import { type EtcdTestServer, freePort, startEtcd } from "../fixtures/etcd-server.ts";
import { type Proc, startProcess, waitForOutput } from "./process-cluster.ts";
import { makeTestCertificates, tlsFlags } from "./tls-certs.ts";

const WORDCOUNT = fileURLToPath(new URL("../fixtures/wordcount-job.ts", import.meta.url));
const UNBOUNDED = fileURLToPath(new URL("./observed-job.ts", import.meta.url));
const TOKEN = "ha-rest-token";
/** Every process (JobManagers, TaskManager, clients) has the cluster token; requests must carry it. */
const ENV = {
  WEIR_TEST_WC_WORDS: "5000",
  WEIR_TEST_WC_VOCAB: "100",
  WEIR_TEST_WC_SEED: "3",
  WEIR_CLUSTER_TOKEN: TOKEN,
};
const AUTH = { authorization: `Bearer ${TOKEN}` };

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let etcd: EtcdTestServer;
let dir: string;
const procs: Proc[] = [];

before(async () => {
  etcd = await startEtcd();
  dir = mkdtempSync(join(tmpdir(), "weir-jm-ha-rest-"));
});
after(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
  await etcd?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** `weir jobmanager --ha` in cluster `clusterId`, with `more` arguments. */
async function jobManager(clusterId: string, more: string[] = []): Promise<Proc> {
  const p = startProcess(
    [
      "jobmanager",
      "--port",
      String(await freePort()),
      "--rest-port",
      "0",
      "--ha",
      etcd.endpoints,
      "--ha-cluster-id",
      clusterId,
      "--ha-lease-ttl",
      "2",
      "--ha-storage-dir",
      join(dir, clusterId),
      "--heartbeat-interval",
      "200",
      "--heartbeat-timeout",
      "2000",
      ...more,
    ],
    ENV,
  );
  procs.push(p);
  return p;
}

/** A leader, then a standby: their processes and REST URLs. */
async function leaderAndStandby(
  clusterId: string,
  more: string[] = [],
): Promise<{ leader: Proc; leaderRest: string; standbyRest: string }> {
  const leader = await jobManager(clusterId, more);
  const leaderRest = (
    await waitForOutput(leader, /JobManager listening on .*; REST API at (\S+)/, "a leader")
  )[1]!;
  const standby = await jobManager(clusterId, more);
  const standbyRest = (
    await waitForOutput(standby, /standing by for leadership .*REST API at (\S+)/, "a standby's REST API")
  )[1]!;
  assert.notEqual(standbyRest, leaderRest);
  return { leader, leaderRest, standbyRest };
}

describe("the REST API of highly available JobManagers (etcd)", () => {
  let leader: Proc;
  let leaderRest: string;
  let standbyRest: string;

  before(async () => {
    const clusterId = `ha-rest-${process.pid}`;
    ({ leader, leaderRest, standbyRest } = await leaderAndStandby(clusterId));
    const tm = startProcess(
      ["taskmanager", "--ha", etcd.endpoints, "--ha-cluster-id", clusterId, "--slots", "2", "--id", "tm-0"],
      ENV,
    );
    procs.push(tm);
    await waitForOutput(tm, /registered with/, "the TaskManager registered");
  });

  it("a job submitted through the standby runs; the standby answers as the leader", async () => {
    const run = startProcess(["run", "-m", standbyRest.replace(/^http:\/\//, ""), WORDCOUNT, "-p", "1"], ENV);
    assert.equal(await run.exited, 0, run.err());
    // At p=1 the keyBy edge is chained: the one chain counts the 500 lines it reads.
    assert.match(run.out(), /^Job 'wordcount-fixture' finished in .*counts \(p=1\): 500 records/m);
    // The standby's answers are the leader's (the same job list), and its dashboard is served.
    const viaStandby = await (await fetch(`${standbyRest}/jobs/overview`, { headers: AUTH })).json();
    const viaLeader = await (await fetch(`${leaderRest}/jobs/overview`, { headers: AUTH })).json();
    assert.deepEqual(viaStandby, viaLeader);
    assert.equal((viaLeader as { jobs: unknown[] }).jobs.length, 1);
    assert.equal((await fetch(`${standbyRest}/`)).status, 200);
    // A request forwarded to a JobManager that does not lead is not forwarded again: 503, retry.
    const loop = await fetch(`${standbyRest}/jobs/overview`, {
      headers: { ...AUTH, [FORWARDED_HEADER]: "a test" },
    });
    assert.equal(loop.status, 503);
    assert.equal(loop.headers.get("retry-after"), "1");
    assert.match(((await loop.json()) as { errors: string[] }).errors[0]!, /no longer leads; retry/);
    // The standby checks the token itself: a request without it is not forwarded.
    assert.equal((await fetch(`${standbyRest}/jobs/overview`)).status, 401);
  });

  it("after the leader is killed, -m with both addresses still answers", async () => {
    const client = new ClusterClient(standbyRest, TOKEN);
    const job = await client.submit(UNBOUNDED, { parallelism: 2 }, { follow: false });
    client.close();
    const both = [leaderRest, standbyRest].map((u) => u.replace(/^http:\/\//, "")).join(",");
    await until("the job runs", async () => {
      const list = startProcess(["list", "-m", both], ENV);
      return (await list.exited) === 0 && list.out().includes(`${job.jobId} : observed (RUNNING)`)
        ? true
        : undefined;
    });
    // Prometheus: the leader exposes the job's metrics; a standby its own, without the leader's jobs
    // (a scraper of every JobManager must not count them twice).
    const scrape = async (url: string) => {
      const r = await fetch(`${url}/metrics`, { headers: AUTH });
      assert.equal(r.status, 200);
      return r.text();
    };
    assert.ok((await scrape(leaderRest)).includes(`job_id="${job.jobId}"`));
    assert.ok(!(await scrape(standbyRest)).includes(job.jobId));
    leader.child.kill("SIGKILL");
    await leader.exited;
    // The first address refuses; the second answers (503 while it takes over, retried by the client).
    const list = startProcess(["list", "-m", both], ENV);
    assert.equal(await list.exited, 0, list.err());
    // The standby leads now, and runs the job it took over from the job store.
    await until("the new leader lists the job it recovered", async () => {
      const again = startProcess(["list", "-m", both], ENV);
      return (await again.exited) === 0 && again.out().includes(`${job.jobId} : observed (RUNNING)`)
        ? true
        : undefined;
    });
    const cancel = startProcess(["cancel", "-m", both, job.jobId], ENV);
    assert.equal(await cancel.exited, 0, cancel.err());
  });
});

describe("a standby forwards over TLS", () => {
  it("checks the leader's certificate against the cluster CA", async () => {
    const certs = makeTestCertificates();
    try {
      const tls = tlsFlags(certs.cert, certs.key, certs.ca);
      const { standbyRest } = await leaderAndStandby(`ha-rest-tls-${process.pid}`, tls);
      assert.match(standbyRest, /^https:\/\//);
      const list = startProcess(
        ["list", "-m", standbyRest.replace(/^https:\/\//, ""), "--tls-ca", certs.ca],
        ENV,
      );
      assert.equal(await list.exited, 0, list.err());
      assert.match(list.out(), /^No jobs\.$/m);
    } finally {
      certs.remove();
    }
  });
});
