// Nexmark q2, selection: the bids on every 123rd auction.
//   SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0

import { type Collector, Types } from "../../index.ts";
import type { NexmarkEvent } from "../../connectors/nexmark/model.ts";
import type { NexmarkQuery } from "./query.ts";

/** q2 output: one record per selected bid. */
export interface Q2Result {
  /** A multiple of 123. */
  auction: number;
  /** In cents. */
  price: number;
}

export const Q2_TYPE = Types.OBJECT({ auction: Types.INT, price: Types.INT });

export const q2: NexmarkQuery<Q2Result> = {
  name: "q2",
  title: "selection",
  fields: ["auction", "price"],
  outputType: Q2_TYPE,
  build: (events) => events.flatMap(select, "q2: select").returns(Q2_TYPE),
};

function select(e: NexmarkEvent, out: Collector<Q2Result>): void {
  if (e.type === "bid" && e.bid.auction % 123 === 0)
    out.collect({ auction: e.bid.auction, price: e.bid.price });
}
