// Tests of the Nexmark generator against the reference generator's rules (ids, proportions, times, sizes).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Auction,
  type Bid,
  eventFromJson,
  eventToJson,
  generateEvent,
  generateRange,
  HOT_CHANNELS,
  NEXMARK_BASE_TIME,
  NEXMARK_WATERMARK_LAG_MS,
  type NexmarkConfig,
  NexmarkConfigError,
  NexmarkFormatError,
  nexmarkConfig,
  type Person,
  splitRange,
  type TimestampedNexmarkEvent,
} from "../../src/connectors/nexmark/index.ts";

const N = 50_000;
const config = nexmarkConfig({ numEvents: N, seed: 42 });
const events: TimestampedNexmarkEvent[] = [...generateRange(config, 0, N)];

/** Reference rule: the last person (base 0) existing at event id n. */
const lastPerson = (n: number) => Math.floor(n / 50);
/** Reference rule: the last auction (base 0) existing at event id n. */
function lastAuction(n: number): number {
  const epoch = Math.floor(n / 50);
  const off = n % 50;
  if (off === 0) return epoch * 3 - 1;
  return epoch * 3 + Math.min(off, 3) - 1;
}

function payload(e: TimestampedNexmarkEvent): Person | Auction | Bid {
  return e.type === "person" ? e.person : e.type === "auction" ? e.auction : e.bid;
}

function sameEvents(a: TimestampedNexmarkEvent[], b: TimestampedNexmarkEvent[]): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.deepEqual(a[i], b[i], `event ${i} differs`);
}

