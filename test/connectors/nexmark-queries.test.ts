// Tests of the Nexmark source and queries: each query's results, at p=1 and p=2, equal a plain reference
// implementation (a loop over generateRange, no engine); the source reads the generator's events whatever
// the parallelism; the JSON-lines source reads what `generate` wrote and names malformed lines.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  type Auction,
  eventToJson,
  generateRange,
  type NexmarkEvent,
  nexmarkConfig,
  type Person,
  type TimestampedNexmarkEvent,
} from "../../src/connectors/nexmark/index.ts";
import {
  bidTimeType,
  channelId,
  dollarsToEuros,
  nexmarkQuery,
  QUERIES,
  splitIndex,
} from "../../src/nexmark/queries/index.ts";
import { NexmarkJsonLinesSource, NexmarkSource } from "../../src/connectors/nexmark/source.ts";
import { NexmarkWatermarkGenerator, nexmarkWatermarks } from "../../src/connectors/nexmark/watermarks.ts";
import { type Collector, type ProcessContext, StreamExecutionEnvironment } from "../../src/index.ts";

const N = 20_000;
const SEED = 11;
const config = nexmarkConfig({ numEvents: N, seed: SEED });
const events: TimestampedNexmarkEvent[] = [...generateRange(config, 0, N)];

const dir = mkdtempSync(join(tmpdir(), "weir-nexmark-queries-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Records as sorted JSON strings: results compared as multisets. */
function multiset(records: unknown[]): string[] {
  return records.map((r) => JSON.stringify(r)).sort();
}

/** Runs query `name` in this thread over a NexmarkSource of `numEvents` events at parallelism p. */
async function runQuery(name: string, p: number, numEvents = N): Promise<unknown[]> {
  const env = new StreamExecutionEnvironment({ parallelism: p });
  const out = nexmarkQuery(name)
    .build(env.fromSource(new NexmarkSource({ numEvents, seed: SEED }), "Nexmark generator"))
    .collect();
  await env.execute(`nexmark ${name} p=${p}`);
  return out.values;
}

// ---- the reference implementations: plain loops, written from the suite's SQL ------------------------

const reference: Record<string, (evs: NexmarkEvent[]) => unknown[]> = {
  q0: (evs) =>
    evs.flatMap((e) => {
      if (e.type !== "bid") return [];
      const b = e.bid;
      return [{ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra }];
    }),
  q1: (evs) =>
    evs.flatMap((e) => {
      if (e.type !== "bid") return [];
      const b = e.bid;
      // 0.908 * price as an exact decimal with 3 places, then as a number.
      const euros = Number(
        `${Math.floor((b.price * 908) / 1000)}.${String((b.price * 908) % 1000).padStart(3, "0")}`,
      );
      return [{ auction: b.auction, bidder: b.bidder, price: euros, dateTime: b.dateTime, extra: b.extra }];
    }),
  q2: (evs) => {
    const out = [];
    for (const e of evs) {
      if (e.type === "bid" && e.bid.auction % 123 === 0)
        out.push({ auction: e.bid.auction, price: e.bid.price });
    }
    return out;
  },
  q3: (evs) => {
    // The SQL join, literally: every (auction, person) pair with A.seller = P.id and the filters.
    const persons: Person[] = [];
    const auctions: Auction[] = [];
    for (const e of evs) {
      if (e.type === "person") persons.push(e.person);
      if (e.type === "auction") auctions.push(e.auction);
    }
    const out = [];
    for (const a of auctions) {
      for (const p of persons) {
        if (
          a.seller === p.id &&
          a.category === 10 &&
          (p.state === "OR" || p.state === "ID" || p.state === "CA")
        ) {
          out.push({ name: p.name, city: p.city, state: p.state, id: a.id });
        }
      }
    }
    return out;
  },
  q14: (evs) => {
    const out = [];
    for (const e of evs) {
      if (e.type !== "bid") continue;
      const b = e.bid;
      const euros = (b.price * 908) / 1000;
      if (!(b.price * 908 > 1_000_000 * 1000 && b.price * 908 < 50_000_000 * 1000)) continue;
      const hour = new Date(b.dateTime).getUTCHours();
      const type = hour >= 8 && hour <= 18 ? "dayTime" : hour <= 6 || hour >= 20 ? "nightTime" : "otherTime";
      out.push({
        auction: b.auction,
        bidder: b.bidder,
        price: euros,
        bidTimeType: type,
        dateTime: b.dateTime,
        extra: b.extra,
        c_counts: b.extra.split("c").length - 1,
      });
    }
    return out;
  },
  q21: (evs) => {
    const hot: Record<string, string> = { apple: "0", google: "1", facebook: "2", baidu: "3" };
    const out = [];
    for (const e of evs) {
      if (e.type !== "bid") continue;
      const b = e.bid;
      const fromUrl = /(&|^)channel_id=([^&]*)/.exec(b.url)?.[2] ?? null;
      const lower = b.channel.toLowerCase();
      if (fromUrl === null && hot[lower] === undefined) continue;
      const id = hot[lower] ?? fromUrl;
      out.push({ auction: b.auction, bidder: b.bidder, price: b.price, channel: b.channel, channel_id: id });
    }
    return out;
  },
  q22: (evs) =>
    evs.flatMap((e) => {
      if (e.type !== "bid") return [];
      const b = e.bid;
      const parts = b.url.split("/");
      return [
        {
          auction: b.auction,
          bidder: b.bidder,
          price: b.price,
          channel: b.channel,
          dir1: parts[3] ?? null,
          dir2: parts[4] ?? null,
          dir3: parts[5] ?? null,
        },
      ];
    }),
};

describe("nexmark queries equal plain reference implementations", () => {
  it("has a reference for every query (the windowed and stateful ones in nexmark-windowed-queries.test.ts)", () => {
    const windowed = ["q4", "q5", "q7", "q8", "q9", "q11", "q12", "q13", "q18", "q19"];
    assert.deepEqual([...QUERIES.keys()].sort(), [...Object.keys(reference), ...windowed].sort());
  });

  for (const name of Object.keys(reference)) {
    // q3 matches ~1 in 200 events: give it more of them.
    const numEvents = name === "q3" ? 100_000 : N;
    const input =
      numEvents === N ? events : [...generateRange(nexmarkConfig({ numEvents, seed: SEED }), 0, numEvents)];
    const expected = multiset(reference[name]!(input));
    for (const p of [1, 2]) {
      it(`${name} at p=${p} (${numEvents} events, ${expected.length} results)`, async () => {
        assert.ok(expected.length > 0, `${name}: the reference finds nothing, the test would prove nothing`);
        assert.deepEqual(multiset(await runQuery(name, p, numEvents)), expected);
      });
    }
  }

  it("q3 answers auctions that arrive before their seller (the join waits in keyed state)", async () => {
    const numEvents = 100_000;
    const input = [...generateRange(nexmarkConfig({ numEvents, seed: SEED }), 0, numEvents)];
    const seenPersons = new Set<number>();
    let early = 0;
    for (const e of input) {
      if (e.type === "person") seenPersons.add(e.person.id);
      if (e.type === "auction" && e.auction.category === 10 && !seenPersons.has(e.auction.seller)) early++;
    }
    assert.ok(early > 0, "the generator makes auctions of sellers not yet registered");
    const results = (await runQuery("q3", 2, numEvents)) as Array<{ id: number }>;
    const ids = new Set(results.map((r) => r.id));
    const persons = new Map(
      input.flatMap((e) => (e.type === "person" ? [[e.person.id, e.person] as const] : [])),
    );
    const answeredEarly = input.filter(
      (e) =>
        e.type === "auction" &&
        ids.has(e.auction.id) &&
        (persons.get(e.auction.seller)?.dateTime ?? 0) > e.auction.dateTime,
    );
    assert.ok(answeredEarly.length > 0, "some results join an auction with a person that came later");
  });
});

describe("nexmark query functions", () => {
  it("q1's price is the exact decimal 0.908 × price as the nearest double", () => {
    assert.equal(dollarsToEuros(12345), 11209.26);
    assert.equal(dollarsToEuros(100), 90.8);
    assert.equal(dollarsToEuros(1), 0.908);
    assert.equal(dollarsToEuros(15), 13.62); // 0.908 * 15 is 13.620000000000001 in floating point
    for (let price = 1; price < 200_000; price += 7) {
      assert.equal(
        dollarsToEuros(price),
        Number(
          `${(price * 908 - ((price * 908) % 1000)) / 1000}.${String((price * 908) % 1000).padStart(3, "0")}`,
        ),
      );
    }
  });

  it("q14's bidTimeType follows the UTC hour: 8-18 day, 20-6 night, 7 and 19 other", () => {
    const at = (h: number) => Date.UTC(2015, 6, 15, h, 30);
    assert.equal(bidTimeType(at(8)), "dayTime");
    assert.equal(bidTimeType(at(18)), "dayTime");
    assert.equal(bidTimeType(at(7)), "otherTime");
    assert.equal(bidTimeType(at(19)), "otherTime");
    assert.equal(bidTimeType(at(20)), "nightTime");
    assert.equal(bidTimeType(at(0)), "nightTime");
    assert.equal(bidTimeType(at(6)), "nightTime");
  });

  it("q21's channel id: hot channels by name (any case), others from the url, else null", () => {
    assert.equal(channelId("Apple", "x"), "0");
    assert.equal(channelId("GOOGLE", "x"), "1");
    assert.equal(channelId("Facebook", "x"), "2");
    assert.equal(channelId("baidu", "x"), "3");
    assert.equal(channelId("channel-7", "https://a/b?query=1&channel_id=123&z=1"), "123");
    assert.equal(channelId("channel-7", "channel_id=9"), "9");
    assert.equal(channelId("channel-7", "https://a/b?xchannel_id=9"), null);
    assert.equal(channelId("channel-7", "https://a/b?query=1"), null);
    assert.equal(channelId("channel-7", "https://a/b?q=1&channel_id="), "");
  });

  it("q22's SPLIT_INDEX keeps empty pieces and is null past the end", () => {
    const url = "https://www.nexmark.com/abc/de/f/item.htm?query=1";
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => splitIndex(url, "/", i)),
      ["https:", "", "www.nexmark.com", "abc", "de", "f", "item.htm?query=1", null],
    );
    assert.equal(splitIndex("a//b", "/", 1), "");
  });

  it("an unknown query is refused, listing the queries", () => {
    assert.throws(
      () => nexmarkQuery("q99"),
      /unknown Nexmark query 'q99'. Queries: q0, q1, q2, q3, q4, q5, q7, q8, q9, q11, q12, q13, q14, q18, q19, q21, q22/,
    );
    assert.equal(nexmarkQuery("3").name, "q3");
    assert.equal(nexmarkQuery("Q14").name, "q14");
  });
});

