// Public entry of the Nexmark connector: the deterministic event generator, its config and JSON lines,
// and the generator and JSON-lines sources. The queries and the runner are in src/nexmark.
//
// Event number n of a stream is a pure function of (config, n): readers given disjoint ranges from
// splitRange produce exactly the events of one serial generator, whatever the parallelism.
// Event time: event n happens at baseTime + ⌊n × interEventDelayUs / 1000⌋ ms (constant firstEventRate);
// with config.timelines > 1, n is its position on its own timeline (see config.ts).
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
  timestampOnTimeline,
  timelineEventNumber,
  timelineOf,
  TIMELINE_BLOCK_EVENTS,
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
export { NexmarkWatermarkGenerator, nexmarkWatermarks } from "./watermarks.ts";
