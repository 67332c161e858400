// Nexmark generator configuration: the reference suite's constants, defaults, validation and event-time clock.

/** Ids start here so that queries find matches even on small synthetic data sets (reference GeneratorConfig). */
export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
/** Categories are FIRST_CATEGORY_ID .. FIRST_CATEGORY_ID + NUM_CATEGORIES - 1. */
export const NUM_CATEGORIES = 5;

/** Out of every PROPORTION_DENOMINATOR events: 1 person, 3 auctions, 46 bids (by event id mod 50). */
export const PERSON_PROPORTION = 1;
export const AUCTION_PROPORTION = 3;
export const BID_PROPORTION = 46;
export const PROPORTION_DENOMINATOR = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;

/** Ids of yet-to-be-created people/auctions a bid or auction may refer to (reference *_ID_LEAD). */
export const PERSON_ID_LEAD = 10;
export const AUCTION_ID_LEAD = 10;
/** Hot sellers/bidders/auctions are the first of each batch of this many recent ids. */
export const HOT_BATCH_SIZE = 100;
/** Half the bids come through one of these channels; the rest through "channel-<0..NUM_CHANNELS-1>". */
export const HOT_CHANNELS: readonly string[] = ["Google", "Facebook", "Baidu", "Apple"];
export const NUM_CHANNELS = 10_000;

/** The reference's vocabularies for people (kept small so that queries find matches). */
export const US_STATES: readonly string[] = "AZ,CA,ID,OR,WA,WY".split(",");
export const US_CITIES: readonly string[] =
  "Phoenix,Los Angeles,San Francisco,Boise,Portland,Bend,Redmond,Seattle,Kent,Cheyenne".split(",");
export const FIRST_NAMES: readonly string[] =
  "Peter,Paul,Luke,John,Saul,Vicky,Kate,Julie,Sarah,Deiter,Walter".split(",");
export const LAST_NAMES: readonly string[] =
  "Shultz,Abrams,Spencer,White,Bartels,Walton,Smith,Jones,Noris".split(",");

/** Event time of event 0 unless configured: 2015-07-15T00:00:00Z, the reference suite's BASE_TIME. */
export const NEXMARK_BASE_TIME = 1_436_918_400_000;

/** Watermark lag of the Nexmark sources: watermark = dateTime - 4 s, as in the Flink Nexmark DDL. */
export const NEXMARK_WATERMARK_LAG_MS = 4000;

/**
 * Largest event number the generator accepts: the reference's out-of-order shuffle computes
 * eventNumber × 953, which must stay an exact double.
 */
export const MAX_EVENT_NUMBER = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

/** Largest configurable average byte size (bounds the padding pool, see generator.ts). */
export const MAX_AVG_BYTE_SIZE = 65_536;

export interface NexmarkConfig {
  /** Events per second of synthetic event time (constant rate). */
  firstEventRate: number;
  /** Total number of events of the stream; 0 means unbounded. */
  numEvents: number;
  /** Seed of the pseudo-random data; event n is a pure function of (config, n). */
  seed: number;
  /** Event time (epoch ms) of event number 0. */
  baseTime: number;
  avgPersonByteSize: number;
  avgAuctionByteSize: number;
  avgBidByteSize: number;
  /** A bid goes to a hot auction with probability 1 - 1/hotAuctionRatio. */
  hotAuctionRatio: number;
  /** An auction is by a hot seller with probability 1 - 1/hotSellersRatio. */
  hotSellersRatio: number;
  /** A bid is by a hot bidder with probability 1 - 1/hotBiddersRatio. */
  hotBiddersRatio: number;
  /** How many of the most recent people are candidates for (non-hot) sellers and bidders. */
  numActivePeople: number;
  /** How many of the most recent auctions are candidates for (non-hot) bids; also sets auction lengths. */
  numInFlightAuctions: number;
  /** Events are shuffled in groups of this size (1 = in order), as the reference does. */
  outOfOrderGroupSize: number;
  /**
   * Event-time timelines the stream is cut into (1 = one timeline: event n at n / firstEventRate).
   * With T > 1, as when Flink's generator gives each of T parallel instances its own split, each
   * timeline starts at baseTime and runs at firstEventRate / T, so that the whole stream still has
   * firstEventRate events per second of event time. A bounded stream's timelines are T contiguous
   * ranges of event numbers (an unbounded one's would be blocks of TIMELINE_BLOCK_EVENTS dealt round
   * robin; NexmarkSource reads several timelines of bounded streams only). Only the event times
   * change: event ids, kinds and contents stay those of event n.
   */
  timelines: number;
}

