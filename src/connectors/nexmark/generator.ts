// Nexmark event generator: event n is a pure function of (config, n), following the reference NexmarkGenerator.

import * as reference from "./config.ts";
import type { NexmarkConfig } from "./config.ts";
import type { Auction, Bid, NexmarkEventType, Person, TimestampedNexmarkEvent } from "./model.ts";

// Local copies of the imported constants: the event loop reads them millions of times a second and, as
// transpiled by tsx, an imported binding is a getter call (measured at ~30% of generation time).
const {
  AUCTION_ID_LEAD,
  AUCTION_PROPORTION,
  FIRST_AUCTION_ID,
  FIRST_CATEGORY_ID,
  FIRST_NAMES,
  FIRST_PERSON_ID,
  HOT_BATCH_SIZE,
  HOT_CHANNELS,
  LAST_NAMES,
  MAX_EVENT_NUMBER,
  NEXMARK_WATERMARK_LAG_MS,
  NUM_CATEGORIES,
  NUM_CHANNELS,
  NexmarkConfigError,
  PERSON_ID_LEAD,
  PERSON_PROPORTION,
  PROPORTION_DENOMINATOR,
  timestampForEvent,
  timestampOnTimeline,
  timelineEventNumber,
  US_CITIES,
  US_STATES,
} = reference;
const HOT_CHANNELS_RATIO = 2;
const LN_10_POW_6 = 6 * Math.LN10;
const FULL_NAMES = FIRST_NAMES.flatMap((f) => LAST_NAMES.map((l) => `${f} ${l}`));
const LETTERS = Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i));

// ---- Pseudo-random numbers: xoshiro128** in module state, reseeded for every event from (seed, stream, key),
// so any event can be generated alone. Generation is synchronous, so one shared state is safe.

const TWO_32 = 4_294_967_296;
const STREAM_EVENT = 0;
const STREAM_HOT_URL = 1;
const STREAM_CHANNEL_URL = 2;
const STREAM_PADDING = 3;

let s0 = 0;
let s1 = 0;
let s2 = 0;
let s3 = 0;

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return (x ^ (x >>> 16)) | 0;
}

/** Seed the state from a 64-bit seed and a non-negative key; distinct keys give distinct states. */
function seedRandom(seed: number, stream: number, key: number): void {
  const kA = mix32((seed >>> 0) ^ Math.imul(stream + 1, 0x9e3779b9));
  const kB = mix32((Math.floor(seed / TWO_32) >>> 0) ^ 0x243f6a88 ^ kA);
  s0 = mix32((key >>> 0) ^ kA);
  s1 = mix32((Math.floor(key / TWO_32) >>> 0) ^ kB ^ s0);
  s2 = mix32((s0 ^ s1) + 0x6a09e667);
  s3 = mix32((s1 + s2) ^ 0x3c6ef372);
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
}

function nextU32(): number {
  const r = Math.imul(s1, 5);
  const result = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = (s3 << 11) | (s3 >>> 21);
  return result;
}

/** Uniform double in [0, 1) with 53 random bits (java.util.Random#nextDouble's role). */
function nextDouble(): number {
  return ((nextU32() >>> 5) * 67_108_864 + (nextU32() >>> 6)) / 9_007_199_254_740_992;
}

/** Uniform integer in [0, bound), bound >= 1 (the reference's nextInt / LongGenerator.nextLong). */
function nextInt(bound: number): number {
  if (bound <= TWO_32) return Math.floor((nextU32() * bound) / TWO_32);
  return Math.min(bound - 1, Math.floor(nextDouble() * bound));
}

// ---- Ids: which person/auction exists at a given event id (reference PersonGenerator/AuctionGenerator).

/** The kind of event `eventId` is: by eventId mod 50, 0 person, 1-3 auction, 4-49 bid. */
export function eventTypeOf(eventId: number): NexmarkEventType {
  const rem = eventId % PROPORTION_DENOMINATOR;
  return rem < PERSON_PROPORTION
    ? "person"
    : rem < PERSON_PROPORTION + AUCTION_PROPORTION
      ? "auction"
      : "bid";
}

/** Last person id (base 0) created at or before `eventId`; it is this event's id if it is a person. */
export function lastBase0PersonId(eventId: number): number {
  const epoch = Math.floor(eventId / PROPORTION_DENOMINATOR);
  const offset = Math.min(eventId % PROPORTION_DENOMINATOR, PERSON_PROPORTION - 1);
  return epoch * PERSON_PROPORTION + offset;
}

