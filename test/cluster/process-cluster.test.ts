// The cluster as separate processes on loopback: a JobManager and two TaskManagers of one slot
// each, so that a job at parallelism 2 runs across both and its keyed exchange crosses TCP.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ClusterClient } from "../../src/cluster/cluster-client.ts";
import { corpus, countWords } from "../fixtures/helpers.ts";
import { type TestCluster, startCluster, startProcess } from "./process-cluster.ts";

const JOB = fileURLToPath(new URL("../fixtures/wordcount-job.ts", import.meta.url));
const PRINT_JOB = fileURLToPath(new URL("../cli/fixtures/print-many.ts", import.meta.url));

/** Heartbeats carry the TaskManager's memory: GET /taskmanagers/:id shows it once one came. */
async function waitForHeartbeatMetrics(get: (path: string) => Promise<Response>): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    const tm = (await (await get("/taskmanagers/tm-0")).json()) as {
      metrics?: { heapUsed: number; rss: number };
    };
    if (tm.metrics !== undefined) {
      assert.ok(tm.metrics.heapUsed > 0 && tm.metrics.rss > 0, JSON.stringify(tm.metrics));
      return;
    }
    if (Date.now() > until) throw new Error("no heartbeat metrics in GET /taskmanagers/tm-0");
    await new Promise((r) => setTimeout(r, 100));
  }
}
const WORDS = 60_000;
const ENV = { WEIR_TEST_WC_WORDS: String(WORDS), WEIR_TEST_WC_VOCAB: "3000", WEIR_TEST_WC_SEED: "11" };

function finalCounts(values: unknown[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values as Array<{ word: string; count: number }>) {
    m.set(v.word, Math.max(m.get(v.word) ?? 0, v.count));
  }
  return m;
}

