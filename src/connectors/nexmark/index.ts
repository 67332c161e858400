// Public entry of the Nexmark connector: the deterministic event generator, its config and JSON lines,
// the generator and JSON-lines sources, the queries, and the runner behind `weir nexmark run`.
//
// Event number n of a stream is a pure function of (config, n): readers given disjoint ranges from
// splitRange produce exactly the events of one serial generator, whatever the parallelism.
// Event time: event n happens at baseTime + ⌊n × interEventDelayUs / 1000⌋ ms (constant firstEventRate).
// Watermarks: every generated event carries watermark = dateTime - NEXMARK_WATERMARK_LAG_MS (4000 ms), the
// bounded-out-of-orderness watermark of the Nexmark suite's sources (WATERMARK FOR dateTime AS dateTime -
// INTERVAL '4' SECOND); with outOfOrderGroupSize > 1 it is taken from the first event time of the group.

export {
  AUCTION_ID_LEAD,
  AUCTION_PROPORTION,
  BID_PROPORTION,
  DEFAULT_NEXMARK_CONFIG,
  FIRST_AUCTION_ID,
  FIRST_CATEGORY_ID,
  FIRST_NAMES,
  FIRST_PERSON_ID,
  HOT_BATCH_SIZE,
  HOT_CHANNELS,
  interEventDelayUs,
  LAST_NAMES,
  MAX_EVENT_NUMBER,
  NEXMARK_BASE_TIME,
  /** Watermark lag of Nexmark sources: watermark = dateTime - 4000 ms. */
  NEXMARK_WATERMARK_LAG_MS,
  NUM_CATEGORIES,
  NUM_CHANNELS,
  type NexmarkConfig,
  NexmarkConfigError,
  nexmarkConfig,
  PERSON_ID_LEAD,
  PERSON_PROPORTION,
  PROPORTION_DENOMINATOR,
  timestampForEvent,
  US_CITIES,
  US_STATES,
} from "./config.ts";
export {
  eventTypeOf,
  forEachEvent,
  generateEvent,
  generateRange,
  lastBase0AuctionId,
  lastBase0PersonId,
  splitRange,
} from "./generator.ts";
export {
  type Auction,
  type Bid,
  eventFromJson,
  eventToJson,
  type NexmarkEvent,
  type NexmarkEventType,
  NexmarkFormatError,
  type Person,
  type TimestampedNexmarkEvent,
} from "./model.ts";
export {
  NexmarkJsonLinesSource,
  type NexmarkProgressListener,
  NexmarkSource,
  type NexmarkSourceOptions,
  type NexmarkSplit,
} from "./source.ts";
export { AUCTION_TYPE, BID_TYPE, NEXMARK_EVENT_TYPE, PERSON_TYPE } from "./types.ts";
export {
  type BidTimeType,
  nexmarkQuery,
  type NexmarkQuery,
  type NexmarkQueryOptions,
  PENDING_QUERIES,
  type PendingNexmarkQuery,
  type Q0Result,
  type Q1Result,
  type Q2Result,
  type Q3Result,
  type Q4Result,
  type Q5Result,
  type Q7Result,
  type Q8Result,
  type Q9Result,
  type Q11Result,
  type Q12Result,
  type Q13Result,
  type Q14Result,
  type Q18Result,
  type Q19Result,
  type Q21Result,
  type Q22Result,
  QUERIES,
  runnableQueryNames,
} from "./queries/index.ts";
export { buildNexmarkJob, type NexmarkJobParams, RESULTS_COUNTER } from "./pipeline.ts";
export { NexmarkWatermarkGenerator, nexmarkWatermarks } from "./watermarks.ts";
export { type NexmarkRunOptions, type NexmarkRunReport, runNexmark } from "./runner.ts";