/** Last auction id (base 0) created at or before `eventId` (-1 before the first); this event's id if an auction. */
export function lastBase0AuctionId(eventId: number): number {
  let epoch = Math.floor(eventId / PROPORTION_DENOMINATOR);
  let offset = eventId % PROPORTION_DENOMINATOR;
  if (offset < PERSON_PROPORTION) {
    epoch--;
    offset = AUCTION_PROPORTION - 1;
  } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) {
    offset = AUCTION_PROPORTION - 1;
  } else {
    offset -= PERSON_PROPORTION;
  }
  return epoch * AUCTION_PROPORTION + offset;
}

/** A random recent person: one of the last numActivePeople, or up to PERSON_ID_LEAD not yet created. */
function nextBase0PersonId(eventId: number, config: NexmarkConfig): number {
  const numPeople = lastBase0PersonId(eventId) + 1;
  const activePeople = Math.min(numPeople, config.numActivePeople);
  return numPeople - activePeople + nextInt(activePeople + PERSON_ID_LEAD);
}

/** A random in-flight auction: one of the last numInFlightAuctions, or up to AUCTION_ID_LEAD ahead. */
function nextBase0AuctionId(eventId: number, config: NexmarkConfig): number {
  const maxAuction = lastBase0AuctionId(eventId);
  const minAuction = Math.max(maxAuction - config.numInFlightAuctions, 0);
  return minAuction + nextInt(maxAuction - minAuction + 1 + AUCTION_ID_LEAD);
}

// ---- Strings (reference StringsGenerator / PriceGenerator).

/** 3..maxLength-1 characters, each `special` with probability 1/13 else a random letter; trimmed. */
function nextString(maxLength: number, special: string): string {
  let len = 3 + nextInt(maxLength - 3);
  let s = "";
  while (len-- > 0) {
    const x = nextInt(13 * 26); // one draw decides both: x < 26 has probability 1/13
    s += x < 26 ? special : LETTERS[x % 26];
  }
  return special === " " ? s.trim() : s;
}

/** round(10^(U·6) × 100), computed as exp(6U·ln 10): prices 100 to 100,000,000 (cents), log-uniform. */
function nextPrice(): number {
  return Math.round(Math.exp(nextDouble() * LN_10_POW_6) * 100);
}

const PADDING_POOL_SIZE = 1 << 17;
let paddingPool = "";

/** Random letters that `extra` fields are cut from (one fixed pool: an extra is a slice, not a copy). */
function buildPaddingPool(): string {
  seedRandom(0, STREAM_PADDING, 0);
  const parts: string[] = [];
  const chunk = new Array<number>(4096);
  for (let done = 0; done < PADDING_POOL_SIZE; done += chunk.length) {
    for (let i = 0; i < chunk.length; i++) chunk[i] = 97 + nextInt(26);
    parts.push(String.fromCharCode(...chunk));
  }
  return parts.join("");
}

/** Padding so that currentSize + length averages desiredAverageSize: uniform in [d - δ, d + δ), δ = round(d/5). */
function nextExtra(currentSize: number, desiredAverageSize: number): string {
  if (currentSize > desiredAverageSize) return "";
  const d = desiredAverageSize - currentSize;
  const delta = Math.round(d * 0.2);
  const size = d - delta + (delta === 0 ? 0 : nextInt(2 * delta));
  if (size === 0) return "";
  const offset = nextInt(PADDING_POOL_SIZE - size + 1);
  return paddingPool.slice(offset, offset + size);
}

// ---- Per-seed tables: the bid channels' URLs (the reference caches one URL per channel).

interface SeedTables {
  seed: number;
  hotUrls: string[];
  channelNames: string[];
  channelUrls: string[];
}

function nextBaseUrl(): string {
  return `https://www.nexmark.com/${nextString(5, "_")}/${nextString(5, "_")}/${nextString(5, "_")}/item.htm?query=1`;
}

/** Integer.reverse then Math.abs with Java int semantics (abs(MIN_VALUE) stays negative, as in the reference). */
function javaAbsReverse(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  x = (x >>> 16) | (x << 16) | 0;
  return x === -2147483648 ? x : Math.abs(x);
}

let lastTables: SeedTables | undefined;
const tablesBySeed = new Map<number, SeedTables>();