describe("nexmark generator: event kinds and ids", () => {
  it("makes exactly 1 person, 3 auctions and 46 bids in every block of 50 events, by event number mod 50", () => {
    for (let block = 0; block < N / 50; block++) {
      const counts = { person: 0, auction: 0, bid: 0 };
      for (let i = 0; i < 50; i++) {
        const n = block * 50 + i;
        const e = events[n]!;
        counts[e.type]++;
        assert.equal(e.type, i === 0 ? "person" : i <= 3 ? "auction" : "bid", `event ${n}`);
      }
      assert.deepEqual(counts, { person: 1, auction: 3, bid: 46 });
    }
  });

  it("numbers people and auctions consecutively from 1000", () => {
    let nextPerson = 1000;
    let nextAuction = 1000;
    for (const e of events) {
      if (e.type === "person") assert.equal(e.person.id, nextPerson++);
      if (e.type === "auction") assert.equal(e.auction.id, nextAuction++);
    }
    assert.equal(nextPerson, 1000 + N / 50);
    assert.equal(nextAuction, 1000 + (3 * N) / 50);
  });

  it("auctions have categories 10..14, a reserve above the initial bid, a hot or active seller", () => {
    const categories = new Set<number>();
    let hotSellers = 0;
    let auctions = 0;
    for (let n = 0; n < N; n++) {
      const e = events[n]!;
      if (e.type !== "auction") continue;
      const a = e.auction;
      auctions++;
      categories.add(a.category);
      assert.ok(a.category >= 10 && a.category <= 14, `category ${a.category}`);
      assert.ok(a.reserve > a.initialBid, `reserve ${a.reserve} <= initialBid ${a.initialBid}`);
      const last = lastPerson(n);
      const hot = Math.floor(last / 100) * 100;
      if (a.seller - 1000 === hot) hotSellers++;
      const lo = Math.max(0, last + 1 - 1000);
      assert.ok(
        a.seller - 1000 === hot || (a.seller - 1000 >= lo && a.seller - 1000 <= last + 10),
        `seller ${n}`,
      );
      // Length: 1 + U[0, 2 × horizon) where horizon is the time of 100 auctions (1666 events) ahead.
      const horizon = Math.floor((n + 1666) / 10) - Math.floor(n / 10);
      assert.ok(a.expires > a.dateTime && a.expires <= a.dateTime + 2 * horizon, `expires ${n}`);
    }
    assert.equal(categories.size, 5);
    // hotSellersRatio 4: 3/4 of auctions go to the hot seller (plus random hits on it).
    assert.ok(Math.abs(hotSellers / auctions - 0.75) < 0.03, `hot seller share ${hotSellers / auctions}`);
  });

  it("bids refer to hot, in-flight or at most 10-ahead auctions and to hot, active or at most 10-ahead people", () => {
    let hotAuctions = 0;
    let hotBidders = 0;
    let bids = 0;
    for (let n = 0; n < N; n++) {
      const e = events[n]!;
      if (e.type !== "bid") continue;
      const b = e.bid;
      bids++;
      const la = lastAuction(n);
      const hotA = Math.floor(la / 100) * 100;
      const a = b.auction - 1000;
      if (a === hotA) hotAuctions++;
      assert.ok(a === hotA || (a >= Math.max(la - 100, 0) && a <= la + 10), `bid ${n} auction ${b.auction}`);
      const lp = lastPerson(n);
      const hotP = Math.floor(lp / 100) * 100 + 1;
      const p = b.bidder - 1000;
      if (p === hotP) hotBidders++;
      assert.ok(
        p === hotP || (p >= Math.max(lp + 1 - 1000, 0) && p <= lp + 10),
        `bid ${n} bidder ${b.bidder}`,
      );
      assert.ok(p >= 0 && p <= lp + 10);
    }
    assert.ok(Math.abs(hotAuctions / bids - 0.5) < 0.02, `hot auction share ${hotAuctions / bids}`);
    assert.ok(Math.abs(hotBidders / bids - 0.75) < 0.02, `hot bidder share ${hotBidders / bids}`);
  });

  it("prices are round(10^(6U) × 100): within [100, 100000000] and log-uniform", () => {
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    let belowTenThousand = 0;
    let bids = 0;
    for (const e of events) {
      if (e.type !== "bid") continue;
      const p = e.bid.price;
      bids++;
      assert.ok(Number.isInteger(p) && p >= 100 && p <= 100_000_000, `price ${p}`);
      min = Math.min(min, p);
      max = Math.max(max, p);
      if (p < 10_000) belowTenThousand++;
    }
    assert.ok(min < 200 && max > 50_000_000, `prices span ${min}..${max}`);
    assert.ok(Math.abs(belowTenThousand / bids - 1 / 3) < 0.02, "a third of prices are below 10^4");
  });

  it("uses the reference's names, places, channels and URL shapes", () => {
    const channels = new Map<string, string>();
    let hot = 0;
    let bids = 0;
    for (const e of events) {
      if (e.type === "person") {
        const p = e.person;
        assert.match(p.name, /^(Peter|Paul|Luke|John|Saul|Vicky|Kate|Julie|Sarah|Deiter|Walter) \w+$/);
        assert.ok(["AZ", "CA", "ID", "OR", "WA", "WY"].includes(p.state));
        assert.match(p.creditCard, /^\d{4} \d{4} \d{4} \d{4}$/);
        assert.match(p.emailAddress, /^[a-z ]*@[a-z ]*\.com$/); // may be empty: the reference trims spaces
      } else if (e.type === "bid") {
        const b = e.bid;
        bids++;
        if (HOT_CHANNELS.includes(b.channel)) hot++;
        else assert.match(b.channel, /^channel-\d{1,4}$/);
        assert.match(
          b.url,
          /^https:\/\/www\.nexmark\.com\/[a-z_]{3,4}\/[a-z_]{3,4}\/[a-z_]{3,4}\/item\.htm\?query=1/,
        );
        assert.match(b.url, /item\.htm\?query=1(&channel_id=-?\d+)?$/);
        const seen = channels.get(b.channel);
        if (seen === undefined) channels.set(b.channel, b.url);
        else assert.equal(b.url, seen, `channel ${b.channel} keeps one URL`);
      }
    }
    assert.ok(Math.abs(hot / bids - 0.5) < 0.02, `hot channel share ${hot / bids}`);
    const withId = [...channels].filter(([c, u]) => c.startsWith("channel-") && u.includes("channel_id="));
    const plain = [...channels].filter(([c]) => c.startsWith("channel-"));
    assert.ok(Math.abs(withId.length / plain.length - 0.9) < 0.03, "9 in 10 channel URLs carry channel_id");
  });

  it("pads events with extra to average sizes 200 / 500 / 100 bytes as the reference counts them", () => {
    const sums = { person: 0, auction: 0, bid: 0 };
    const counts = { person: 0, auction: 0, bid: 0 };
    for (const e of events) {
      let size: number;
      if (e.type === "person") {
        const p = e.person;
        size =
          8 + p.name.length + p.emailAddress.length + p.creditCard.length + p.city.length + p.state.length;
        size += p.extra.length;
      } else if (e.type === "auction") {
        size = 8 + e.auction.itemName.length + e.auction.description.length + 40 + e.auction.extra.length;
      } else {
        size = 32 + e.bid.extra.length;
      }
      assert.match(payload(e).extra, /^[a-z]*$/);
      sums[e.type] += size;
      counts[e.type]++;
    }
    assert.ok(Math.abs(sums.person / counts.person - 200) < 3, `person ${sums.person / counts.person}`);
    assert.ok(Math.abs(sums.auction / counts.auction - 500) < 5, `auction ${sums.auction / counts.auction}`);
    assert.ok(Math.abs(sums.bid / counts.bid - 100) < 1, `bid ${sums.bid / counts.bid}`);
  });
});

