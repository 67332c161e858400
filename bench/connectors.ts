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
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MqttClient, connectAsync as mqttConnect } from "mqtt";
import { createClient } from "redis";
import { MqttSink, MqttSource } from "../src/connectors/mqtt/index.ts";
import { JetStreamSink, JetStreamSource } from "../src/connectors/nats/index.ts";
import { RedisStreamSink, RedisStreamSource, RedisUpsertSink } from "../src/connectors/redis/index.ts";
import { StreamExecutionEnvironment } from "../src/index.ts";
import { freePort } from "../test/connectors/redis-server.ts";
import { CountingSink, sinkFigures } from "./lib/counting-sink.ts";
import type { Run, Section } from "./lib/harness.ts";
import { weirJob } from "./lib/timed-job.ts";

const NATS = process.env.WEIR_NATS_SERVER ?? "127.0.0.1:4222";
const REDIS = process.env.WEIR_REDIS_URL ?? "redis://127.0.0.1:6379";
const MQTT = process.env.WEIR_MQTT_URL ?? "mqtt://127.0.0.1:1883";
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

// --- MQTT ------------------------------------------------------------------------------------

// MQTT has no replay: a source reads what is published while it is subscribed. So both source
// variants time the same thing, a bare publisher (QoS 1) sending n messages to a subscriber until
// the subscriber has them all; only the subscriber differs. The publisher keeps at most WINDOW
// messages unreceived, so Mosquitto's per-client queue (max_queued_messages 1000) never drops any.
const WINDOW = 512;

async function withMqtt<R>(fn: (c: MqttClient) => Promise<R>, url = MQTT): Promise<R> {
  const c = await mqttConnect(url, { reconnectPeriod: 0 });
  try {
    return await fn(c);
  } finally {
    await c.endAsync();
  }
}

const mqttTopic = () => `weirbench/${tag()}`;

