// Nexmark q11, user sessions: how many bids each bidder made in each session of activity (a gap of
// 10 s without bids ends a session).
//   SELECT B.bidder, count(*) AS bid_count,
//          SESSION_START(B.dateTime, INTERVAL '10' SECOND) AS starttime,
//          SESSION_END(B.dateTime, INTERVAL '10' SECOND) AS endtime
//   FROM bid B
//   GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND)
//
// Event-time session windows keyed by bidder, counted incrementally. A session is [first bid,
// last bid + 10 s), as the reference's SESSION_START / SESSION_END.

import {
  type AggregateFunction,
  type Collector,
  EventTimeSessionWindows,
  type TimeWindow,
  type TypeInformation,
  Types,
} from "../../index.ts";
import type { Bid } from "../../connectors/nexmark/model.ts";
import { bidsOf, type NexmarkQuery } from "./query.ts";

/** q11 output: one record per (bidder, session). */
export interface Q11Result {
  bidder: number;
  bid_count: number;
  /** The session's first bid, epoch ms. */
  starttime: number;
  /** The session's last bid + 10 s, epoch ms. */
  endtime: number;
}

export const Q11_TYPE: TypeInformation<Q11Result> = Types.OBJECT({
  bidder: Types.INT,
  bid_count: Types.INT,
  starttime: Types.INT,
  endtime: Types.INT,
}) as TypeInformation<never>;

export const Q11_GAP_MS = 10_000;

const countBids: AggregateFunction<Bid, number, number> = {
  createAccumulator: () => 0,
  add: (_b, n) => n + 1,
  getResult: (n) => n,
  merge: (a, b) => a + b,
};

const session = {
  apply(bidder: number, w: TimeWindow, counts: readonly number[], out: Collector<Q11Result>): void {
    out.collect({ bidder, bid_count: counts[0]!, starttime: w.start, endtime: w.end });
  },
};

export const q11: NexmarkQuery<Q11Result> = {
  name: "q11",
  title: "user sessions",
  fields: ["bidder", "bid_count", "starttime", "endtime"],
  outputType: Q11_TYPE,
  eventTime: true,
  build: (events) =>
    bidsOf(events, "q11")
      .keyBy((b) => b.bidder)
      .window(EventTimeSessionWindows.withGap(Q11_GAP_MS))
      .aggregate(countBids, session)
      .name("q11: bids per bidder session")
      .returns(Q11_TYPE),
};
