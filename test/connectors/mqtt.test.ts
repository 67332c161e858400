// The MQTT source and sink against a real Mosquitto (see mqtt-broker.ts): records flow both ways;
// with a persistent session (clean: false, fixed clientId) a restarted job receives what was
// published while it was down; a broker that is down fails with one error naming host and port,
// never the password; a malformed message fails the job naming its topic, or goes to a dead-letter
// topic and a counter.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DEAD_LETTER_COUNTER, MqttSink, MqttSource } from "../../src/connectors/mqtt/index.ts";
import {
  InputStatus,
  JobCancelledError,
  type ReaderOutput,
  RestartStrategies,
  StreamExecutionEnvironment,
} from "../../src/index.ts";
import { type MqttTestBroker, startMqtt } from "./mqtt-broker.ts";
import { freePort, waitFor } from "./redis-server.ts";

let broker: MqttTestBroker;
before(async () => {
  broker = await startMqtt();
});
after(async () => {
  await broker?.stop();
});

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `m${from + k}`);
const sortNum = (vs: string[]) => [...vs].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)));

async function publish(topic: string, values: string[]): Promise<void> {
  for (const v of values) await broker.client.publishAsync(topic, v, { qos: 1 });
}

describe("MQTT connectors (Mosquitto)", () => {
  it("records flow from a topic through a job into another topic", async () => {
    const p = broker.prefix("flow");
    const received: string[] = [];
    await broker.client.subscribeAsync(`${p}out`, { qos: 1 });
    broker.client.on("message", (topic, payload) => {
      if (topic === `${p}out`) received.push(payload.toString());
    });
    const env = new StreamExecutionEnvironment({ parallelism: 1, checkpointInterval: 50 });
    const h = env
      .fromSource(new MqttSource({ url: broker.url, topics: [`${p}in/#`] }), "mqtt")
      .map((v) => v.toUpperCase())
      .sinkTo(new MqttSink<string>({ url: broker.url, topic: `${p}out` }));
    void h;
    const client = await env.executeAsync("mqtt-flow");
    try {
      // The subscription is live once a probe comes through.
      let probe = 0;
      await waitFor(async () => {
        if (received.some((r) => r.startsWith("PROBE"))) return true;
        await publish(`${p}in/a`, [`probe${probe++}`]);
        return false;
      }, "the job's subscription");
      await publish(`${p}in/a`, range(0, 50));
      await publish(`${p}in/b/c`, range(50, 100));
      await waitFor(() => received.filter((r) => r.startsWith("M")).length >= 100, "100 records out");
      const got = received.filter((r) => r.startsWith("M")).map((r) => r.toLowerCase());
      assert.deepEqual(
        sortNum(got),
        range(0, 100),
        "every record (at-least-once: no duplicates without failures)",
      );
    } finally {
      await client.cancel();
    }
  });

  it("a persistent session: a restarted job receives what was published while it was down", async () => {
    const p = broker.prefix("session");
    const topic = `${p}in`;
    const clientId = `weir-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const dir = mkdtempSync(join(tmpdir(), "weir-mqtt-sp-"));
    const job = (restore?: string) => {
      const env = new StreamExecutionEnvironment({
        parallelism: 1,
        checkpointInterval: 50,
        checkpointDirectory: join(dir, "cp"),
      });
      if (restore !== undefined) env.restoreFrom(restore);
      const h = env
        .fromSource(new MqttSource({ url: broker.url, topics: [topic], clientId, clean: false }), "mqtt")
        .uid("mqtt-source")
        .collect();
      return { env, h };
    };
    try {
      const first = job();
      const c1 = await first.env.executeAsync("mqtt-session-1");
      let probe = 0;
      await waitFor(async () => {
        if (first.h.values.some((v) => v.startsWith("probe"))) return true;
        await publish(topic, [`probe${probe++}`]);
        return false;
      }, "the job's subscription");
      await publish(topic, range(0, 20));
      await waitFor(() => first.h.values.filter((v) => v.startsWith("m")).length >= 20, "the first records");
      const savepoint = await c1.stopWithSavepoint(join(dir, "sp"));
      await assert.rejects(c1.wait(), JobCancelledError);
      // No job is subscribed now: the broker queues these for the session.
      await publish(topic, range(20, 60));
      const second = job(savepoint);
      const c2 = await second.env.executeAsync("mqtt-session-2");
      try {
        await waitFor(
          () => second.h.values.filter((v) => v.startsWith("m")).length >= 40,
          "the queued records",
        );
      } finally {
        await c2.cancel();
      }
      const all = [...first.h.values, ...second.h.values].filter((v) => v.startsWith("m"));
      assert.deepEqual(sortNum(all), range(0, 60), "nothing published while the job was down is lost");
    } finally {
      rmSync(dir, { recursive: true, force: true });
      // End the persistent session on the broker.
      const { connectAsync } = await import("mqtt");
      const c = await connectAsync(broker.url, { clientId, clean: true, reconnectPeriod: 0 });
      await c.endAsync();
    }
  });

  it("the sink loses nothing a checkpoint covers when the job fails and restarts", async () => {
    const p = broker.prefix("sink-restart");
    const received: string[] = [];
    await broker.client.subscribeAsync(`${p}out`, { qos: 1 });
    broker.client.on("message", (topic, payload) => {
      if (topic === `${p}out`) received.push(payload.toString());
    });
    let failed = false;
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      checkpointInterval: 20,
      restartStrategy: RestartStrategies.fixedDelay(1, 10),
    });
    env
      .fromSequence(0, 299)
      .map((n) => {
        // One failure: the restarted job restores the last checkpoint and replays from it.
        if (n === 250 && !failed) {
          failed = true;
          throw new Error("injected failure");
        }
        return `m${n}`;
      })
      .sinkTo(new MqttSink<string>({ url: broker.url, topic: `${p}out` }));
    await env.execute("mqtt-sink-restart");
    assert.ok(failed, "the failure was injected");
    await waitFor(() => new Set(received).size >= 300, "every record published");
    assert.deepEqual(sortNum([...new Set(received)]), range(0, 300), "every record at least once");
  });

  it("a broker that is down fails with one error naming host and port, never the password", async () => {
    const port = await freePort();
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      restartStrategy: RestartStrategies.noRestart(),
    });
    env
      .fromSource(new MqttSource({ url: `mqtt://weir:s3cret@127.0.0.1:${port}`, topics: ["x"] }), "mqtt")
      .collect();
    const err = await env.execute("mqtt-down").then(
      () => assert.fail("the job should fail"),
      (e: unknown) => e,
    );
    let text = "";
    for (let c = err as { message?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) {
      text += `${String((c as Error).name)}: ${c.message}\n`;
    }
    assert.match(
      text,
      new RegExp(`MqttConnectorError: .*cannot connect to the MQTT broker at 127\\.0\\.0\\.1:${port}: `),
    );
    assert.doesNotMatch(text, /s3cret/);
  });

  it("a malformed message fails the job with an error naming the topic", async () => {
    const p = broker.prefix("malformed-fail");
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      restartStrategy: RestartStrategies.noRestart(),
    });
    env
      .fromSource(
        new MqttSource<{ n: number }>({
          url: broker.url,
          topics: [`${p}in`],
          deserializer: (b) => JSON.parse(b.toString()) as { n: number },
        }),
        "mqtt",
      )
      .collect();
    const client = await env.executeAsync("mqtt-malformed");
    // Published until the subscription is live and the job fails on one.
    let failure: unknown;
    const ended = client.wait().catch((e: unknown) => {
      failure = e;
    });
    await waitFor(async () => {
      if (failure !== undefined) return true;
      await publish(`${p}in`, ["{not json"]);
      return false;
    }, "the job to fail on the malformed message");
    await ended;
    let text = "";
    for (let c = failure as { message?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c)
      text += `${String((c as Error).name)}: ${c.message}\n`;
    assert.match(text, /MqttMalformedMessageError/);
    assert.match(text, new RegExp(`malformed message on topic "${p}in" \\(message 1 received`));
    assert.match(text, /onMalformed: \{ deadLetterTopic \}/);
  });

  it("onMalformed: { deadLetterTopic } publishes the raw payload there and counts it", async () => {
    const p = broker.prefix("malformed-dlq");
    const dead: Array<{ payload: string; source: unknown }> = [];
    const { connect } = await import("mqtt");
    const watcher = await connect(broker.url, { protocolVersion: 5 });
    await new Promise<void>((r) => watcher.once("connect", () => r()));
    await watcher.subscribeAsync(`${p}dead`, { qos: 1 });
    watcher.on("message", (_t, payload, packet) =>
      dead.push({
        payload: payload.toString(),
        source: packet.properties?.userProperties?.["weir-source-topic"],
      }),
    );
    let count = 0;
    const source = new MqttSource<{ n: number }>({
      url: broker.url,
      clientOptions: { protocolVersion: 5 },
      topics: [`${p}in`],
      deserializer: (b) => JSON.parse(b.toString()) as { n: number },
      onMalformed: { deadLetterTopic: `${p}dead` },
    });
    const ctx = {
      sendSplitRequest() {},
      runtime: {
        getCounter: (name: string) =>
          name === DEAD_LETTER_COUNTER ? { add: (n: number) => (count += n) } : undefined,
      },
    };
    const reader = source.createReader(ctx as never);
    reader.start();
    reader.addSplits([{ topics: [`${p}in`] }]);
    const got: Array<{ n: number }> = [];
    const out: ReaderOutput<{ n: number }> = {
      collect: (v) => got.push(v),
      createOutputForSplit: () => out,
      releaseOutputForSplit: () => {},
    };
    try {
      await waitFor(async () => {
        while (reader.pollNext(out) === InputStatus.MORE_AVAILABLE) {}
        if (got.length > 0) return true;
        await publish(`${p}in`, ['{"n":0}']);
        return false;
      }, "the reader's subscription");
      await publish(`${p}in`, ['{"n":1}', "garbage-1", '{"n":2}', "garbage-2"]);
      await waitFor(() => {
        while (reader.pollNext(out) === InputStatus.MORE_AVAILABLE) {}
        return got.some((v) => v.n === 2) && count === 2 && dead.length === 2;
      }, "the good records read and the malformed ones dead-lettered");
      assert.deepEqual(
        got.filter((v) => v.n > 0).map((v) => v.n),
        [1, 2],
      );
      assert.deepEqual(
        dead.map((d) => d.payload),
        ["garbage-1", "garbage-2"],
      );
      assert.ok(
        dead.every((d) => d.source === `${p}in`),
        "the source topic in the user properties",
      );
      assert.equal(count, 2, "each dead letter counted");
    } finally {
      await reader.close();
      await watcher.endAsync();
    }
  });

  it('refuses an onMalformed that is neither "fail" nor a dead-letter topic without wildcards', () => {
    assert.throws(
      () => new MqttSource({ topics: ["x"], onMalformed: { deadLetterTopic: "dead/#" } }),
      /onMalformed must be "fail" or \{ deadLetterTopic/,
    );
  });
});