/** Events per block of an unbounded stream's timelines (its source splits never cross one). */
export const TIMELINE_BLOCK_EVENTS = 1 << 20;

/** The reference suite's defaults (Beam NexmarkConfiguration / Flink nexmark). */
export const DEFAULT_NEXMARK_CONFIG: Readonly<NexmarkConfig> = Object.freeze({
  firstEventRate: 10_000,
  numEvents: 100_000_000,
  seed: 0,
  baseTime: NEXMARK_BASE_TIME,
  avgPersonByteSize: 200,
  avgAuctionByteSize: 500,
  avgBidByteSize: 100,
  hotAuctionRatio: 2,
  hotSellersRatio: 4,
  hotBiddersRatio: 4,
  numActivePeople: 1000,
  numInFlightAuctions: 100,
  outOfOrderGroupSize: 1,
  timelines: 1,
});

/** A Nexmark configuration value that cannot be used; `field` names the offending setting. */
export class NexmarkConfigError extends Error {
  readonly code = "INVALID_ARGUMENT";
  readonly field: string;

  constructor(field: string, message: string) {
    super(`invalid Nexmark config '${field}': ${message}`);
    this.name = "NexmarkConfigError";
    this.field = field;
  }
}

type Rule = { min: number; max: number; integer: boolean; hint: string };

const RULES: Record<keyof NexmarkConfig, Rule> = {
  firstEventRate: { min: Number.MIN_VALUE, max: 1e9, integer: false, hint: "events per second, > 0" },
  numEvents: { min: 0, max: MAX_EVENT_NUMBER, integer: true, hint: "0 (unbounded) or a positive count" },
  seed: { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, integer: true, hint: "a safe integer" },
  baseTime: { min: 0, max: 8.64e15, integer: true, hint: "epoch milliseconds" },
  avgPersonByteSize: { min: 1, max: MAX_AVG_BYTE_SIZE, integer: true, hint: "bytes" },
  avgAuctionByteSize: { min: 1, max: MAX_AVG_BYTE_SIZE, integer: true, hint: "bytes" },
  avgBidByteSize: { min: 1, max: MAX_AVG_BYTE_SIZE, integer: true, hint: "bytes" },
  hotAuctionRatio: { min: 1, max: 2 ** 31 - 1, integer: true, hint: "an integer >= 1" },
  hotSellersRatio: { min: 1, max: 2 ** 31 - 1, integer: true, hint: "an integer >= 1" },
  hotBiddersRatio: { min: 1, max: 2 ** 31 - 1, integer: true, hint: "an integer >= 1" },
  numActivePeople: { min: 1, max: 2 ** 31 - 1, integer: true, hint: "an integer >= 1" },
  numInFlightAuctions: { min: 1, max: 2 ** 31 - 1, integer: true, hint: "an integer >= 1" },
  outOfOrderGroupSize: { min: 1, max: 2 ** 31 - 1, integer: true, hint: "an integer >= 1 (1 = in order)" },
  timelines: { min: 1, max: 4096, integer: true, hint: "an integer in [1, 4096] (1 = one timeline)" },
};

