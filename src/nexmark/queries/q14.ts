// Nexmark q14, calculation with a user function: bids priced between 1,000,000 and 50,000,000 (after
// conversion to euros), with the time of day they were made and the number of 'c's in their extra.
//   SELECT auction, bidder, 0.908 * price AS price,
//     CASE WHEN HOUR(dateTime) >= 8 AND HOUR(dateTime) <= 18 THEN 'dayTime'
//          WHEN HOUR(dateTime) <= 6 OR HOUR(dateTime) >= 20 THEN 'nightTime'
//          ELSE 'otherTime' END AS bidTimeType,
//     dateTime, extra, count_char(extra, 'c') AS c_counts
//   FROM bid WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000
// HOUR is taken in UTC (the reference's TIMESTAMP(3) is built from epoch milliseconds without a zone).
// The filter compares the exact decimal: price × 908 against 10^9 and 5·10^10, in integers.

import { type Collector, type TypeInformation, Types } from "../../index.ts";
import type { NexmarkEvent } from "../../connectors/nexmark/model.ts";
import { dollarsToEuros, type NexmarkQuery } from "./query.ts";

export type BidTimeType = "dayTime" | "nightTime" | "otherTime";

/** q14 output: one record per bid in the price band. */
export interface Q14Result {
  auction: number;
  bidder: number;
  /** price × 0.908 (see dollarsToEuros), strictly between 1,000,000 and 50,000,000. */
  price: number;
  /** dayTime (08:00-18:59 UTC), nightTime (20:00-06:59 UTC) or otherTime (07:xx and 19:xx). */
  bidTimeType: BidTimeType;
  /** Epoch milliseconds. */
  dateTime: number;
  extra: string;
  /** How many 'c' characters `extra` has (the reference's count_char UDF). */
  c_counts: number;
}

/** The Q14Result record type. */
export const Q14_TYPE: TypeInformation<Q14Result> = Types.OBJECT({
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.NUMBER,
  bidTimeType: Types.STRING,
  dateTime: Types.INT,
  extra: Types.STRING,
  c_counts: Types.INT,
}) as TypeInformation<never>;

const HOUR_MS = 3_600_000;

/** The bidTimeType of an epoch-millisecond time, by its UTC hour. */
export function bidTimeType(dateTime: number): BidTimeType {
  const hour = ((Math.floor(dateTime / HOUR_MS) % 24) + 24) % 24;
  if (hour >= 8 && hour <= 18) return "dayTime";
  if (hour <= 6 || hour >= 20) return "nightTime";
  return "otherTime";
}

/** The reference's count_char(s, c) UDF: occurrences of the character `c` in `s`. */
export function countChar(s: string, c: string): number {
  const code = c.charCodeAt(0);
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === code) n++;
  return n;
}

export const q14: NexmarkQuery<Q14Result> = {
  name: "q14",
  title: "calculation (user function)",
  fields: ["auction", "bidder", "price", "bidTimeType", "dateTime", "extra", "c_counts"],
  outputType: Q14_TYPE,
  build: (events) => events.flatMap(calculate, "q14: calculate").returns(Q14_TYPE),
};

function calculate(e: NexmarkEvent, out: Collector<Q14Result>): void {
  if (e.type !== "bid") return;
  const b = e.bid;
  const cents908 = b.price * 908; // 1000 × the exact euro price
  if (cents908 <= 1_000_000_000 || cents908 >= 50_000_000_000) return;
  out.collect({
    auction: b.auction,
    bidder: b.bidder,
    price: dollarsToEuros(b.price),
    bidTimeType: bidTimeType(b.dateTime),
    dateTime: b.dateTime,
    extra: b.extra,
    c_counts: countChar(b.extra, "c"),
  });
}
