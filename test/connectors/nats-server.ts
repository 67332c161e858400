// The NATS JetStream server of the nats-*.test.ts files: the machine's server on 127.0.0.1:4222
// (WEIR_NATS_SERVER overrides), or, when it is not reachable, a private `nats-server -js` on a free
// port in a temp directory. Without either the tests fail loudly (never skip). Also: unique stream
// names, streams deleted after the test, publishing, and reading a stream's whole content.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeliverPolicy, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export interface NatsTestServer {
  servers: string;
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** A fresh stream `<prefix>_<random>` capturing `<name>.>`; deleted by stop(). */
  createStream(prefix: string, options?: { duplicateWindowMs?: number }): Promise<string>;
  publish(subject: string, data: string): Promise<number>;
  /** Every message of the stream, in sequence order. */
  readStream(stream: string): Promise<StoredMessage[]>;
  stop(): Promise<void>;
}

export interface StoredMessage {
  seq: number;
  subject: string;
  data: string;
  timestamp: number;
}

async function tryConnect(servers: string): Promise<NatsConnection | undefined> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers, reconnect: false, timeout: 2000 });
    await (await jetstreamManager(nc)).getAccountInfo();
    return nc;
  } catch {
    // Connected but JetStream did not answer (e.g. a blocked event loop): an open connection
    // would keep the test process alive after its tests ended.
    await nc?.close().catch(() => undefined);
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Reachable server, or a private one started now. */
export async function startNats(): Promise<NatsTestServer> {
  let servers = process.env.WEIR_NATS_SERVER ?? "127.0.0.1:4222";
  let nc = await tryConnect(servers);
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  if (nc === undefined) {
    if (spawnSync("nats-server", ["--version"]).status !== 0) {
      throw new Error(
        `NATS with JetStream is not reachable at ${servers} and there is no nats-server binary to start one; install nats-server (apt-get install nats-server) or set WEIR_NATS_SERVER`,
      );
    }
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), "weir-nats-"));
    child = spawn("nats-server", ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir], {
      stdio: "ignore",
    });
    servers = `127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    while (nc === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      nc = await tryConnect(servers);
    }
    if (nc === undefined) {
      child.kill();
      throw new Error(
        `started nats-server -js on ${servers} but it did not accept JetStream requests in 20 s`,
      );
    }
  }
  const conn = nc;
  const jsm = await jetstreamManager(conn);
  const js = jetstream(conn);
  const streams: string[] = [];
  return {
    servers,
    nc: conn,
    jsm,
    async createStream(prefix, options = {}) {
      const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
      await jsm.streams.add({
        name,
        subjects: [`${name}.>`],
        duplicate_window: (options.duplicateWindowMs ?? 120_000) * 1_000_000,
      });
      streams.push(name);
      return name;
    },
    async publish(subject, data) {
      return (await js.publish(subject, data)).seq;
    },
    async readStream(stream) {
      const info = await jsm.streams.info(stream);
      const out: StoredMessage[] = [];
      if (info.state.messages === 0) return out;
      const c = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
      const it = await c.consume({ max_messages: 512 });
      for await (const m of it) {
        out.push({
          seq: m.seq,
          subject: m.subject,
          data: m.string(),
          timestamp: Number(m.timestampNanos / 1_000_000n),
        });
        if (m.info.pending === 0) break;
      }
      it.stop();
      return out;
    },
    async stop() {
      for (const s of streams) await jsm.streams.delete(s).catch(() => {});
      await conn.close();
      child?.kill();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A private nats-server (the faults tests kill it and start it again on the same port and store). */
export interface PrivateNatsServer {
  servers: string;
  /** Start (again) and wait until it accepts JetStream requests. */
  start(): Promise<void>;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** Kill it and remove its store. */
  dispose(): Promise<void>;
}

export async function privateNats(): Promise<PrivateNatsServer> {
  if (spawnSync("nats-server", ["--version"]).status !== 0) {
    throw new Error(
      "this test needs the nats-server binary (apt-get install nats-server) to start and stop a server",
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "weir-nats-private-"));
  const servers = `127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const server: PrivateNatsServer = {
    servers,
    async start() {
      child = spawn("nats-server", ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir], {
        stdio: "ignore",
      });
      await waitFor(
        async () => {
          const nc = await tryConnect(servers);
          await nc?.close();
          return nc !== undefined;
        },
        `nats-server on ${servers}`,
        20_000,
      );
    },
    async kill() {
      const c = child;
      child = undefined;
      if (c === undefined || c.exitCode !== null) return;
      const gone = new Promise((resolve) => c.once("exit", resolve));
      c.kill("SIGKILL");
      await gone;
    },
    async dispose() {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** Wait for `cond` with a generous deadline (no decision by timing). */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 30_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