/** Build a validated, frozen config from the defaults and `overrides`; throws NexmarkConfigError naming the field. */
export function nexmarkConfig(overrides: Partial<NexmarkConfig> = {}): NexmarkConfig {
  if (typeof overrides !== "object" || overrides === null) {
    throw new NexmarkConfigError("(overrides)", `expected an object, got ${typeof overrides}`);
  }
  const config: NexmarkConfig = { ...DEFAULT_NEXMARK_CONFIG };
  for (const key of Object.keys(overrides)) {
    if (!Object.hasOwn(RULES, key)) {
      throw new NexmarkConfigError(key, `unknown setting; known settings: ${Object.keys(RULES).join(", ")}`);
    }
    const value = (overrides as Record<string, unknown>)[key];
    if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  }
  for (const key of Object.keys(RULES) as Array<keyof NexmarkConfig>) {
    const rule = RULES[key];
    const value: unknown = config[key];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new NexmarkConfigError(key, `expected a finite number (${rule.hint}), got ${String(value)}`);
    }
    if (rule.integer && !Number.isInteger(value)) {
      throw new NexmarkConfigError(key, `expected an integer (${rule.hint}), got ${value}`);
    }
    if (value < rule.min || value > rule.max) {
      const range = rule.min === Number.MIN_VALUE ? `(0, ${rule.max}]` : `[${rule.min}, ${rule.max}]`;
      throw new NexmarkConfigError(key, `${value} is outside ${range} (${rule.hint})`);
    }
  }
  if (config.outOfOrderGroupSize % 953 === 0) {
    // The reference shuffles a group with eventNumber × 953 mod size: a multiple of 953 would repeat events.
    throw new NexmarkConfigError(
      "outOfOrderGroupSize",
      "must not be a multiple of 953 (events would repeat)",
    );
  }
  if (config.timelines > 1 && config.outOfOrderGroupSize > 1) {
    throw new NexmarkConfigError(
      "timelines",
      "several timelines do not go with outOfOrderGroupSize > 1 (a shuffled group could span two timelines); set one of them to 1",
    );
  }
  return Object.freeze(config);
}

/**
 * Delay between consecutive events of one timeline in microseconds of event time (the reference's
 * interEventDelayUs, times the number of timelines as the reference does per event generator).
 */
export function interEventDelayUs(config: NexmarkConfig): number {
  return (1_000_000 * config.timelines) / config.firstEventRate;
}

/** Events per timeline block: a bounded stream's timeline, or TIMELINE_BLOCK_EVENTS. */
export function timelineBlockEvents(config: NexmarkConfig): number {
  return config.numEvents > 0 ? Math.ceil(config.numEvents / config.timelines) : TIMELINE_BLOCK_EVENTS;
}

/** The timeline event number `n` belongs to (0 with one timeline). */
export function timelineOf(config: NexmarkConfig, n: number): number {
  if (config.timelines === 1) return 0;
  return Math.floor(n / timelineBlockEvents(config)) % config.timelines;
}

/** Position of event number `n` on its timeline (n itself with one timeline). */
export function timelineEventNumber(config: NexmarkConfig, n: number): number {
  const t = config.timelines;
  if (t === 1) return n;
  const b = timelineBlockEvents(config);
  return Math.floor(n / (b * t)) * b + (n % b);
}

/** Event time (epoch ms) of the event at position `local` of a timeline. */
export function timestampOnTimeline(config: NexmarkConfig, local: number): number {
  return (
    config.baseTime +
    Math.floor(Math.floor((local * 1_000_000 * config.timelines) / config.firstEventRate) / 1000)
  );
}

/**
 * Event time (epoch ms) of event number `n`: baseTime + ⌊⌊m × interEventDelayUs⌋ / 1000⌋, m = n's
 * position on its timeline (m = n with one timeline).
 */
export function timestampForEvent(config: NexmarkConfig, n: number): number {
  return timestampOnTimeline(config, timelineEventNumber(config, n));
}
