// The REST API's mutating endpoints against real running jobs: a savepoint (POST, then polling its
// trigger id) that leaves the job running, stop-with-savepoint, cancel, Flink's response shapes
// and errors (409 for a job that is not running, 404 for an unknown trigger, 400 for a bad body),
// a failed savepoint's failure cause, and the token on a non-loopback bind (401 without it).
// Connections are loopback only, also to the server bound to 0.0.0.0.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  JobCancelledError,
  type ManagedJobClient,
  StreamExecutionEnvironment,
  Types,
} from "../../src/index.ts";
import { type RestServer, startRestServer } from "../../src/web/rest-server.ts";

const DEADLINE_MS = 60_000;

async function startJob(name: string, checkpointDir: string | undefined): Promise<ManagedJobClient> {
  const env = new StreamExecutionEnvironment({ parallelism: 2, checkpointDirectory: checkpointDir });
  if (checkpointDir !== undefined) env.enableCheckpointing(50);
  env
    .fromGenerator((i) => i, { type: Types.INT })
    .keyBy((i) => i % 10)
    .reduce((a, b) => Math.max(a, b))
    .collect("max");
  return env.executeAsync(name);
}

async function request(
  server: RestServer,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any }> {
  const res = await fetch(server.url.replace("0.0.0.0", "127.0.0.1") + path, { method, body, headers });
  const text = await res.text();
  return { status: res.status, json: text.length === 0 ? undefined : JSON.parse(text) };
}

