// Nexmark q0, pass-through: every bid, projected as the reference does. Measures the cost of the
// source, the record path and the sink.
//   SELECT auction, bidder, price, dateTime, extra FROM bid

import { type Collector, Types } from "../../index.ts";
import type { NexmarkEvent } from "../../connectors/nexmark/model.ts";
import type { NexmarkQuery } from "./query.ts";

/** q0 output: one record per bid. */
export interface Q0Result {
  auction: number;
  bidder: number;
  /** In cents, as generated. */
  price: number;
  /** Epoch milliseconds. */
  dateTime: number;
  extra: string;
}

export const Q0_TYPE = Types.OBJECT({
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.INT,
  dateTime: Types.INT,
  extra: Types.STRING,
});

export const q0: NexmarkQuery<Q0Result> = {
  name: "q0",
  title: "pass-through",
  fields: ["auction", "bidder", "price", "dateTime", "extra"],
  outputType: Q0_TYPE,
  build: (events) => events.flatMap(passThrough, "q0: bids").returns(Q0_TYPE),
};

function passThrough(e: NexmarkEvent, out: Collector<Q0Result>): void {
  if (e.type !== "bid") return;
  const b = e.bid;
  out.collect({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra });
}
