// Nexmark q5, hot items: per sliding window (10 s, every 2 s), the auctions with the most bids.
//   SELECT AuctionBids.auction, AuctionBids.num
//   FROM (SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
//         FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
//         GROUP BY auction, window_start, window_end) AS AuctionBids
//   JOIN (SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
//         FROM (... the same counts ...) AS CountBids
//         GROUP BY CountBids.starttime, CountBids.endtime) AS MaxBids
//   ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime
//      AND AuctionBids.num >= MaxBids.maxn
//
// Two windowed stages: bids counted per auction in sliding event-time windows; the counts (each
// timestamped at its window's last millisecond) keyed by window end into 2 s tumbling windows, which
// hold exactly one sliding window's counts, and every auction with the window's maximum is emitted
// (ties: all of them). The window's bounds are part of the result (the reference's sink drops them).

import {
  type AggregateFunction,
  type Collector,
  SlidingEventTimeWindows,
  type TimeWindow,
  TumblingEventTimeWindows,
  type TypeInformation,
  Types,
} from "../../index.ts";
import type { Bid } from "../../connectors/nexmark/model.ts";
import { bidsOf, type NexmarkQuery } from "./query.ts";

/** q5 output: one record per (window, auction with the most bids in it). */
export interface Q5Result {
  auction: number;
  /** Bids on the auction in the window (the window's maximum). */
  num: number;
  /** Window start and end (end exclusive), epoch ms. */
  starttime: number;
  endtime: number;
}

export const Q5_TYPE: TypeInformation<Q5Result> = Types.OBJECT({
  auction: Types.INT,
  num: Types.INT,
  starttime: Types.INT,
  endtime: Types.INT,
}) as TypeInformation<never>;

export const Q5_WINDOW_MS = 10_000;
export const Q5_SLIDE_MS = 2_000;

const countBids: AggregateFunction<Bid, number, number> = {
  createAccumulator: () => 0,
  add: (_b, n) => n + 1,
  getResult: (n) => n,
  merge: (a, b) => a + b,
};

const auctionCount = {
  apply(auction: number, w: TimeWindow, counts: readonly number[], out: Collector<Q5Result>): void {
    out.collect({ auction, num: counts[0]!, starttime: w.start, endtime: w.end });
  },
};

const hottest = {
  apply(_end: number, _w: TimeWindow, counts: readonly Q5Result[], out: Collector<Q5Result>): void {
    let max = 0;
    for (const c of counts) if (c.num > max) max = c.num;
    for (const c of counts) if (c.num === max) out.collect(c);
  },
};

export const q5: NexmarkQuery<Q5Result> = {
  name: "q5",
  title: "hot items",
  fields: ["auction", "num", "starttime", "endtime"],
  outputType: Q5_TYPE,
  eventTime: true,
  build: (events) =>
    bidsOf(events, "q5")
      .keyBy((b) => b.auction)
      .window(SlidingEventTimeWindows.of(Q5_WINDOW_MS, Q5_SLIDE_MS))
      .aggregate(countBids, auctionCount)
      .name("q5: bids per auction and window")
      .returns(Q5_TYPE)
      .keyBy((c) => c.endtime)
      .window(TumblingEventTimeWindows.of(Q5_SLIDE_MS))
      .apply(hottest)
      .name("q5: hottest auctions per window")
      .returns(Q5_TYPE),
};
