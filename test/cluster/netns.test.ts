// The cluster across hosts: the JobManager, each TaskManager and the client on hosts of their own
// (Linux network namespaces joined by veth pairs and a bridge, made and removed by the test as
// root: test/cluster/netns-hosts.ts; loopback addresses where `ip netns` is unavailable, and the
// suite's name says which ran). Scenarios of issue #11: (1) word count across two TaskManagers
// equals a plain count; (2) an exactly-once job with kill -9 of one TaskManager mid-run: committed
// output identical to a failure-free run; (3) a TaskManager partitioned by taking its link down:
// lost by the heartbeat timeout, the job failed over to the other TaskManager, output exact;
// (5) a TaskManager and a client with a wrong token are refused. (4, the leader JobManager
// killed with a standby, is in the high-availability tests.)

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { ChaosParams } from "../checkpoint/fixtures/chaos-job.ts";
import { corpus, countWords } from "../fixtures/helpers.ts";
import {
  EVENTS,
  JOB as CHAOS_JOB,
  KEYS,
  checkpointCompleted,
  committed,
  expected,
  waitFor,
} from "./failover-job.ts";
import { NETNS_CLIENT, makeHosts } from "./netns-hosts.ts";
import { type Proc, waitForOutput } from "./process-cluster.ts";

const WORDCOUNT_JOB = fileURLToPath(new URL("../fixtures/wordcount-job.ts", import.meta.url));
const TOKEN = "netns-cluster-token";
const HEARTBEAT_TIMEOUT_MS = 2_000;

const hosts = makeHosts(["jm", "tm-0", "tm-1", "client"]);
const variant =
  hosts.kind === "loopback"
    ? `loopback addresses 127.0.0.x: ip netns is unavailable (${hosts.why}); a partition is a SIGSTOP there`
    : "one network namespace per host, 10.213.0.0/24 over veth pairs and a bridge";

interface HostsCluster {
  /** host:port of the JobManager's RPC. */
  address: string;
  jobManager: Proc;
  taskManagers: Proc[];
  stop(): Promise<void>;
}