describe("nexmark sources", () => {
  /** Every event of a source run as "timestamp|json", sorted. */
  async function readAll(source: NexmarkSource | NexmarkJsonLinesSource, p: number): Promise<string[]> {
    const env = new StreamExecutionEnvironment({ parallelism: p });
    const out = env
      .fromSource(source, "Nexmark")
      .process<string>({
        processElement(e: NexmarkEvent, ctx: ProcessContext, o) {
          o.collect(`${ctx.timestamp()}|${eventToJson(e)}`);
        },
      })
      .collect();
    await env.execute();
    return out.values.sort();
  }
  const expected = events.map((e) => `${e.timestamp}|${eventToJson(e)}`).sort();

  for (const p of [1, 2, 3]) {
    it(`the generator source reads generateRange's events, with their dateTime as timestamp, at p=${p}`, async () => {
      assert.deepEqual(await readAll(new NexmarkSource({ numEvents: N, seed: SEED }), p), expected);
    });
  }

  it("the events cross a keyed exchange with the Nexmark event type and come back equal", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const out = env
      .fromSource(new NexmarkSource({ numEvents: 5000, seed: SEED }), "Nexmark")
      .keyBy((e) => e.type)
      .process<string>({
        processElement: (e: NexmarkEvent, _ctx: ProcessContext, o: Collector<string>) =>
          o.collect(eventToJson(e)),
      })
      .collect();
    await env.execute();
    assert.deepEqual(out.values.sort(), events.slice(0, 5000).map(eventToJson).sort());
  });

  it("splits a bounded stream into a few event ranges per reader, and an unbounded one into endless ranges", () => {
    const assigned: Array<[number, { from: number; to: number }]> = [];
    const done: number[] = [];
    const ctx = {
      parallelism: 2,
      assignSplit: (split: { from: number; to: number }, subtask: number) => assigned.push([subtask, split]),
      signalNoMoreSplits: (subtask: number) => done.push(subtask),
    };
    const bounded = new NexmarkSource({ numEvents: 1000, seed: SEED }, { splitsPerReader: 3 });
    assert.equal(bounded.boundedness, "bounded");
    const e = bounded.createEnumerator(ctx);
    void e.start();
    for (let i = 0; i < 7; i++) e.handleSplitRequest(i % 2);
    assert.deepEqual(
      assigned.map(([, s]) => s),
      [0, 167, 334, 501, 668, 834].map((from, i, a) => ({ from, to: a[i + 1] ?? 1000 })),
    );
    assert.deepEqual(done, [0]);

    assigned.length = 0;
    const unbounded = new NexmarkSource({ numEvents: 0, seed: SEED });
    assert.equal(unbounded.boundedness, "unbounded");
    const u = unbounded.createEnumerator(ctx);
    void u.start();
    u.handleSplitRequest(0);
    u.handleSplitRequest(1);
    u.addSplitsBack?.([assigned[0]![1]], 0);
    u.handleSplitRequest(1);
    u.handleSplitRequest(1);
    const R = 1 << 20;
    assert.deepEqual(assigned, [
      [0, { from: 0, to: R }],
      [1, { from: R, to: 2 * R }],
      [1, { from: 0, to: R }],
      [1, { from: 2 * R, to: 3 * R }],
    ]);
    assert.throws(() => new NexmarkSource({ numEvents: 10 }, { splitsPerReader: 0 }), /splitsPerReader/);
    assert.throws(() => new NexmarkSource({ numEvents: -1 }), /numEvents/);
  });

  it("watermarks are dateTime - 4 s: the generator's own, or the timestamp's for file events", () => {
    const g = new NexmarkWatermarkGenerator();
    const emitted: number[] = [];
    const out = { emitWatermark: (w: number) => emitted.push(w), markIdle() {}, markActive() {} };
    g.onPeriodicEmit(out);
    const shuffled = [
      ...generateRange(nexmarkConfig({ numEvents: 100, seed: SEED, outOfOrderGroupSize: 10 }), 0, 100),
    ];
    for (const e of shuffled.slice(0, 15)) g.onEvent(e, e.timestamp);
    g.onPeriodicEmit(out);
    g.onPeriodicEmit(out);
    assert.deepEqual(emitted, [shuffled[10]!.watermark]);
    assert.equal(shuffled[10]!.watermark, Math.min(...shuffled.slice(10, 20).map((e) => e.timestamp)) - 4000);
    const fromFile: NexmarkEvent = { type: "bid", bid: { ...shuffled.find((e) => e.type === "bid")!.bid } };
    const h = new NexmarkWatermarkGenerator();
    h.onEvent(fromFile, 1_000_000);
    h.onPeriodicEmit(out);
    assert.equal(emitted.at(-1), 1_000_000 - 4000);
  });

  it("with the Nexmark watermarks no event of the generator is behind the watermark", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const late = env
      .fromSource(new NexmarkSource({ numEvents: 200_000, seed: SEED }), nexmarkWatermarks(), "Nexmark")
      .process<string>({
        processElement(e: NexmarkEvent, ctx: ProcessContext, o: Collector<string>) {
          if (ctx.timerService().currentWatermark() >= ctx.timestamp()!) o.collect(eventToJson(e));
        },
      })
      .collect();
    await env.execute();
    assert.deepEqual(late.values, []);
  });

  it("the JSON-lines source reads a generated file at p=2 as the generator's events", async () => {
    const file = join(dir, "events.jsonl");
    writeFileSync(file, `${events.map(eventToJson).join("\n")}\n`);
    assert.deepEqual(await readAll(new NexmarkJsonLinesSource(file), 2), expected);
  });

  it("a malformed line fails the job naming the file and the line number", async () => {
    const file = join(dir, "bad.jsonl");
    const lines = events.slice(0, 10).map(eventToJson);
    lines[6] = '{"type":"bid","auction":1000,"bidder":"x"}';
    writeFileSync(file, `${lines.join("\n")}\n`);
    await assert.rejects(readAll(new NexmarkJsonLinesSource(file), 1), (e: Error) => {
      assert.match(e.message, /bad\.jsonl:7: malformed Nexmark event: field 'bidder' must be an integer/);
      return true;
    });
  });
});
