// Connector sections (ids conn-*): each source's and sink's throughput in Weir next to the bare
// client doing the same work in a plain loop, in the same run, against the servers on 127.0.0.1
// (NATS JetStream :4222, Redis :6379; WEIR_NATS_SERVER / WEIR_REDIS_URL override). Weir's
// figures are a whole bounded job (parallelism 1, no checkpoints) from execute() to its end, so
// they include the job's start (~tens of ms); the sinks write at the end of the bounded job (the
// write-ahead / two-phase path, as with checkpoints). Not part of a plain `npm run bench`: select
// them, `npm run bench -- conn` (or `connectors`). Streams and keys have random names and are
// deleted afterwards.

import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { createClient } from "redis";
import { JetStreamSink, JetStreamSource } from "../src/connectors/nats/index.ts";
import { RedisStreamSink, RedisStreamSource, RedisUpsertSink } from "../src/connectors/redis/index.ts";
import { StreamExecutionEnvironment } from "../src/index.ts";
import { CountingSink, sinkFigures } from "./lib/counting-sink.ts";
import type { Run, Section } from "./lib/harness.ts";

const NATS = process.env.WEIR_NATS_SERVER ?? "127.0.0.1:4222";
const REDIS = process.env.WEIR_REDIS_URL ?? "redis://127.0.0.1:6379";
const BASE = 50_000;
const PAYLOAD = JSON.stringify({ user: "u00042", value: 17, page: "/checkout", ts: 1_700_000_000_000 });
const tag = () => `weirbench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
const count = (scale: number) => Math.max(1000, Math.round(BASE * scale));

// --- NATS ------------------------------------------------------------------------------------

async function withNats<R>(fn: (nc: Awaited<ReturnType<typeof natsConnect>>) => Promise<R>): Promise<R> {
  const nc = await natsConnect({ servers: NATS });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

/** Streams filled once per message count, reused by every source run. */
const natsFilled = new Map<number, string>();
const natsCreated: string[] = [];

async function natsStream(n: number): Promise<string> {
  const have = natsFilled.get(n);
  if (have !== undefined) return have;
  const name = tag();
  await withNats(async (nc) => {
    await (await jetstreamManager(nc)).streams.add({ name, subjects: [`${name}.>`] });
    await natsPublishAll(nc, name, n);
  });
  natsCreated.push(name);
  natsFilled.set(n, name);
  return name;
}

/** The bare client's publishing loop: up to 256 publications awaiting their ack. */
async function natsPublishAll(
  nc: Awaited<ReturnType<typeof natsConnect>>,
  stream: string,
  n: number,
): Promise<void> {
  const js = jetstream(nc);
  for (let from = 0; from < n; from += 256) {
    const batch: Promise<unknown>[] = [];
    for (let i = from; i < Math.min(n, from + 256); i++) batch.push(js.publish(`${stream}.x`, PAYLOAD));
    await Promise.all(batch);
  }
}

async function natsEmptyStream(): Promise<string> {
  const name = tag();
  await withNats(async (nc) => (await jetstreamManager(nc)).streams.add({ name, subjects: [`${name}.>`] }));
  natsCreated.push(name);
  return name;
}

async function natsCount(stream: string): Promise<number> {
  return withNats(async (nc) => (await (await jetstreamManager(nc)).streams.info(stream)).state.messages);
}

async function weirJob(build: (env: StreamExecutionEnvironment) => void, name: string) {
  const env = new StreamExecutionEnvironment({ parallelism: 1 });
  build(env);
  const t0 = performance.now();
  const result = await env.execute(name);
  return { result, ms: performance.now() - t0 };
}

const natsSource: Section = {
  id: "conn-nats-source",
  title: "JetStream source: bare ordered consumer vs JetStreamSource",
  description:
    "Read a stream of 50k small JSON messages (~90 B) from the start to its end: the client's ordered consumer in a loop (baseline) vs a bounded JetStreamSource → counting sink.",
  warmups: 1,
  rounds: 3,
  variants: [
    {
      name: "bare ordered consumer",
      baseline: true,
      async run(scale): Promise<Run> {
        const n = count(scale);
        const stream = await natsStream(n);
        return withNats(async (nc) => {
          const t0 = performance.now();
          const c = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
          const it = await c.consume({ max_messages: 512 });
          let got = 0;
          let bytes = 0;
          for await (const m of it) {
            got++;
            bytes += m.data.length;
            if (m.info.pending === 0) break;
          }
          it.stop();
          return { records: got, ms: performance.now() - t0, bytes, check: got };
        });
      },
    },
    {
      name: "Weir JetStreamSource",
      async run(scale): Promise<Run> {
        const n = count(scale);
        const stream = await natsStream(n);
        const { result, ms } = await weirJob(
          (env) =>
            env
              .fromSource(new JetStreamSource<string>({ servers: NATS, stream, bounded: true }), "nats")
              .sinkTo(new CountingSink<string>((s) => s.length)),
          "bench-nats-source",
        );
        const f = sinkFigures(result);
        return { records: f.records, ms, bytes: f.checksum, check: f.records };
      },
    },
  ],
};

const natsSink: Section = {
  id: "conn-nats-sink",
  title: "JetStream sink: bare publish loop vs JetStreamSink",
  description:
    "Publish 50k small JSON messages into a fresh stream, each acknowledged: the client with 256 acks awaited at a time (baseline) vs a bounded job into JetStreamSink (Nats-Msg-Id per record, maxInFlight 256); the check is the stream's message count.",
  warmups: 1,
  rounds: 3,
  variants: [
    {
      name: "bare js.publish loop",
      baseline: true,
      async run(scale): Promise<Run> {
        const n = count(scale);
        const stream = await natsEmptyStream();
        const t0 = performance.now();
        await withNats((nc) => natsPublishAll(nc, stream, n));
        const ms = performance.now() - t0;
        return { records: n, ms, check: await natsCount(stream) };
      },
    },
    {
      name: "Weir JetStreamSink",
      async run(scale): Promise<Run> {
        const n = count(scale);
        const stream = await natsEmptyStream();
        const { ms } = await weirJob(
          (env) =>
            env
              .fromSequence(1, n)
              .map(() => PAYLOAD)
              .sinkTo(new JetStreamSink<string>({ servers: NATS, subject: `${stream}.x` })),
          "bench-nats-sink",
        );
        return { records: n, ms, check: await natsCount(stream) };
      },
    },
  ],
};

// --- Redis -----------------------------------------------------------------------------------

const newRedis = () => createClient({ url: REDIS });
type Redis = ReturnType<typeof newRedis>;
const redisKeys: string[] = [];
const redisFilled = new Map<number, string>();

async function withRedis<R>(fn: (c: Redis) => Promise<R>): Promise<R> {
  const c = newRedis();
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.quit();
  }
}

/** The bare client's append loop: MULTI/EXEC batches of 1000 XADDs (what the sink commits). */
async function redisAppendAll(c: Redis, key: string, n: number): Promise<void> {
  for (let from = 0; from < n; from += 1000) {
    const m = c.multi();
    for (let i = from; i < Math.min(n, from + 1000); i++) m.xAdd(key, "*", { value: PAYLOAD });
    await m.exec();
  }
}

async function redisStream(n: number): Promise<string> {
  const have = redisFilled.get(n);
  if (have !== undefined) return have;
  const key = tag();
  redisKeys.push(key);
  await withRedis((c) => redisAppendAll(c, key, n));
  redisFilled.set(n, key);
  return key;
}

const redisSource: Section = {
  id: "conn-redis-source",
  title: "Redis Streams source: bare XREAD loop vs RedisStreamSource",
  description:
    "Read a stream of 50k entries (one ~90 B field) from the start to its end: the client's XREAD COUNT 1024 loop (baseline) vs a bounded RedisStreamSource → counting sink.",
  warmups: 1,
  rounds: 3,
  variants: [
    {
      name: "bare XREAD loop",
      baseline: true,
      async run(scale): Promise<Run> {
        const key = await redisStream(count(scale));
        return withRedis(async (c) => {
          const t0 = performance.now();
          let after = "0-0";
          let got = 0;
          let bytes = 0;
          for (;;) {
            const r = await c.xRead({ key, id: after }, { COUNT: 1024 });
            const msgs = (
              r as Array<{ messages: Array<{ id: string; message: Record<string, string> }> }> | null
            )?.[0]?.messages;
            if (msgs === undefined || msgs.length === 0) break;
            for (const m of msgs) {
              got++;
              bytes += m.message.value!.length;
            }
            after = msgs[msgs.length - 1]!.id;
          }
          return { records: got, ms: performance.now() - t0, bytes, check: got };
        });
      },
    },
    {
      name: "Weir RedisStreamSource",
      async run(scale): Promise<Run> {
        const key = await redisStream(count(scale));
        const { result, ms } = await weirJob(
          (env) =>
            env
              .fromSource(
                new RedisStreamSource<string>({
                  url: REDIS,
                  streams: [key],
                  bounded: true,
                  deserializer: (f) => f.value!,
                }),
                "redis",
              )
              .sinkTo(new CountingSink<string>((s) => s.length)),
          "bench-redis-source",
        );
        const f = sinkFigures(result);
        return { records: f.records, ms, bytes: f.checksum, check: f.records };
      },
    },
  ],
};

const redisSink: Section = {
  id: "conn-redis-sink",
  title: "Redis Streams sink: bare MULTI/XADD loop vs RedisStreamSink",
  description:
    "Append 50k entries to a fresh stream: the client with MULTI/EXEC batches of 1000 XADDs (baseline) vs a bounded job into RedisStreamSink (one MULTI/EXEC with the commit marker at the end); the check is XLEN.",
  warmups: 1,
  rounds: 3,
  variants: [
    {
      name: "bare MULTI/XADD loop",
      baseline: true,
      async run(scale): Promise<Run> {
        const n = count(scale);
        const key = tag();
        redisKeys.push(key);
        return withRedis(async (c) => {
          const t0 = performance.now();
          await redisAppendAll(c, key, n);
          return { records: n, ms: performance.now() - t0, check: await c.xLen(key) };
        });
      },
    },
    {
      name: "Weir RedisStreamSink",
      async run(scale): Promise<Run> {
        const n = count(scale);
        const key = tag();
        redisKeys.push(key, `${key}:m:`);
        const { ms } = await weirJob(
          (env) =>
            env
              .fromSequence(1, n)
              .map(() => PAYLOAD)
              .sinkTo(new RedisStreamSink<string>({ url: REDIS, stream: key, markerPrefix: `${key}:m:` })),
          "bench-redis-sink",
        );
        return { records: n, ms, check: await withRedis((c) => c.xLen(key)) };
      },
    },
  ],
};

const USERS = 5000;
const redisUpsert: Section = {
  id: "conn-redis-upsert",
  title: "Redis upsert sink: bare pipelined HSET vs RedisUpsertSink",
  description:
    "50k updates of 5000 users' feature hashes (clicks, sum): the client writing every update with HSET in MULTI batches of 1000 (baseline) vs a bounded job into RedisUpsertSink (latest value per key, written at the end); the check is the keys' final clicks summed.",
  warmups: 1,
  rounds: 3,
  variants: [
    {
      name: "bare HSET loop",
      baseline: true,
      async run(scale): Promise<Run> {
        const n = count(scale);
        const p = `${tag()}:`;
        redisKeys.push(p);
        return withRedis(async (c) => {
          const t0 = performance.now();
          for (let from = 0; from < n; from += 1000) {
            const m = c.multi();
            for (let i = from; i < Math.min(n, from + 1000); i++)
              m.hSet(`${p}${i % USERS}`, { clicks: String(Math.floor(i / USERS) + 1), sum: String(i) });
            await m.exec();
          }
          const ms = performance.now() - t0;
          return { records: n, ms, check: await upsertCheck(c, p) };
        });
      },
    },
    {
      name: "Weir RedisUpsertSink",
      async run(scale): Promise<Run> {
        const n = count(scale);
        const p = `${tag()}:`;
        redisKeys.push(p);
        const { ms } = await weirJob(
          (env) =>
            env
              .fromSequence(0, n - 1)
              .map((i) => ({ user: i % USERS, clicks: Math.floor(i / USERS) + 1, sum: i }))
              .sinkTo(
                new RedisUpsertSink<{ user: number; clicks: number; sum: number }>({
                  url: REDIS,
                  key: (f) => `${p}${f.user}`,
                  hash: (f) => ({ clicks: f.clicks, sum: f.sum }),
                }),
              ),
          "bench-redis-upsert",
        );
        return { records: n, ms, check: await withRedis((c) => upsertCheck(c, p)) };
      },
    },
  ],
};

async function upsertCheck(c: Redis, p: string): Promise<number> {
  let total = 0;
  for (let from = 0; from < USERS; from += 500) {
    const m = c.multi();
    for (let u = from; u < Math.min(USERS, from + 500); u++) m.hGet(`${p}${u}`, "clicks");
    for (const v of (await m.exec()) as unknown as Array<string | null>) total += Number(v ?? 0);
  }
  return total;
}

/** Deletes what the sections created (called by bench/run.ts after them). */
export async function cleanUpConnectorBenchmarks(): Promise<void> {
  if (natsCreated.length > 0)
    await withNats(async (nc) => {
      const jsm = await jetstreamManager(nc);
      for (const s of natsCreated.splice(0)) await jsm.streams.delete(s).catch(() => {});
    });
  natsFilled.clear();
  if (redisKeys.length > 0)
    await withRedis(async (c) => {
      for (const k of redisKeys.splice(0)) {
        if (k.endsWith(":")) {
          for await (const batch of c.scanIterator({ MATCH: `${k}*`, COUNT: 1000 }))
            if ((batch as string[]).length > 0) await c.del(batch as string[]);
        } else await c.del(k);
      }
    });
  redisFilled.clear();
}

export const connectorSections: Section[] = [natsSource, natsSink, redisSource, redisSink, redisUpsert];
