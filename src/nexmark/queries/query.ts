// What a Nexmark query is (a named graph built on the event stream, with a documented output schema),
// and the stream helpers the queries share.

import type { Collector, DataStream, TypeInformation } from "../../index.ts";
import type { Auction, Bid, NexmarkEvent, Person } from "../../connectors/nexmark/model.ts";
import { AUCTION_TYPE, BID_TYPE, PERSON_TYPE } from "../../connectors/nexmark/types.ts";

/** Settings of a run that some queries use (plain data: they travel to worker threads as JSON). */
export interface NexmarkQueryOptions {
  /** q13: a CSV file of `key,value` lines, the bounded side input (default: the reference's 10,000 rows). */
  sideInput?: string;
}

export interface NexmarkQuery<R = unknown> {
  /** "q0", "q1", ... */
  readonly name: string;
  /** The suite's short title, e.g. "currency conversion". */
  readonly title: string;
  /** The output record's fields, in order (the TS type of each query module documents them). */
  readonly fields: readonly string[];
  /** The output record type. */
  readonly outputType: TypeInformation<R>;
  /**
   * True when the query needs event time: the source then carries the Nexmark watermarks
   * (dateTime − 4 s, see NEXMARK_WATERMARK_LAG_MS).
   */
  readonly eventTime?: boolean;
  /**
   * True when the result is an upsert stream: a key's result is emitted again when it changes, and the
   * last record per key (`key` fields) is the reference's final result.
   */
  readonly upsertKey?: readonly string[];
  /** Adds the query to the graph of `events`; returns its result stream. */
  build(events: DataStream<NexmarkEvent>, options?: NexmarkQueryOptions): DataStream<R>;
}

/** A query of the suite that cannot run yet, and what it waits for. */
export interface PendingNexmarkQuery {
  readonly name: string;
  readonly title: string;
  readonly needs: string;
}

/**
 * price × 0.908 as the reference computes it: `0.908 * price` is an exact DECIMAL(23, 3) in Flink SQL.
 * price × 908 is an exact integer here (prices stay far below 2^53 / 908), so dividing it by 1000 gives
 * the double nearest that exact decimal (JSON prints it as the decimal: 12345 → 11209.26), whereas
 * `0.908 * price` in floating point can be one ulp off.
 */
export function dollarsToEuros(price: number): number {
  return (price * 908) / 1000;
}

function selectBid(e: NexmarkEvent, out: Collector<Bid>): void {
  if (e.type === "bid") out.collect(e.bid);
}
function selectAuction(e: NexmarkEvent, out: Collector<Auction>): void {
  if (e.type === "auction") out.collect(e.auction);
}
function selectPerson(e: NexmarkEvent, out: Collector<Person>): void {
  if (e.type === "person") out.collect(e.person);
}

/** The bids of the event stream (timestamps and watermarks go along). */
export function bidsOf(events: DataStream<NexmarkEvent>, query: string): DataStream<Bid> {
  return events.flatMap(selectBid, `${query}: bids`).returns(BID_TYPE);
}

/** The auctions of the event stream. */
export function auctionsOf(events: DataStream<NexmarkEvent>, query: string): DataStream<Auction> {
  return events.flatMap(selectAuction, `${query}: auctions`).returns(AUCTION_TYPE);
}

/** The persons of the event stream. */
export function personsOf(events: DataStream<NexmarkEvent>, query: string): DataStream<Person> {
  return events.flatMap(selectPerson, `${query}: persons`).returns(PERSON_TYPE);
}