function tablesFor(seed: number): SeedTables {
  if (lastTables !== undefined && lastTables.seed === seed) return lastTables;
  let tables = tablesBySeed.get(seed);
  if (tables === undefined) {
    if (paddingPool === "") paddingPool = buildPaddingPool();
    const hotUrls = HOT_CHANNELS.map((_, i) => {
      seedRandom(seed, STREAM_HOT_URL, i);
      return nextBaseUrl();
    });
    const channelNames = new Array<string>(NUM_CHANNELS);
    const channelUrls = new Array<string>(NUM_CHANNELS);
    for (let k = 0; k < NUM_CHANNELS; k++) {
      seedRandom(seed, STREAM_CHANNEL_URL, k);
      const url = nextBaseUrl();
      channelNames[k] = `channel-${k}`;
      channelUrls[k] = nextInt(10) > 0 ? `${url}&channel_id=${javaAbsReverse(k)}` : url;
    }
    tables = { seed, hotUrls, channelNames, channelUrls };
    if (tablesBySeed.size >= 16) tablesBySeed.clear();
    tablesBySeed.set(seed, tables);
  }
  lastTables = tables;
  return tables;
}

// ---- Events (reference PersonGenerator.nextPerson, AuctionGenerator.nextAuction, BidGenerator.nextBid).

function nextPerson(eventId: number, timestamp: number, config: NexmarkConfig): Person {
  const id = lastBase0PersonId(eventId) + FIRST_PERSON_ID;
  const name = FULL_NAMES[nextInt(FIRST_NAMES.length) * LAST_NAMES.length + nextInt(LAST_NAMES.length)]!;
  const emailAddress = `${nextString(7, " ")}@${nextString(5, " ")}.com`;
  const creditCard = `${card4()} ${card4()} ${card4()} ${card4()}`;
  const city = US_CITIES[nextInt(US_CITIES.length)]!;
  const state = US_STATES[nextInt(US_STATES.length)]!;
  const currentSize = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length;
  const extra = nextExtra(currentSize, config.avgPersonByteSize);
  return { id, name, emailAddress, creditCard, city, state, dateTime: timestamp, extra };
}

function card4(): string {
  return String(nextInt(10_000)).padStart(4, "0");
}

function nextAuction(eventId: number, timestamp: number, config: NexmarkConfig): Auction {
  const id = lastBase0AuctionId(eventId) + FIRST_AUCTION_ID;
  let seller: number;
  if (nextInt(config.hotSellersRatio) > 0) {
    seller = Math.floor(lastBase0PersonId(eventId) / HOT_BATCH_SIZE) * HOT_BATCH_SIZE;
  } else {
    seller = nextBase0PersonId(eventId, config);
  }
  seller += FIRST_PERSON_ID;
  const category = FIRST_CATEGORY_ID + nextInt(NUM_CATEGORIES);
  const initialBid = nextPrice();
  // Auction length averages the time until numInFlightAuctions more auctions have been created.
  const eventsForAuctions = Math.floor(
    (config.numInFlightAuctions * PROPORTION_DENOMINATOR) / AUCTION_PROPORTION,
  );
  // Measured on the auction's own timeline (the same as the stream's with one timeline).
  const local = timelineEventNumber(config, eventId);
  const horizonMs =
    timestampOnTimeline(config, local + eventsForAuctions) - timestampOnTimeline(config, local);
  const expires = timestamp + 1 + nextInt(Math.max(horizonMs * 2, 1));
  const itemName = nextString(20, " ");
  const description = nextString(100, " ");
  const reserve = initialBid + nextPrice();
  const currentSize = 8 + itemName.length + description.length + 8 + 8 + 8 + 8 + 8;
  const extra = nextExtra(currentSize, config.avgAuctionByteSize);
  return {
    id,
    itemName,
    description,
    initialBid,
    reserve,
    dateTime: timestamp,
    expires,
    seller,
    category,
    extra,
  };
}

function nextBid(eventId: number, timestamp: number, config: NexmarkConfig, tables: SeedTables): Bid {
  let auction: number;
  if (nextInt(config.hotAuctionRatio) > 0) {
    auction = Math.floor(lastBase0AuctionId(eventId) / HOT_BATCH_SIZE) * HOT_BATCH_SIZE;
  } else {
    auction = nextBase0AuctionId(eventId, config);
  }
  auction += FIRST_AUCTION_ID;
  let bidder: number;
  if (nextInt(config.hotBiddersRatio) > 0) {
    // The second person of the batch, so hot bidders and hot sellers differ.
    bidder = Math.floor(lastBase0PersonId(eventId) / HOT_BATCH_SIZE) * HOT_BATCH_SIZE + 1;
  } else {
    bidder = nextBase0PersonId(eventId, config);
  }
  bidder += FIRST_PERSON_ID;
  const price = nextPrice();
  let channel: string;
  let url: string;
  if (nextInt(HOT_CHANNELS_RATIO) > 0) {
    const i = nextInt(HOT_CHANNELS.length);
    channel = HOT_CHANNELS[i]!;
    url = tables.hotUrls[i]!;
  } else {
    const k = nextInt(NUM_CHANNELS);
    channel = tables.channelNames[k]!;
    url = tables.channelUrls[k]!;
  }
  const extra = nextExtra(8 + 8 + 8 + 8, config.avgBidByteSize);
  return { auction, bidder, price, channel, url, dateTime: timestamp, extra };
}

