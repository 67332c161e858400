// The JetStream sink against a real NATS server (see nats-server.ts): a checkpoint's records are
// published with message ids derived from the transaction id stored in the checkpoint, so
// committing the same (restored) committables again — from another committer, at another
// parallelism — stores nothing new and is counted as duplicates; a subject no stream captures and
// a server that is down give clear errors. Every test uses its own streams and deletes them.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DUPLICATE_COUNTER, JetStreamSink, jetStreamMessageId } from "../../src/connectors/nats/index.ts";
import {
  Counter,
  type RuntimeContext,
  type SinkWriterContext,
  StreamExecutionEnvironment,
} from "../../src/index.ts";
import { type NatsTestServer, startNats } from "./nats-server.ts";

let nats: NatsTestServer;
before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats?.stop();
});

/** What a sink subtask sees of its runtime: identity and counters (the committer's accumulators). */
function writerContext(
  subtaskIndex: number,
  parallelism: number,
  counters: Map<string, Counter>,
): SinkWriterContext {
  const runtime = {
    jobId: "job-run-1",
    jobName: "nats-sink-test",
    operatorName: "sink",
    operatorUid: "js-sink",
    indexOfThisSubtask: subtaskIndex,
    numberOfParallelSubtasks: parallelism,
    attemptNumber: 0,
    getCounter(name: string): Counter {
      let c = counters.get(name);
      if (c === undefined) counters.set(name, (c = new Counter()));
      return c;
    },
  } as unknown as RuntimeContext;
  return { runtime, subtaskIndex, parallelism, checkpointing: true };
}

describe("JetStreamSink (NATS JetStream)", () => {
  it("committing a restored checkpoint again publishes the same message ids: the server drops them", async () => {
    const stream = await nats.createStream("weir_sink_idem");
    const sink = new JetStreamSink<{ k: string; n: number }>({
      servers: nats.servers,
      subject: (v) => `${stream}.${v.k}`,
      maxInFlight: 16,
    });
    const counters = new Map<string, Counter>();
    // Two subtasks write and stage checkpoint 7.
    const staged = [];
    for (const subtask of [0, 1]) {
      const ctx = writerContext(subtask, 2, counters);
      const writer = sink.createWriter(ctx);
      for (let n = 0; n < 100; n++) writer.write({ k: n % 2 === 0 ? "even" : "odd", n: subtask * 1000 + n });
      staged.push(...(await writer.prepareCommit(7)));
    }
    assert.equal(staged.length, 2);
    // The checkpoint completes: each subtask's committer publishes its own transaction.
    for (const subtask of [0, 1]) {
      const committer = sink.createCommitter(writerContext(subtask, 2, counters));
      await committer.commit(staged);
      await committer.close?.();
    }
    const first = await nats.readStream(stream);
    assert.equal(first.length, 200);
    assert.equal(counters.get(DUPLICATE_COUNTER)?.getLocalValue() ?? 0, 0);

    // A restore at parallelism 1 commits the restored committables again (a JSON round trip, as
    // through a checkpoint file): nothing new is stored, every publication is a duplicate.
    const restored = JSON.parse(JSON.stringify(staged));
    const again = sink.createCommitter(writerContext(0, 1, counters));
    await again.commit(restored);
    await again.close?.();
    const second = await nats.readStream(stream);
    assert.deepEqual(second, first);
    assert.equal(counters.get(DUPLICATE_COUNTER)?.getLocalValue(), 200);

    // The ids are the transaction id and the index in it; each message carries its id header.
    const msg = await nats.jsm.streams.getMessage(stream, { seq: 1 });
    assert.equal(msg?.header.get("Nats-Msg-Id"), jetStreamMessageId(staged[0]!.transactionId, 0));
    assert.deepEqual(
      first.filter((m) => m.subject === `${stream}.even`).map((m) => JSON.parse(m.data).n % 2),
      new Array(100).fill(0),
    );
  });

  it("a job writes each record once and strings as they are", async () => {
    const stream = await nats.createStream("weir_sink_job");
    const env = new StreamExecutionEnvironment({ parallelism: 2, checkpointInterval: 20 });
    env
      .fromCollection(Array.from({ length: 500 }, (_, i) => `r${i}`))
      .sinkTo(new JetStreamSink<string>({ servers: nats.servers, subject: `${stream}.out` }));
    await env.execute("nats-sink-job");
    const got = (await nats.readStream(stream)).map((m) => m.data).sort();
    assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => `r${i}`).sort());
  });

  it("a subject no stream captures, and a server that is down, fail with clear errors", async () => {
    const noStream = new StreamExecutionEnvironment({ parallelism: 1 });
    noStream
      .fromCollection(["x"])
      .sinkTo(new JetStreamSink<string>({ servers: nats.servers, subject: "weir.nowhere.captured" }));
    await assert.rejects(
      noStream.execute("nats-sink-nostream"),
      /no JetStream stream captures subject 'weir\.nowhere\.captured'/,
    );

    const down = new StreamExecutionEnvironment({ parallelism: 1 });
    down
      .fromCollection(["x"])
      .sinkTo(new JetStreamSink<string>({ servers: "nats://weir:s3cret@127.0.0.1:1", subject: "weir.x" }));
    const err = await down.execute("nats-sink-down").then(
      () => assert.fail("the job should fail"),
      (e: unknown) => e,
    );
    assert.match(String(err), /cannot connect to NATS at 127\.0\.0\.1:1\b/);
    assert.doesNotMatch(String(err), /s3cret/);
  });
});