describe("a JobManager and two TaskManagers as processes", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ taskManagers: 2, slots: 1, env: ENV });
  });
  after(async () => {
    await cluster?.stop();
  });

  it("counts words across two TaskManagers exactly as a plain count", async () => {
    const client = new ClusterClient(cluster.address, "");
    try {
      const tms = await client.taskManagers();
      assert.deepEqual(tms.map((t) => t.id).sort(), ["tm-0", "tm-1"]);
      const job = await client.submit(JOB, { parallelism: 2 }, { follow: true });
      assert.equal(job.slots, 2);
      const end = await job.ended;
      assert.equal(end.status, "FINISHED", String(end.error));
      const values = end.result!.collected!.get("counts")!;
      assert.equal(values.length, WORDS, "one rolling update per word, no more, no less");
      assert.deepStrictEqual(finalCounts(values), countWords(corpus(WORDS, 3000, 11)));
      // Both TaskManagers ran a slot of it: each job slot went to another one.
      assert.match(cluster.jobManager.err(), /deployment \d+ on (tm-0, tm-1|tm-1, tm-0)/);
    } finally {
      client.close();
    }
  });

  it("serves /taskmanagers and the jobs over REST; print() output lands in the TaskManagers' stdout", async () => {
    const get = async (path: string) => {
      const r = await fetch(`${cluster.restUrl}${path}`);
      assert.equal(r.status, 200, `GET ${path}`);
      return r;
    };
    const { taskmanagers } = (await (await get("/taskmanagers")).json()) as {
      taskmanagers: Array<{ id: string; slotsNumber: number; freeSlots: number }>;
    };
    assert.deepEqual(taskmanagers.map((t) => [t.id, t.slotsNumber, t.freeSlots]).sort(), [
      ["tm-0", 1, 1],
      ["tm-1", 1, 1],
    ]);
    await waitForHeartbeatMetrics(get);
    const jobs = (await (await get("/jobs")).json()) as { jobs: Array<{ jid: string; state: string }> };
    assert.ok(jobs.jobs.length >= 1 && jobs.jobs.every((j) => j.state === "FINISHED"), JSON.stringify(jobs));
    assert.equal((await fetch(`${cluster.restUrl}/taskmanagers/tm-9`)).status, 404);
    // The web dashboard is served by the JobManager too.
    const page = await fetch(`${cluster.restUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(await page.text(), /<script[^>]+src="[^"]*assets\//);

    // A job importing "weir-stream" (bundled with Weir left outside), with job arguments.
    const run = startProcess(
      ["run", "-m", cluster.address, PRINT_JOB, "-p", "2", "--", "--count", "500"],
      {},
    );
    assert.equal(await run.exited, 0, run.err());
    // Splits go to whichever reader asks first: a fast subtask may print them all, so only the
    // union over both TaskManagers is fixed.
    const printed: number[] = [];
    for (const id of ["tm-0", "tm-1"]) {
      const text = await (await get(`/taskmanagers/${id}/stdout`)).text();
      printed.push(...[...text.matchAll(/^\d+> (\d+)$/gm)].map((m) => Number(m[1])));
    }
    assert.deepEqual(
      printed.sort((a, b) => a - b),
      Array.from({ length: 500 }, (_, i) => i + 1),
    );
    assert.match(await (await get("/taskmanagers/tm-1/logs")).text(), /INFO registered with the JobManager/);
  });

  it("weir run -m prints the summary of a local run; weir list -m shows the jobs", async () => {
    const run = startProcess(["run", "-m", cluster.address, JOB, "-p", "2"], ENV);
    assert.equal(await run.exited, 0, run.err());
    assert.match(
      run.out(),
      /^Job 'wordcount-fixture' finished in [\d.]+s · .*tokenize \(p=2\): .*counts \(p=2\): 60,000 records/m,
    );
    const list = startProcess(["list", "-m", cluster.address], {});
    assert.equal(await list.exited, 0, list.err());
    assert.equal(list.out().match(/wordcount-fixture \(FINISHED\)/g)?.length, 2, list.out());
  });
});

describe("the cluster token", () => {
  const TOKEN = "s3cret-cluster-token";
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ taskManagers: 1, slots: 1, token: TOKEN, env: ENV });
  });
  after(async () => {
    await cluster?.stop();
  });

  it("refuses a TaskManager and a client with a wrong token, and never prints a token", async () => {
    const logDir = mkdtempSync(join(tmpdir(), "weir-tm-log-"));
    const logFile = join(logDir, "tm.log");
    const tm = startProcess(
      [
        "taskmanager",
        "-m",
        `127.0.0.1:${cluster.port}`,
        "--slots",
        "1",
        "--log-file",
        logFile,
        "--log-level",
        "warn",
      ],
      { WEIR_CLUSTER_TOKEN: "not-the-token" },
    );
    assert.equal(await tm.exited, 1, tm.err());
    assert.match(tm.err(), /refused/);
    // Its log file: JSON lines (pino) at warn and above only, without the token.
    const entries = readFileSync(logFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { level: string; msg: string; pid: number });
    rmSync(logDir, { recursive: true, force: true });
    assert.ok(
      entries.length > 0 && entries.every((e) => e.level === "WARN" || e.level === "ERROR"),
      JSON.stringify(entries),
    );
    assert.match(entries[0]!.msg, /refused the connection: wrong cluster token/);
    assert.equal(entries[0]!.pid, tm.child.pid);
    assert.ok(!JSON.stringify(entries).includes("not-the-token"));
    const list = startProcess(["list", "-m", cluster.address, "--token", "wrong-guess"], {});
    assert.equal(await list.exited, 1);
    assert.match(
      list.err(),
      /^weir: the JobManager at \S+ refused the request: wrong or missing cluster token/m,
    );
    // The REST API wants it too, from loopback as from anywhere: reading, uploading, running.
    assert.equal((await fetch(`${cluster.restUrl}/jobs/overview`)).status, 401);
    const upload = await fetch(`${cluster.restUrl}/jars/upload?name=x.mjs`, {
      method: "POST",
      body: "export {}",
    });
    assert.equal(upload.status, 401);
    const wrong = { authorization: "Bearer wrong-guess" };
    assert.equal(
      (await fetch(`${cluster.restUrl}/jars/abc/run`, { method: "POST", headers: wrong })).status,
      401,
    );
    // The right token works.
    const ok = startProcess(["list", "-m", cluster.address], { WEIR_CLUSTER_TOKEN: TOKEN });
    assert.equal(await ok.exited, 0, ok.err());
    const client = new ClusterClient(cluster.address, TOKEN);
    assert.equal((await client.taskManagers()).length, 1, "the refused TaskManager did not register");
    client.close();
    for (const text of [tm.out(), tm.err(), list.err(), cluster.jobManager.err(), cluster.jobManager.out()]) {
      for (const secret of [TOKEN, "not-the-token", "wrong-guess"])
        assert.ok(!text.includes(secret), `'${secret}' printed`);
    }
    assert.match(cluster.jobManager.err(), /refused a connection from 127\.0\.0\.1:\d+: wrong token/);
  });

  it("-m naming the RPC port (an old-style address) is one clear line", async () => {
    const old = startProcess(["list", "-m", `127.0.0.1:${cluster.port}`], { WEIR_CLUSTER_TOKEN: TOKEN });
    assert.equal(await old.exited, 1);
    assert.match(
      old.err(),
      /^weir: cannot connect to 127\.0\.0\.1:\d+: it did not answer over HTTP \(.*\); -m is the JobManager's REST address \(its --rest-port, default 8081\), not its RPC port \(6123\)\. If the cluster uses TLS, pass --tls-ca\n$/,
    );
  });

  it("a JobManager refuses to listen beyond loopback without a token", async () => {
    const jm = startProcess(["jobmanager", "--address", "0.0.0.0", "--port", "0"], {
      WEIR_CLUSTER_TOKEN: "",
    });
    assert.equal(await jm.exited, 2);
    assert.match(jm.err(), /without a cluster token; pass --token/);
  });
});
