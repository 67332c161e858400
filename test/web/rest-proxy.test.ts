// Forwarding a REST request (what a standby JobManager does with each request it gets): method,
// path, query, headers and body reach the target, its status, headers and body come back; a target
// that cannot be reached gives 503 with Retry-After, and the forwarded request is marked.

import assert from "node:assert/strict";
import { type Server, createServer } from "node:http";
import { after, describe, it } from "node:test";
import { FORWARDED_HEADER, forwardRequest } from "../../src/web/rest-proxy.ts";
import { freePort } from "../fixtures/etcd-server.ts";

const servers: Server[] = [];

async function listen(s: Server): Promise<string> {
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", () => resolve()));
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
}

describe("forwarding REST requests", () => {
  after(() => {
    for (const s of servers) s.close();
  });

  it("passes the request and the answer through, marked as forwarded", async () => {
    const leader = await listen(
      createServer(async (req, res) => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        res.writeHead(201, { "content-type": "application/json", "x-leader": "yes" });
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            auth: req.headers.authorization,
            by: req.headers[FORWARDED_HEADER],
            body: Buffer.concat(chunks).toString(),
          }),
        );
      }),
    );
    const standby = await listen(
      createServer((req, res) => void forwardRequest(req, res, leader, "standby-1")),
    );
    const r = await fetch(`${standby}/jars/abc/run?x=1`, {
      method: "POST",
      headers: { authorization: "Bearer t" },
      body: JSON.stringify({ parallelism: 2 }),
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get("x-leader"), "yes");
    assert.deepEqual(await r.json(), {
      method: "POST",
      url: "/jars/abc/run?x=1",
      auth: "Bearer t",
      by: "standby-1",
      body: '{"parallelism":2}',
    });
  });

  it("a leader that cannot be reached: 503 with Retry-After", async () => {
    const gone = `http://127.0.0.1:${await freePort()}`;
    const standby = await listen(
      createServer((req, res) => void forwardRequest(req, res, gone, "standby-1")),
    );
    const r = await fetch(`${standby}/jobs/overview`);
    assert.equal(r.status, 503);
    assert.equal(r.headers.get("retry-after"), "1");
    assert.match(
      ((await r.json()) as { errors: string[] }).errors[0]!,
      /cannot be reached \(ECONNREFUSED\); retry/,
    );
  });
});
