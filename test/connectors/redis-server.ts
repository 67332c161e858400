// The Redis server of the redis-*.test.ts files: the machine's server on 127.0.0.1:6379
// (WEIR_REDIS_URL overrides), or, when it is not reachable, a private `redis-server` on a free port
// in a temp directory. Without either the tests fail loudly (never skip). Also: unique key
// prefixes per test, their keys deleted by stop(), and reading a stream's whole content.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";

function newClient(url: string) {
  return createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 2000 } });
}

export type TestRedisClient = ReturnType<typeof newClient>;

export interface RedisTestServer {
  url: string;
  port: number;
  client: TestRedisClient;
  /** A fresh key prefix "weir-test:<name>:<random>:"; its keys are deleted by stop(). */
  prefix(name: string): string;
  /** Every entry of a stream, in ID order. */
  readStream(key: string): Promise<Array<{ id: string; fields: Record<string, string> }>>;
  stop(): Promise<void>;
}

async function tryConnect(url: string): Promise<TestRedisClient | undefined> {
  const c = newClient(url);
  c.on("error", () => {});
  try {
    await c.connect();
    await c.ping();
    return c;
  } catch {
    c.destroy();
    return undefined;
  }
}

export function freePort(): Promise<number> {
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
export async function startRedis(): Promise<RedisTestServer> {
  let url = process.env.WEIR_REDIS_URL ?? "redis://127.0.0.1:6379";
  let client = await tryConnect(url);
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  if (client === undefined) {
    if (spawnSync("redis-server", ["--version"]).status !== 0) {
      throw new Error(
        `Redis is not reachable at ${url} and there is no redis-server binary to start one; install it (apt-get install redis-server) or set WEIR_REDIS_URL`,
      );
    }
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), "weir-redis-"));
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    url = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    while (client === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      client = await tryConnect(url);
    }
    if (client === undefined) {
      child.kill();
      throw new Error(`started redis-server on ${url} but it did not answer PING in 20 s`);
    }
  }
  const c = client;
  const prefixes: string[] = [];
  return {
    url,
    port: Number(new URL(url).port || 6379),
    client: c,
    prefix(name: string): string {
      const p = `weir-test:${name}:${process.pid}-${Math.random().toString(36).slice(2, 10)}:`;
      prefixes.push(p);
      return p;
    },
    async readStream(key) {
      const entries = await c.xRange(key, "-", "+");
      return (entries ?? []).map((e) => ({ id: e.id, fields: { ...(e.message as Record<string, string>) } }));
    },
    async stop() {
      for (const p of prefixes) {
        for await (const keys of c.scanIterator({ MATCH: `${p}*`, COUNT: 1000 })) {
          if (keys.length > 0) await c.del(keys);
        }
      }
      c.destroy();
      if (child !== undefined) {
        child.kill();
        await new Promise((r) => child!.once("exit", r));
      }
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Wait until `cond` holds (polled), failing with `what` after a generous deadline. */
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
