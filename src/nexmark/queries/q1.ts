// Nexmark q1, currency conversion: every bid with its price in euros.
//   SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid

import { type Collector, Types } from "../../index.ts";
import type { NexmarkEvent } from "../../connectors/nexmark/model.ts";
import { dollarsToEuros, type NexmarkQuery } from "./query.ts";

/** q1 output: one record per bid. */
export interface Q1Result {
  auction: number;
  bidder: number;
  /** price × 0.908: the reference's exact DECIMAL(23, 3), as the nearest double (see dollarsToEuros). */
  price: number;
  /** Epoch milliseconds. */
  dateTime: number;
  extra: string;
}

export const Q1_TYPE = Types.OBJECT({
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.NUMBER,
  dateTime: Types.INT,
  extra: Types.STRING,
});

export const q1: NexmarkQuery<Q1Result> = {
  name: "q1",
  title: "currency conversion",
  fields: ["auction", "bidder", "price", "dateTime", "extra"],
  outputType: Q1_TYPE,
  build: (events) => events.flatMap(convert, "q1: convert").returns(Q1_TYPE),
};

function convert(e: NexmarkEvent, out: Collector<Q1Result>): void {
  if (e.type !== "bid") return;
  const b = e.bid;
  out.collect({
    auction: b.auction,
    bidder: b.bidder,
    price: dollarsToEuros(b.price),
    dateTime: b.dateTime,
    extra: b.extra,
  });
}
