// What a Nexmark query is (a named graph built on the event stream, with a documented output schema),
// and the stream helpers the queries share.

import type { DataStream, TypeInformation } from "../../../index.ts";
import type { NexmarkEvent } from "../model.ts";

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
  /** Adds the query to the graph of `events`; returns its result stream. */
  build(events: DataStream<NexmarkEvent>): DataStream<R>;
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