/** Waits until got() reaches n (or stops moving for 5 s: then the check shows the shortfall). */
async function until(got: () => number, n: number): Promise<void> {
  let last = -1;
  let since = performance.now();
  while (got() < n) {
    if (got() !== last) {
      last = got();
      since = performance.now();
    } else if (performance.now() - since > 5000) return;
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Publishes n messages with QoS 1, at most WINDOW ahead of what the subscriber has received. */
async function mqttPublishFlow(topic: string, n: number, received: () => number): Promise<void> {
  await withMqtt(async (c) => {
    for (let from = 0; from < n; from += 256) {
      const batch: Promise<unknown>[] = [];
      for (let i = from; i < Math.min(n, from + 256); i++)
        batch.push(c.publishAsync(topic, PAYLOAD, { qos: 1 }));
      await Promise.all(batch);
      while (from + 256 - received() > WINDOW) await new Promise((r) => setTimeout(r, 1));
    }
  });
}

const mqttSource: Section = {
  id: "conn-mqtt-source",
  title: "MQTT source: bare subscriber vs MqttSource",
  description:
    "50k small JSON messages published with QoS 1 (at most 512 unreceived) to one topic while the subscriber is live, timed until it has them all: the client subscribed with QoS 1 (baseline) vs a running MqttSource job (QoS 1) → map counting; the check is the messages received.",
  warmups: 1,
  rounds: 3,
  variants: [
    {
      name: "bare mqtt subscriber",
      baseline: true,
      async run(scale): Promise<Run> {
        const n = count(scale);
        const topic = mqttTopic();
        return withMqtt(async (sub) => {
          let got = 0;
          sub.on("message", (t) => {
            if (t === topic) got++;
          });
          await sub.subscribeAsync(topic, { qos: 1 });
          const t0 = performance.now();
          await mqttPublishFlow(topic, n, () => got);
          await until(() => got, n);
          return { records: n, ms: performance.now() - t0, check: got };
        });
      },
    },
    {
      name: "Weir MqttSource",
      async run(scale): Promise<Run> {
        const n = count(scale);
        const topic = mqttTopic();
        let got = 0;
        let probes = 0;
        const env = new StreamExecutionEnvironment({ parallelism: 1 });
        env
          .fromSource(new MqttSource<string>({ url: MQTT, topics: [topic] }), "mqtt")
          .map((v) => {
            if (v === "probe") probes++;
            else got++;
            return v;
          })
          .sinkTo(new CountingSink<string>((s) => s.length));
        const job = await env.executeAsync("bench-mqtt-source");
        try {
          // The subscription is live once a probe comes through (not timed).
          await withMqtt(async (c) => {
            while (probes === 0) {
              await c.publishAsync(topic, "probe", { qos: 1 });
              await new Promise((r) => setTimeout(r, 50));
            }
          });
          const t0 = performance.now();
          await mqttPublishFlow(topic, n, () => got);
          await until(() => got, n);
          return { records: n, ms: performance.now() - t0, check: got };
        } finally {
          await job.cancel();
        }
      },
    },
  ],
};

// The sink sections publish faster than one subscriber drains, and a Mosquitto with the default
// max_queued_messages (1000, as on :1883) drops QoS 1 messages beyond that queue for a slow
// subscriber after acknowledging them to the publisher, so the check would count drops. They use
// a private `mosquitto` on a free port with max_queued_messages 0 (unlimited) instead.
let privateBroker: Promise<{ url: string; child: ChildProcess; dir: string }> | undefined;

function mqttSinkBroker(): Promise<{ url: string; child: ChildProcess; dir: string }> {
  privateBroker ??= (async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "weirbench-mqtt-"));
    const conf = join(dir, "mosquitto.conf");
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n`);
    const child = spawn("mosquitto", ["-c", conf], { stdio: "ignore" });
    const url = `mqtt://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        await withMqtt(async () => {}, url);
        break;
      } catch (e) {
        if (i > 100) throw new Error(`the private mosquitto on port ${port} did not start: ${e}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { url, child, dir };
  })();
  return privateBroker;
}

/** Runs publish() with a QoS 1 subscriber on the topic; the check is what it received. */
async function mqttReceived(
  url: string,
  topic: string,
  n: number,
  publish: () => Promise<number>,
): Promise<Run> {
  return withMqtt(async (sub) => {
    let got = 0;
    sub.on("message", (t) => {
      if (t === topic) got++;
    });
    await sub.subscribeAsync(topic, { qos: 1 });
    const ms = await publish();
    await until(() => got, n);
    return { records: n, ms, check: got };
  }, url);
}

const mqttSink: Section = {
  id: "conn-mqtt-sink",
  title: "MQTT sink: bare publish loop vs MqttSink (private mosquitto)",
  description:
    "Publish 50k small JSON messages with QoS 1, each acknowledged (PUBACK): the client with 256 acks awaited at a time (baseline) vs a bounded job into MqttSink (publishes at the end, waits for every PUBACK); the check is what a QoS 1 subscriber received. Against a private mosquitto with max_queued_messages 0, so the subscriber's queue drops nothing.",
  warmups: 1,
  rounds: 3,
  variants: [
    {
      name: "bare publishAsync loop",
      baseline: true,
      async run(scale): Promise<Run> {
        const n = count(scale);
        const topic = mqttTopic();
        const { url } = await mqttSinkBroker();
        return mqttReceived(url, topic, n, () =>
          withMqtt(async (c) => {
            const t0 = performance.now();
            for (let from = 0; from < n; from += 256) {
              const batch: Promise<unknown>[] = [];
              for (let i = from; i < Math.min(n, from + 256); i++)
                batch.push(c.publishAsync(topic, PAYLOAD, { qos: 1 }));
              await Promise.all(batch);
            }
            return performance.now() - t0;
          }, url),
        );
      },
    },
    {
      name: "Weir MqttSink",
      async run(scale): Promise<Run> {
        const n = count(scale);
        const topic = mqttTopic();
        const { url } = await mqttSinkBroker();
        return mqttReceived(url, topic, n, async () => {
          const { ms } = await weirJob(
            (env) =>
              env
                .fromSequence(1, n)
                .map(() => PAYLOAD)
                .sinkTo(new MqttSink<string>({ url, topic })),
            "bench-mqtt-sink",
          );
          return ms;
        });
      },
    },
  ],
};

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
  const broker = privateBroker;
  privateBroker = undefined;
  if (broker !== undefined) {
    const { child, dir } = await broker;
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const connectorSections: Section[] = [
  natsSource,
  natsSink,
  redisSource,
  redisSink,
  redisUpsert,
  mqttSource,
  mqttSink,
];
