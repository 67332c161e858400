// The key group travels with a record over a hash edge to several consumers: the writer sends the
// key group its partitioner computed, the input channel hands it to the task, and a keyed chain
// head whose input edges all hash with its own key selector uses it instead of hashing the key
// again. Anything else (one consumer, other partitioners, chained operators, restored in-flight
// records read back as records) gets -1 and hashes.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { StreamExecutionEnvironment, Types } from "../../src/index.ts";
import { NetworkBufferPool } from "../../src/network/buffer-pool.ts";
import { readInFlightRecords } from "../../src/network/in-flight-records.ts";
import type { ElementHandler } from "../../src/network/input-gate.ts";
import { RecordWriter } from "../../src/network/record-writer.ts";
import { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import { createChannelSelector } from "../../src/runtime/partitioners.ts";
import { wiredChannels } from "../network/wired-channels.ts";

const MAX = 128;

/** A hash edge from one writer to `n` consumers; returns what each channel handed to its task. */
function hashEdge(n: number) {
  const pool = new NetworkBufferPool(256, 64);
  const { subpartitions, channels } = wiredChannels(pool, n);
  const selector = createChannelSelector(
    { kind: "hash", keySelector: (w: string) => w },
    n,
    0,
    MAX,
    () => "edge",
  );
  const writer = new RecordWriter(subpartitions, selector, Types.STRING.createSerializer(), 256, "edge", -1);
  const read = () => {
    const got: Array<[string, number, number]> = [];
    for (const ch of channels) {
      const handler: ElementHandler = {
        processRecord: (v, ts, _input, kg) => got.push([v as string, ts, kg]),
        processWatermark: () => {},
        processWatermarkStatus: () => {},
        processBarrier: () => {},
      };
      while (ch.hasData()) ch.readBuffer(handler);
    }
    return got;
  };
  return { writer, channels, read };
}

const WORDS = Array.from({ length: 200 }, (_, i) => `w${i * 37}`);

describe("key group carried with the record", () => {
  it("a hash edge to several consumers sends each record's key group, with or without timestamp", () => {
    const e = hashEdge(3);
    for (const [i, w] of WORDS.entries()) e.writer.emit(w, i % 2 === 0 ? Number.NaN : i);
    e.writer.flushAll();
    const got = e.read();
    assert.equal(got.length, WORDS.length);
    for (const [w, ts, kg] of got) {
      assert.equal(kg, assignToKeyGroup(w, MAX), `key group of ${w}`);
      const i = WORDS.indexOf(w);
      assert.ok(i % 2 === 0 ? Number.isNaN(ts) : ts === i, `timestamp of ${w}`);
    }
  });

  it("a hash edge to one consumer sends none (the consumer hashes)", () => {
    const e = hashEdge(1);
    for (const w of WORDS.slice(0, 10)) e.writer.emit(w, 3);
    e.writer.flushAll();
    for (const [, , kg] of e.read()) assert.equal(kg, -1);
  });

  it("in-flight data with key groups reads back as its records", () => {
    const e = hashEdge(2);
    for (const [i, w] of WORDS.entries()) e.writer.emit(w, i);
    const got: Array<[unknown, number]> = [];
    e.writer.flushAll();
    // The buffers a channel holds are what an unaligned checkpoint records of it.
    for (const ch of e.channels) {
      const chunks = ch.queue.map((b) => b.memory.slice(0, b.size));
      readInFlightRecords(0, chunks, Types.STRING.createSerializer(), (v, ts) => got.push([v, ts]));
    }
    assert.deepEqual(
      got.sort((x, y) => x[1] - y[1]),
      WORDS.map((w, i) => [w, i]),
    );
  });

  for (const p of [1, 3]) {
    it(`a keyed head uses the sent key group exactly when its input edges hash with its key (p=${p}; chained at p=1)`, async () => {
      const env = new StreamExecutionEnvironment({ parallelism: p });
      const seen: Array<{ sent: number; flag: boolean | undefined; kg: number }> = [];
      class Probe extends StreamOperator {
        constructor() {
          super(undefined);
        }
        processElement(value: unknown): void {
          const keyed = this.keyed[0]!;
          const key = keyed.keySelector(value);
          const kg = this.keyGroupOf(keyed, key);
          seen.push({ sent: this.element.keyGroup ?? -1, flag: keyed.keyGroupFromRecord, kg });
          assert.equal(kg, assignToKeyGroup(key, keyed.maxParallelism));
          keyed.backend.setCurrentKey(key, kg);
          this.output.collect(value);
        }
      }
      const keyed = env
        .fromCollection(WORDS)
        .rebalance()
        .map((w) => w)
        .keyBy((w) => w);
      const out = keyed.transform("probe", () => new Probe(), Types.STRING, [keyed.keySelector]).collect();
      await env.execute("key group carry");
      assert.deepEqual([...out.values].sort(), [...WORDS].sort());
      assert.equal(seen.length, WORDS.length);
      for (const s of seen) {
        // At p=1 the keyBy edge is chained (job-graph.ts): the probe is no head and hashes.
        assert.equal(s.flag, p > 1);
        // Chained: nothing sent; several consumers: every record's key group sent.
        if (p === 1) assert.equal(s.sent, -1);
        else assert.equal(s.sent, s.kg);
      }
    });
  }

  it("a keyed operator behind a hash edge of another key selector does not trust the sent key group", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    const flags: Array<boolean | undefined> = [];
    class Probe extends StreamOperator {
      constructor() {
        super(undefined);
      }
      processElement(value: unknown): void {
        const keyed = this.keyed[0]!;
        flags.push(keyed.keyGroupFromRecord);
        const key = keyed.keySelector(value);
        keyed.backend.setCurrentKey(key, this.keyGroupOf(keyed, key));
        this.output.collect(value);
      }
    }
    const keyed = env.fromCollection(WORDS).keyBy((w) => w);
    // Same keys, but another selector object: the operator cannot know they agree.
    const other = (w: string) => w;
    const out = keyed.transform("probe", () => new Probe(), Types.STRING, [other]).collect();
    await env.execute("key group not trusted");
    assert.equal(out.values.length, WORDS.length);
    assert.ok(flags.length > 0 && flags.every((f) => f === false));
  });

  it("behind a hash edge of another key, the operator hashes its own key, not the sent group", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    const seen: Array<{ sent: number; kg: number; own: number }> = [];
    class Probe extends StreamOperator {
      constructor() {
        super(undefined);
      }
      processElement(value: unknown): void {
        const keyed = this.keyed[0]!;
        const key = keyed.keySelector(value);
        seen.push({
          sent: this.element.keyGroup ?? -1,
          kg: this.keyGroupOf(keyed, key),
          own: assignToKeyGroup(key, keyed.maxParallelism),
        });
        this.output.collect(value);
      }
    }
    const keyed = env.fromCollection(WORDS).keyBy((w) => w);
    const out = keyed
      .transform("probe", () => new Probe(), Types.STRING, [(w: string) => `${w.toUpperCase()}!`])
      .collect();
    await env.execute("another key");
    assert.equal(out.values.length, WORDS.length);
    assert.equal(seen.length, WORDS.length);
    // The records were sent with their words' key groups, which differ from the probe key's for
    // most words: the probe must take its own.
    assert.ok(seen.filter((s) => s.sent >= 0 && s.sent !== s.own).length > WORDS.length / 2);
    for (const s of seen) assert.equal(s.kg, s.own);
  });
});
