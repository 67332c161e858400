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
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { corpus, countWords, finalWordCounts } from "../fixtures/helpers.ts";
import {
  JOB as CHAOS_JOB,
  checkpointCompleted,
  committed,
  expected,
  failoverParams,
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
  /** Its REST address, host:port: what clients' -m names. */
  rest: string;
  jobManager: Proc;
  /** Start a TaskManager `id` of 2 slots on `host`; resolves once it has registered. */
  addTaskManager(host: string, id: string): Promise<Proc>;
  stop(): Promise<void>;
}

/** A JobManager on host jm, with the token, and no TaskManager yet. */
async function startJobManager(env: NodeJS.ProcessEnv): Promise<HostsCluster> {
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
        // Each job on both TaskManagers, so that losing one hits it (the default packs).
        "--slot-placement",
        "spread",
      ],
      withToken,
    );
    procs.push(jm);
    const listening = await waitForOutput(
      jm,
      /JobManager listening on [\d.]+:(\d+); REST API at https?:\/\/(\S+)/,
      "the JobManager's port",
      60_000,
    );
    const address = `${hosts.address("jm")}:${listening[1]}`;
    const rest = listening[2]!;
    const addTaskManager = async (host: string, id: string) => {
      const tm = hosts.weir(
        host,
        ["taskmanager", "-m", address, "--address", hosts.address(host), "--slots", "2", "--id", id],
        withToken,
      );
      procs.push(tm);
      await waitForOutput(tm, /registered with/, `TaskManager ${id} registered`, 60_000);
      return tm;
    };
    return { address, rest, jobManager: jm, addTaskManager, stop };
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

// One cluster for the file (process starts are the slow part): a JobManager and two TaskManagers
// of 2 slots, which a job at parallelism 2 is spread over (one slot on each). Scenario 2 kills
// the one on host tm-1; a new one (tm-2) starts there for scenario 3, which cuts it off.
const WORDS = 20_000;
const dir = mkdtempSync(join(tmpdir(), "weir-netns-"));
const params = failoverParams(dir);
const ENV = {
  WEIR_TEST_WC_WORDS: String(WORDS),
  WEIR_TEST_WC_VOCAB: "2000",
  WEIR_TEST_WC_SEED: "3",
  WEIR_CHAOS_JOB: JSON.stringify(params),
};

describe(`a cluster across hosts (${variant})`, () => {
  let cluster: HostsCluster;
  const taskManagers = new Map<string, Proc>();
  before(async () => {
    cluster = await startJobManager(ENV);
    taskManagers.set("tm-0", await cluster.addTaskManager("tm-0", "tm-0"));
    taskManagers.set("tm-1", await cluster.addTaskManager("tm-1", "tm-1"));
  });
  after(async () => {
    await cluster?.stop();
    hosts.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("(1) counts words across two TaskManagers as a plain count; (5) refuses a wrong token", async () => {
    const { end } = submitFromClientHost(cluster.rest, WORDCOUNT_JOB, 2, ENV);
    const result = await end;
    assert.equal(result.status, "FINISHED", result.error);
    const values = result.collected.counts!;
    assert.equal(values.length, WORDS, "one rolling update per word, no more, no less");
    assert.deepStrictEqual(finalWordCounts(values), countWords(corpus(WORDS, 2000, 3)));
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
    const list = hosts.weir("client", ["list", "-m", cluster.rest, "--token", "wrong-guess"], {});
    assert.equal(await list.exited, 1, list.err());
    assert.match(list.err(), /^weir: .*refused the request: wrong or missing cluster token/m);
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
  });

  for (const how of ["kill -9", "partition"] as const) {
    const victimId = how === "kill -9" ? "tm-1" : "tm-2";
    const title =
      how === "kill -9"
        ? "(2) kill -9 of a TaskManager mid-run: committed output identical to a failure-free run"
        : `(3) a TaskManager partitioned (${hosts.kind === "loopback" ? "SIGSTOP" : "its veth down"}): lost by the heartbeat timeout, failed over, output exact`;
    it(title, async (t) => {
      if (how === "partition") taskManagers.set("tm-2", await cluster.addTaskManager("tm-1", "tm-2"));
      // Each run commits into an empty directory.
      rmSync(params.out, { recursive: true, force: true });
      const logFrom = cluster.jobManager.err().length;
      const log = () => cluster.jobManager.err().slice(logFrom);
      const client = submitFromClientHost(cluster.rest, CHAOS_JOB, 2, ENV);
      const jobId = await client.jobId;
      // Spread: one slot on each TaskManager, so the keyed exchange crosses hosts.
      const first = new RegExp(`job ${jobId}: deployment \\d+ on ([^\n]+)`);
      await waitFor(() => first.test(log()), "the job deployed", 60_000);
      assert.deepEqual(first.exec(log())![1]!.split(", ").sort(), ["tm-0", victimId]);
      await waitFor(() => checkpointCompleted(params.checkpoints, jobId), "a completed checkpoint", 60_000);
      const victim = taskManagers.get(victimId)!;
      const cut = Date.now();
      if (how === "kill -9") victim.child.kill("SIGKILL");
      else hosts.partition("tm-1", [victim]);
      const result = await client.end;
      assert.equal(result.status, "FINISHED", result.error);
      assert.ok(result.restarts >= 1, "the job restarted");
      const lost = new RegExp(`(\\S+) \\S+ TaskManager ${victimId} \\(pid \\d+ on .+\\) lost: (.*)`).exec(
        log(),
      );
      assert.ok(lost !== null, `${victimId} lost:\n${log()}`);
      if (how === "partition") {
        // No connection closes on a cut link: only the heartbeat timeout finds it.
        assert.match(lost[2]!, new RegExp(`no heartbeat for ${HEARTBEAT_TIMEOUT_MS} ms`));
        t.diagnostic(`${victimId} lost ${Date.parse(lost[1]!) - cut} ms after it was cut off`);
      } else assert.match(lost[2]!, /its connection closed|no heartbeat/);
      // The restart ran on the slots left: both on tm-0.
      assert.match(log(), new RegExp(`job ${jobId}: deployment \\d+ on tm-0\n`));
      assert.deepEqual(committed(params.out), expected());
    });
  }
});