function makeEvent(config: NexmarkConfig, tables: SeedTables, n: number): TimestampedNexmarkEvent {
  // The reference shuffles events inside groups of outOfOrderGroupSize; the watermark is the group's
  // first event time (no event after it is earlier) minus the Nexmark watermark lag.
  const g = config.outOfOrderGroupSize;
  let eventId = n;
  let groupStart = n;
  if (g !== 1) {
    groupStart = n - (n % g);
    eventId = groupStart + ((n * 953) % g);
  }
  const timestamp = timestampForEvent(config, eventId);
  const watermark = (g === 1 ? timestamp : timestampForEvent(config, groupStart)) - NEXMARK_WATERMARK_LAG_MS;
  seedRandom(config.seed, STREAM_EVENT, eventId);
  const rem = eventId % PROPORTION_DENOMINATOR;
  if (rem >= PERSON_PROPORTION + AUCTION_PROPORTION) {
    return { type: "bid", bid: nextBid(eventId, timestamp, config, tables), timestamp, watermark };
  }
  if (rem < PERSON_PROPORTION) {
    return { type: "person", person: nextPerson(eventId, timestamp, config), timestamp, watermark };
  }
  return { type: "auction", auction: nextAuction(eventId, timestamp, config), timestamp, watermark };
}

function limitOf(config: NexmarkConfig): number {
  return config.numEvents === 0 ? MAX_EVENT_NUMBER : config.numEvents;
}

function checkEventNumber(name: string, value: number, limit: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > limit) {
    throw new NexmarkConfigError(name, `${value} is not an event number in [0, ${limit}]`);
  }
}

/** Event number `eventNumber` of the stream, with its event time and watermark (dateTime - 4 s). */
export function generateEvent(config: NexmarkConfig, eventNumber: number): TimestampedNexmarkEvent {
  checkEventNumber("eventNumber", eventNumber, limitOf(config) - 1);
  return makeEvent(config, tablesFor(config.seed), eventNumber);
}

/** Events from..to-1; the same events, in the same order, as generateEvent on each number. */
export function generateRange(
  config: NexmarkConfig,
  from: number,
  to: number,
): Generator<TimestampedNexmarkEvent, void, undefined> {
  checkRange(config, from, to);
  return rangeGenerator(config, from, to);
}

function* rangeGenerator(
  config: NexmarkConfig,
  from: number,
  to: number,
): Generator<TimestampedNexmarkEvent, void, undefined> {
  const tables = tablesFor(config.seed);
  for (let n = from; n < to; n++) yield makeEvent(config, tables, n);
}

/** generateRange without the iterator protocol: calls `emit` for events from..to-1, for hot loops. */
export function forEachEvent(
  config: NexmarkConfig,
  from: number,
  to: number,
  emit: (event: TimestampedNexmarkEvent) => void,
): void {
  checkRange(config, from, to);
  const tables = tablesFor(config.seed);
  for (let n = from; n < to; n++) emit(makeEvent(config, tables, n));
}

function checkRange(config: NexmarkConfig, from: number, to: number): void {
  const limit = limitOf(config);
  checkEventNumber("from", from, limit);
  checkEventNumber("to", to, limit);
  if (from > to) throw new NexmarkConfigError("from", `range [${from}, ${to}) has from > to`);
}

/**
 * Split event numbers [0, numEvents) into numSplits contiguous ranges whose sizes differ by at most one
 * (empty ranges when numSplits > numEvents), one per parallel reader.
 */
export function splitRange(numEvents: number, numSplits: number): Array<[number, number]> {
  if (!Number.isSafeInteger(numEvents) || numEvents < 0) {
    throw new NexmarkConfigError(
      "numEvents",
      `${numEvents} is not a count >= 0 (an unbounded stream cannot be split)`,
    );
  }
  if (!Number.isSafeInteger(numSplits) || numSplits < 1) {
    throw new NexmarkConfigError("numSplits", `${numSplits} is not an integer >= 1`);
  }
  const base = Math.floor(numEvents / numSplits);
  const larger = numEvents % numSplits;
  const out: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < numSplits; i++) {
    const end = start + base + (i < larger ? 1 : 0);
    out.push([start, end]);
    start = end;
  }
  return out;
}