describe("nexmark generator: event time", () => {
  it("stamps event n at baseTime + n × 100 µs at 10,000 events/s, monotone, watermark dateTime - 4 s", () => {
    let previous = Number.NEGATIVE_INFINITY;
    for (let n = 0; n < N; n++) {
      const e = events[n]!;
      assert.equal(e.timestamp, NEXMARK_BASE_TIME + Math.floor(n / 10));
      assert.equal(payload(e).dateTime, e.timestamp);
      assert.equal(e.watermark, e.timestamp - NEXMARK_WATERMARK_LAG_MS);
      assert.ok(e.timestamp >= previous);
      previous = e.timestamp;
    }
  });

  it("follows firstEventRate and baseTime", () => {
    const c = nexmarkConfig({ firstEventRate: 3, baseTime: 1_000_000 });
    assert.equal(generateEvent(c, 0).timestamp, 1_000_000);
    assert.equal(generateEvent(c, 1).timestamp, 1_000_333);
    assert.equal(generateEvent(c, 3).timestamp, 1_001_000);
    const fast = nexmarkConfig({ firstEventRate: 1_000_000 });
    assert.equal(generateEvent(fast, 12_345).timestamp, NEXMARK_BASE_TIME + 12);
  });

  it("shuffles inside groups of outOfOrderGroupSize, and the watermark never passes a later event", () => {
    const c = nexmarkConfig({ outOfOrderGroupSize: 64, numEvents: 6400 });
    const shuffled = [...generateRange(c, 0, 6400)];
    const inOrder = [...generateRange(nexmarkConfig({ numEvents: 6400 }), 0, 6400)];
    let moved = 0;
    for (let g = 0; g < 6400; g += 64) {
      const key = (e: TimestampedNexmarkEvent) => eventToJson(e);
      const a = shuffled
        .slice(g, g + 64)
        .map(key)
        .sort();
      const b = inOrder
        .slice(g, g + 64)
        .map(key)
        .sort();
      assert.deepEqual(a, b, `group at ${g} holds the same events`);
      for (let i = g; i < g + 64; i++) if (key(shuffled[i]!) !== key(inOrder[i]!)) moved++;
    }
    assert.ok(moved > 3000, "events were reordered");
    let minLater = Number.POSITIVE_INFINITY;
    for (let i = shuffled.length - 1; i >= 0; i--) {
      minLater = Math.min(minLater, shuffled[i]!.timestamp);
      assert.ok(shuffled[i]!.watermark! <= minLater - NEXMARK_WATERMARK_LAG_MS, `watermark at ${i}`);
    }
  });
});

describe("nexmark generator: determinism and splits", () => {
  it("generates the same events on every run and for every slice; other seeds differ", () => {
    sameEvents([...generateRange(config, 0, 5000)], events.slice(0, 5000));
    for (const n of [0, 1, 4, 49, 50, 12_345, N - 1]) assert.deepEqual(generateEvent(config, n), events[n]);
    sameEvents([...generateRange(config, 777, 1234)], events.slice(777, 1234));
    const other = [...generateRange(nexmarkConfig({ seed: 43 }), 0, 200)];
    const differing = other.filter((e, i) => eventToJson(e) !== eventToJson(events[i]!)).length;
    assert.ok(differing > 190, `seed changes the data (${differing}/200 differ)`);
  });

  it("pins the data across processes and versions: FNV-1a of the first 2000 JSON lines of seed 42", () => {
    let h = 0x811c9dc5;
    for (const e of events.slice(0, 2000)) {
      const line = `${eventToJson(e)}\n`;
      for (let i = 0; i < line.length; i++) h = Math.imul(h ^ line.charCodeAt(i), 0x01000193);
    }
    assert.equal(
      (h >>> 0).toString(16),
      "4f3a398a",
      "generated data changed: update the pin only on purpose",
    );
  });

  it("concatenating the ranges of 1, 2, 3 and 7 splits gives the one-range stream", () => {
    for (const splits of [1, 2, 3, 7]) {
      const ranges = splitRange(N, splits);
      assert.equal(ranges.length, splits);
      const all: TimestampedNexmarkEvent[] = [];
      // Read the splits in reverse to show no reader depends on another's progress.
      const parts = ranges.map(() => [] as TimestampedNexmarkEvent[]);
      for (let i = ranges.length - 1; i >= 0; i--) parts[i]!.push(...generateRange(config, ...ranges[i]!));
      for (const p of parts) all.push(...p);
      sameEvents(all, events);
    }
  });

  it("splitRange covers [0, numEvents) contiguously with sizes differing by at most one", () => {
    assert.deepEqual(splitRange(10, 3), [
      [0, 4],
      [4, 7],
      [7, 10],
    ]);
    assert.deepEqual(splitRange(2, 4), [
      [0, 1],
      [1, 2],
      [2, 2],
      [2, 2],
    ]);
    assert.deepEqual(splitRange(0, 2), [
      [0, 0],
      [0, 0],
    ]);
    assert.throws(() => splitRange(10, 0), /numSplits/);
    assert.throws(() => splitRange(-1, 2), /numEvents/);
  });

  it("rejects event numbers outside the stream", () => {
    assert.throws(() => generateRange(config, 10, 5), NexmarkConfigError);
    assert.throws(() => generateRange(config, 0, N + 1), /'to'/);
    assert.throws(() => generateEvent(config, N), /'eventNumber'/);
    assert.throws(() => generateEvent(config, -1), /'eventNumber'/);
    assert.throws(() => generateEvent(config, 1.5), /'eventNumber'/);
    assert.doesNotThrow(() => generateEvent(nexmarkConfig({ numEvents: 0 }), 1e12));
  });
});