/** A JobManager on host jm and a TaskManager on each of tm-0 and tm-1, with the token. */
async function startHostsCluster(slots: number, env: NodeJS.ProcessEnv): Promise<HostsCluster> {
  const procs: Proc[] = [];
  const stop = async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
  };
  const withToken = { ...env, WEIR_CLUSTER_TOKEN: TOKEN };
  try {
    const jm = hosts.weir(
      "jm",
      [
        "jobmanager",
        "--address",
        hosts.address("jm"),
        "--port",
        "0",
        "--rest-port",
        "0",
        "--heartbeat-interval",
        "200",
        "--heartbeat-timeout",
        String(HEARTBEAT_TIMEOUT_MS),
      ],
      withToken,
    );
    procs.push(jm);
    const listening = await waitForOutput(
      jm,
      /JobManager listening on [\d.]+:(\d+)/,
      "the JobManager's port",
      60_000,
    );
    const address = `${hosts.address("jm")}:${listening[1]}`;
    const taskManagers: Proc[] = [];
    for (const id of ["tm-0", "tm-1"]) {
      const tm = hosts.weir(
        id,
        ["taskmanager", "-m", address, "--address", hosts.address(id), "--slots", String(slots), "--id", id],
        withToken,
      );
      procs.push(tm);
      taskManagers.push(tm);
    }
    for (const tm of taskManagers)
      await waitForOutput(tm, /registered with/, "a TaskManager registered", 60_000);
    return { address, jobManager: jm, taskManagers, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

interface ClientEnd {
  status: string;
  restarts: number;
  error?: string;
  collected: Record<string, unknown[]>;
}

/** The client on its host: submitted, and the end it prints. */
function submitFromClientHost(
  address: string,
  job: string,
  parallelism: number,
  env: NodeJS.ProcessEnv,
): { proc: Proc; jobId: Promise<string>; end: Promise<ClientEnd> } {
  const proc = hosts.script("client", NETNS_CLIENT, [address, job, String(parallelism)], {
    ...env,
    WEIR_CLUSTER_TOKEN: TOKEN,
  });
  const jobId = waitForOutput(proc, /^submitted (\S+)$/m, "the job submitted", 120_000).then((m) => m[1]!);
  const end = proc.exited.then((code) => {
    const m = /^end (.+)$/m.exec(proc.out());
    if (code !== 0 || m === null) throw new Error(`the client failed (exit ${code}):\n${proc.err()}`);
    return JSON.parse(m[1]!) as ClientEnd;
  });
  return { proc, jobId, end };
}

function finalCounts(values: unknown[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values as Array<{ word: string; count: number }>) {
    m.set(v.word, Math.max(m.get(v.word) ?? 0, v.count));
  }
  return m;
}

describe(`a cluster across hosts (${variant})`, () => {
  after(() => hosts.remove());

  it("(1) counts words across two TaskManagers as a plain count; (5) refuses a wrong token", async () => {
    const words = 20_000;
    const env = { WEIR_TEST_WC_WORDS: String(words), WEIR_TEST_WC_VOCAB: "2000", WEIR_TEST_WC_SEED: "3" };
    const cluster = await startHostsCluster(1, env);
    try {
      const { end } = submitFromClientHost(cluster.address, WORDCOUNT_JOB, 2, env);
      const result = await end;
      assert.equal(result.status, "FINISHED", result.error);
      const values = result.collected.counts!;
      assert.equal(values.length, words, "one rolling update per word, no more, no less");
      assert.deepStrictEqual(finalCounts(values), countWords(corpus(words, 2000, 3)));
      assert.match(cluster.jobManager.err(), /deployment \d+ on (tm-0, tm-1|tm-1, tm-0)/);

      const intruder = hosts.weir(
        "client",
        ["taskmanager", "-m", cluster.address, "--address", hosts.address("client"), "--id", "tm-x"],
        { WEIR_CLUSTER_TOKEN: "not-the-token" },
      );
      assert.equal(await intruder.exited, 1, intruder.err());
      assert.match(
        intruder.err(),
        /^weir: TaskManager tm-x cannot join .*refused the connection: wrong cluster token/m,
      );
      const list = hosts.weir("client", ["list", "-m", cluster.address, "--token", "wrong-guess"], {});
      assert.equal(await list.exited, 1, list.err());
      assert.match(list.err(), /^weir: .*refused the connection: wrong cluster token/m);
      // On loopback a connection comes from 127.0.0.1, whatever address its host has.
      const from = hosts.kind === "loopback" ? "127.0.0.1" : hosts.address("client");
      assert.ok(
        cluster.jobManager.err().includes(`refused a connection from ${from}:`),
        `the refusal logged with the client's address ${from}:\n${cluster.jobManager.err()}`,
      );
      assert.match(cluster.jobManager.err(), /refused a connection from [\d.]+:\d+: wrong token/);
      for (const text of [intruder.err(), list.err(), cluster.jobManager.err()]) {
        for (const secret of [TOKEN, "not-the-token", "wrong-guess"])
          assert.ok(!text.includes(secret), `'${secret}' printed`);
      }
    } finally {
      await cluster.stop();
    }
  });

  for (const how of ["kill -9", "link down"] as const) {
    const title =
      how === "kill -9"
        ? "(2) kill -9 of a TaskManager mid-run: committed output identical to a failure-free run"
        : `(3) a TaskManager partitioned (${hosts.kind === "loopback" ? "SIGSTOP" : "its veth down"}): lost by the heartbeat timeout, failed over, output exact`;
    it(title, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), "weir-netns-"));
      const params: ChaosParams = {
        out: join(dir, "out"),
        checkpoints: join(dir, "checkpoints"),
        events: EVENTS,
        keys: KEYS,
        rate: 8_000,
      };
      const env = { WEIR_CHAOS_JOB: JSON.stringify(params) };
      const cluster = await startHostsCluster(2, env);
      try {
        const client = submitFromClientHost(cluster.address, CHAOS_JOB, 2, env);
        const jobId = await client.jobId;
        // Spread: one slot on each TaskManager, so the keyed exchange crosses hosts.
        await waitFor(
          () => /deployment 1 on (tm-0, tm-1|tm-1, tm-0)/.test(cluster.jobManager.err()),
          "deployment",
          60_000,
        );
        await waitFor(() => checkpointCompleted(params.checkpoints, jobId), "a completed checkpoint", 60_000);
        const victim = cluster.taskManagers[1]!;
        const cut = Date.now();
        if (how === "kill -9") victim.child.kill("SIGKILL");
        else hosts.partition("tm-1", [victim]);
        const result = await client.end;
        assert.equal(result.status, "FINISHED", result.error);
        assert.ok(result.restarts >= 1, "the job restarted");
        const log = cluster.jobManager.err();
        const lost = /(\S+) \S+ TaskManager tm-1 \(pid \d+ on .+\) lost: (.*)/.exec(log);
        assert.ok(lost !== null, `tm-1 lost:\n${log}`);
        if (how === "link down") {
          // No connection closes on a cut link: only the heartbeat timeout finds it.
          assert.match(lost[2]!, new RegExp(`no heartbeat for ${HEARTBEAT_TIMEOUT_MS} ms`));
          t.diagnostic(`tm-1 lost ${Date.parse(lost[1]!) - cut} ms after it was cut off`);
        } else assert.match(lost[2]!, /its connection closed|no heartbeat/);
        // The restart ran on the slots left: both on tm-0.
        assert.match(log, /deployment \d+ on tm-0\n/);
        assert.deepEqual(committed(params.out), expected());
      } finally {
        await cluster.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
