// A NATS server that goes away under a running job (a private nats-server, killed and started
// again on the same port and store): the failed attempt's error names host and port (never the
// password), the restart strategy takes over until the server is back, and the job then goes on
// exactly once — the target stream holds each expected output once (JetStream → keyed totals →
// JetStream, fixtures/nats-totals-job.ts, on worker threads).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { submitJob } from "../../src/cluster/mini-cluster.ts";
import type { Click, TotalsParams } from "./fixtures/nats-totals-job.ts";
import { privateNats, waitFor } from "./nats-server.ts";

const JOB = fileURLToPath(new URL("./fixtures/nats-totals-job.ts", import.meta.url));
const USERS = 6;

/** Run `body` on a fresh connection (the server restarts during the test). */
async function withConnection<R>(servers: string, body: (nc: NatsConnection) => Promise<R>): Promise<R> {
  const nc = await connect({ servers, reconnect: false });
  try {
    return await body(nc);
  } finally {
    await nc.close();
  }
}

async function publishClicks(servers: string, stream: string, clicks: Click[]): Promise<void> {
  await withConnection(servers, async (nc) => {
    const js = jetstream(nc);
    for (const c of clicks) await js.publish(`${stream}.p${Number(c.user.slice(1)) % 3}`, JSON.stringify(c));
  });
}

async function content(servers: string, stream: string): Promise<string[]> {
  return withConnection(servers, async (nc) => {
    const jsm = await jetstreamManager(nc);
    if ((await jsm.streams.info(stream)).state.messages === 0) return [];
    const c = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    const out: string[] = [];
    const it = await c.consume();
    for await (const m of it) {
      out.push(m.string());
      if (m.info.pending === 0) break;
    }
    it.stop();
    return out.sort();
  });
}

async function messageCount(servers: string, stream: string): Promise<number> {
  try {
    return await withConnection(
      servers,
      async (nc) => (await (await jetstreamManager(nc)).streams.info(stream)).state.messages,
    );
  } catch {
    return -1; // the server is down
  }
}

/** What the totals job emits for these clicks (each user's clicks are on one subject: in order). */
function expectedTotals(clicks: Click[]): string[] {
  const acc = new Map<string, { count: number; total: number }>();
  return clicks
    .map((c) => {
      const a = acc.get(c.user) ?? { count: 0, total: 0 };
      a.count++;
      a.total += c.value;
      acc.set(c.user, a);
      return JSON.stringify({ user: c.user, count: a.count, total: a.total, last: c.i });
    })
    .sort();
}

describe("a NATS server that goes away (worker threads)", () => {
  it("names host and port, restarts until the server is back, and goes on exactly once", async () => {
    const server = await privateNats();
    const dir = mkdtempSync(join(tmpdir(), "weir-nats-faults-"));
    const clicks: Click[] = Array.from({ length: 400 }, (_, i) => ({
      user: `u${(i * 7) % USERS}`,
      i,
      value: (i * 13) % 50,
    }));
    try {
      await withConnection(server.servers, async (nc) => {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: "faults_src", subjects: ["faults_src.>"] });
        await jsm.streams.add({ name: "faults_out", subjects: ["faults_out.>"] });
      });
      await publishClicks(server.servers, "faults_src", clicks.slice(0, 300));
      const params: TotalsParams = {
        // The password must never show in an error (this server has no auth: it ignores it).
        servers: `nats://weir:s3cret@${server.servers}`,
        source: "faults_src",
        target: "faults_out",
        checkpoints: join(dir, "cp"),
        bounded: false,
        spinMicros: 0,
        restarts: 200,
        reconnectAttempts: 2,
      };
      process.env.WEIR_NATS_JOB = JSON.stringify(params);
      const failures: Error[] = [];
      const client = await submitJob({
        job: JOB,
        parallelism: 2,
        onAttemptFailed: (f) => failures.push(f.error as Error),
      });
      try {
        await waitFor(
          async () => (await messageCount(server.servers, "faults_out")) >= 300,
          "the first 300 outputs",
        );
        await server.kill();
        await waitFor(() => failures.length > 0, "a failed attempt after the server went away");
        await server.start();
        await publishClicks(server.servers, "faults_src", clicks.slice(300));
        await waitFor(
          async () => (await messageCount(server.servers, "faults_out")) >= clicks.length,
          "all 400 outputs after the server came back",
          60_000,
        );
        assert.equal(client.getStatus(), "RUNNING");
      } finally {
        await client.cancel();
      }
      const first = String(failures[0]);
      console.log(`# ${failures.length} failed attempts; the first: ${first.slice(0, 400)}`);
      assert.match(first, new RegExp(`NATS at ${server.servers.replace(/\./g, "\\.")}`), first);
      assert.match(first, /lost the connection|cannot connect|publishing/, first);
      assert.doesNotMatch(failures.map(String).join("\n"), /s3cret/);
      assert.deepEqual(await content(server.servers, "faults_out"), expectedTotals(clicks));
    } finally {
      await server.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