describe("nexmark generator: config", () => {
  it("has the reference defaults", () => {
    const c: NexmarkConfig = nexmarkConfig();
    assert.equal(c.firstEventRate, 10_000);
    assert.equal(c.baseTime, NEXMARK_BASE_TIME);
    assert.deepEqual(
      [c.avgPersonByteSize, c.avgAuctionByteSize, c.avgBidByteSize, c.hotAuctionRatio, c.hotSellersRatio],
      [200, 500, 100, 2, 4],
    );
    assert.deepEqual(
      [c.hotBiddersRatio, c.numActivePeople, c.numInFlightAuctions, c.outOfOrderGroupSize],
      [4, 1000, 100, 1],
    );
  });

  it("rejects bad values with an error naming the field", () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ firstEventRate: 0 }, "firstEventRate"],
      [{ firstEventRate: Number.NaN }, "firstEventRate"],
      [{ numEvents: -1 }, "numEvents"],
      [{ numEvents: 2.5 }, "numEvents"],
      [{ seed: "1" }, "seed"],
      [{ hotAuctionRatio: 0 }, "hotAuctionRatio"],
      [{ avgBidByteSize: 1e9 }, "avgBidByteSize"],
      [{ numActivePeople: 0 }, "numActivePeople"],
      [{ outOfOrderGroupSize: 953 }, "outOfOrderGroupSize"],
      [{ numEvent: 10 }, "numEvent"],
    ];
    for (const [overrides, field] of bad) {
      assert.throws(
        () => nexmarkConfig(overrides as Partial<NexmarkConfig>),
        (e: unknown) =>
          e instanceof NexmarkConfigError && e.field === field && e.message.includes(`'${field}'`),
        JSON.stringify(overrides),
      );
    }
  });
});

describe("nexmark generator: JSON lines", () => {
  it("round-trips every kind of event", () => {
    for (const e of events.slice(0, 2000)) {
      const line = eventToJson(e);
      assert.ok(!line.includes("\n"));
      const { timestamp: _t, watermark: _w, ...plain } = e;
      assert.deepEqual(eventFromJson(line), plain);
      const flat = JSON.parse(line);
      assert.equal(flat.type, e.type);
      assert.equal(flat.dateTime, payload(e).dateTime);
    }
  });

  it("writes flat objects with the type first", () => {
    assert.match(
      eventToJson(events[4]!),
      /^\{"type":"bid","auction":\d+,"bidder":\d+,"price":\d+,"channel":/,
    );
    assert.match(eventToJson(events[0]!), /^\{"type":"person","id":1000,"name":/);
  });

  it("names the line in errors for malformed input", () => {
    const good = JSON.parse(eventToJson(events[4]!));
    const cases: Array<[string, RegExp]> = [
      ["{not json", /line 7: not valid JSON/],
      ["[1,2]", /line 7: not a JSON object/],
      ['{"type":"sale"}', /line 7: field 'type' must be "person", "auction" or "bid", got "sale"/],
      [JSON.stringify({ ...good, price: "12" }), /line 7: field 'price' must be an integer, got "12"/],
      [JSON.stringify({ ...good, url: undefined }), /line 7: field 'url' must be a string, got nothing/],
      ["", /line 7: not valid JSON/],
    ];
    for (const [line, message] of cases) {
      assert.throws(
        () => eventFromJson(line, 7),
        (e: unknown) => e instanceof NexmarkFormatError && e.lineNumber === 7 && message.test(e.message),
        line,
      );
    }
    assert.throws(() => eventFromJson("{"), /^NexmarkFormatError: Nexmark JSON: not valid JSON/);
  });
});
