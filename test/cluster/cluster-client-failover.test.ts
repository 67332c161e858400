// The REST client with several JobManager addresses (`-m a,b`), against plain HTTP servers that
// play the JobManagers: an address that refuses the connection is skipped, a 503 with Retry-After
// (a standby while no JobManager leads) is asked again, and the one that answered is asked first
// next time. One address that refuses still fails at once, with the line that says so.

import assert from "node:assert/strict";
import { type Server, createServer } from "node:http";
import { after, describe, it } from "node:test";
import { ClusterClient } from "../../src/cluster/cluster-client.ts";
import { freePort } from "../fixtures/etcd-server.ts";

const servers: Server[] = [];

/** A server answering GET /jobs/overview with `answer(n)` for its n-th request (from 1). */
async function jobManager(answer: (n: number) => { status: number; retryAfter?: string }): Promise<{
  address: string;
  requests: () => number;
}> {
  let n = 0;
  const s = createServer((_req, res) => {
    const a = answer(++n);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (a.retryAfter !== undefined) headers["retry-after"] = a.retryAfter;
    res.writeHead(a.status, headers);
    res.end(
      JSON.stringify(
        a.status === 200
          ? { jobs: [{ jid: "j1", name: "job", state: "RUNNING", "start-time": 1 }] }
          : { errors: ["no leader; retry"] },
      ),
    );
  });
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", () => resolve()));
  return { address: `127.0.0.1:${(s.address() as { port: number }).port}`, requests: () => n };
}

describe("the REST client with several JobManagers", () => {
  after(() => {
    for (const s of servers) s.close();
  });

  it("skips a refusing address, retries a 503 after Retry-After, then sticks to the one that answered", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const standby = await jobManager((n) => (n <= 2 ? { status: 503, retryAfter: "0" } : { status: 200 }));
    const client = new ClusterClient(`${dead},${standby.address}`, "");
    const jobs = await client.list();
    assert.deepEqual(
      jobs.map((j) => [j.jobId, j.status]),
      [["j1", "RUNNING"]],
    );
    assert.equal(standby.requests(), 3, "two 503s, then the answer");
    await client.list();
    assert.equal(standby.requests(), 4);
    client.close();
  });

  it("one refusing address fails at once; several that all refuse name them all", async () => {
    const one = `127.0.0.1:${await freePort()}`;
    await assert.rejects(
      new ClusterClient(one, "").list(),
      /cannot reach the JobManager's REST API at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
    const two = `${one},127.0.0.1:${await freePort()}`;
    await assert.rejects(new ClusterClient(two, "").list(), (e: Error) =>
      e.message.includes(`at ${two} (ECONNREFUSED)`),
    );
  });

  it("following a job that failed more often than the JobManager keeps: each failure told once", async () => {
    // The JobManager keeps a job's last 100 failures; between two polls it dropped older ones.
    const failure = (attempt: number) => ({
      attempt,
      error: { name: "Error", message: `attempt ${attempt} failed` },
      restartDelayMs: 0,
    });
    const range = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => failure(from + i));
    const answers = [
      { status: { id: "IN_PROGRESS" }, "attempt-failures": range(0, 100), "attempt-failures-dropped": 0 },
      { status: { id: "IN_PROGRESS" }, "attempt-failures": range(30, 130), "attempt-failures-dropped": 30 },
      {
        status: { id: "COMPLETED" },
        "job-execution-result": { "application-status": "CANCELED", result: null, collected: null },
        "attempt-failures": range(40, 140),
        "attempt-failures-dropped": 40,
      },
    ];
    let n = 0;
    const s = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answers[Math.min(n++, answers.length - 1)]));
    });
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", () => resolve()));
    const client = new ClusterClient(`127.0.0.1:${(s.address() as { port: number }).port}`, "");
    const told: number[] = [];
    const follow = (
      client as unknown as {
        follow: (j: object, cb: (f: { attempt: number }) => void) => Promise<{ status: string }>;
      }
    ).follow.bind(client);
    const end = await follow({ jobId: "j1", jobName: "flaky" }, (f) => told.push(f.attempt));
    assert.equal(end.status, "CANCELED");
    assert.deepEqual(
      told,
      Array.from({ length: 140 }, (_, i) => i),
      "0..139, each once, in order",
    );
    client.close();
  });

  it("other errors are not retried elsewhere: a 500 is the answer", async () => {
    const broken = await jobManager(() => ({ status: 500 }));
    const other = await jobManager(() => ({ status: 200 }));
    await assert.rejects(
      new ClusterClient(`${broken.address},${other.address}`, "").list(),
      /answered GET \/jobs\/overview/,
    );
    assert.equal(other.requests(), 0);
  });
});