/** Poll a savepoint's status until it is COMPLETED; returns its `operation`. */
async function untilCompleted(server: RestServer, jobId: string, triggerId: string): Promise<any> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const r = await request(server, "GET", `/jobs/${jobId}/savepoints/${triggerId}`);
    assert.equal(r.status, 200);
    if (r.json.status.id === "COMPLETED") return r.json.operation;
    assert.equal(r.json.status.id, "IN_PROGRESS");
    assert.equal(r.json.operation, null);
    if (Date.now() > deadline) throw new Error(`savepoint ${triggerId} still in progress`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("REST API: cancel, savepoints, stop", () => {
  const dir = mkdtempSync(join(tmpdir(), "weir-rest-ops-"));
  const clients: ManagedJobClient[] = [];
  let server: RestServer;

  before(async () => {
    server = await startRestServer({
      port: 0,
      jobs: () => clients.map((c) => c.metrics),
      control: (id) => clients.find((c) => c.jobId === id),
    });
  });

  after(async () => {
    for (const c of clients) await c.cancel();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("POST /savepoints: 202 with a request id, then COMPLETED with its location; the job runs on", async () => {
    const job = await startJob("rest-savepoint", join(dir, "chk-a"));
    clients.push(job);
    const target = join(dir, "savepoints-a");
    const r = await request(
      server,
      "POST",
      `/jobs/${job.jobId}/savepoints`,
      JSON.stringify({ "target-directory": target, "cancel-job": false }),
    );
    assert.equal(r.status, 202);
    assert.match(r.json["request-id"], /^[0-9a-f]{32}$/);
    const op = await untilCompleted(server, job.jobId, r.json["request-id"]);
    assert.equal(typeof op.location, "string", JSON.stringify(op));
    assert.ok(op.location.startsWith(target), op.location);
    assert.ok(existsSync(join(op.location, "_metadata")), "the savepoint's _metadata is written");
    assert.equal(job.getStatus(), "RUNNING");
    // A trigger id of the caller's choosing, used once.
    const again = JSON.stringify({ "target-directory": target, triggerId: "mine" });
    assert.equal((await request(server, "POST", `/jobs/${job.jobId}/savepoints`, again)).status, 202);
    assert.equal((await request(server, "POST", `/jobs/${job.jobId}/savepoints`, again)).status, 409);
    assert.ok((await untilCompleted(server, job.jobId, "mine")).location.startsWith(target));
  });

  it("POST /stop: a savepoint, then the job ends CANCELED", async () => {
    const job = await startJob("rest-stop", join(dir, "chk-b"));
    clients.push(job);
    const target = join(dir, "savepoints-b");
    const r = await request(
      server,
      "POST",
      `/jobs/${job.jobId}/stop`,
      JSON.stringify({ targetDirectory: target, drain: false }),
    );
    assert.equal(r.status, 202);
    const op = await untilCompleted(server, job.jobId, r.json["request-id"]);
    assert.ok(existsSync(join(op.location, "_metadata")), JSON.stringify(op));
    await assert.rejects(job.wait(), JobCancelledError);
    const details = await request(server, "GET", `/jobs/${job.jobId}`);
    assert.equal(details.json.state, "CANCELED");
    // Not running any more: Flink's 409.
    const late = await request(server, "POST", `/jobs/${job.jobId}/savepoints`, "{}");
    assert.equal(late.status, 409);
    assert.match(late.json.errors[0], /CANCELED/);
  });

  it("PATCH ?mode=cancel: 202, the job ends CANCELED; a second cancel is 409", async () => {
    const job = await startJob("rest-cancel", undefined);
    clients.push(job);
    const r = await request(server, "PATCH", `/jobs/${job.jobId}?mode=cancel`);
    assert.equal(r.status, 202);
    assert.deepEqual(r.json, {});
    await assert.rejects(job.wait(), JobCancelledError);
    assert.equal((await request(server, "GET", `/jobs/${job.jobId}`)).json.state, "CANCELED");
    assert.equal((await request(server, "PATCH", `/jobs/${job.jobId}?mode=cancel`)).status, 409);
  });

  it("a savepoint that cannot be taken is COMPLETED with its failure cause", async () => {
    const job = await startJob("rest-no-checkpoints", undefined);
    clients.push(job);
    const r = await request(server, "POST", `/jobs/${job.jobId}/savepoints`, "");
    assert.equal(r.status, 202);
    const op = await untilCompleted(server, job.jobId, r.json["request-id"]);
    assert.equal(op.location, undefined);
    assert.match(op["failure-cause"]["stack-trace"], /does not checkpoint/);
    assert.equal(op["failure-cause"].class, "InvalidArgumentError");
    assert.equal(job.getStatus(), "RUNNING");
  });

  it("bad requests: unknown job or trigger 404, bad body or mode 400, other methods 405", async () => {
    const job = clients[clients.length - 1]!;
    assert.equal((await request(server, "PATCH", "/jobs/nope?mode=cancel")).status, 404);
    const unknown = await request(server, "GET", `/jobs/${job.jobId}/savepoints/feed`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.errors[0], /triggerId=feed/);
    const notJson = await request(server, "POST", `/jobs/${job.jobId}/savepoints`, "{nope");
    assert.equal(notJson.status, 400);
    assert.match(notJson.json.errors[0], /not valid JSON/);
    const badField = await request(server, "POST", `/jobs/${job.jobId}/savepoints`, '{"cancel-job": "yes"}');
    assert.equal(badField.status, 400);
    assert.equal((await request(server, "POST", `/jobs/${job.jobId}/stop`, '{"drain": true}')).status, 400);
    assert.equal((await request(server, "PATCH", `/jobs/${job.jobId}?mode=stop`)).status, 400);
    assert.equal((await request(server, "DELETE", `/jobs/${job.jobId}`)).status, 405);
    assert.equal(job.getStatus(), "RUNNING");
  });
});

describe("REST API on a non-loopback address", () => {
  it("a cancel without the token gets 401 and leaves the job running; with it, 202", async () => {
    const job = await startJob("rest-token", undefined);
    const server = await startRestServer({
      port: 0,
      address: "0.0.0.0",
      token: "s3cret-token",
      jobs: () => [job.metrics],
      control: (id) => (id === job.jobId ? job : undefined),
    });
    try {
      const path = `/jobs/${job.jobId}?mode=cancel`;
      const none = await request(server, "PATCH", path);
      assert.equal(none.status, 401);
      assert.doesNotMatch(JSON.stringify(none.json), /s3cret/);
      const wrong = await request(server, "PATCH", path, undefined, { authorization: "Bearer s3cret-tokem" });
      assert.equal(wrong.status, 401);
      const stop = await request(server, "POST", `/jobs/${job.jobId}/stop`, "{}");
      assert.equal(stop.status, 401);
      assert.equal(job.getStatus(), "RUNNING");
      const ok = await request(server, "PATCH", path, undefined, { authorization: "Bearer s3cret-token" });
      assert.equal(ok.status, 202);
      await assert.rejects(job.wait(), JobCancelledError);
    } finally {
      await job.cancel();
      await server.close();
    }
  });
});
