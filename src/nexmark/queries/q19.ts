// Nexmark q19, auction top-N: the 10 highest bids of each auction.
//   SELECT * FROM
//   (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid)
//   WHERE rank_number <= 10
//
// The reference's result is a retracting stream per (auction, rank). Here each auction's top 10 is kept
// in keyed state and, on the watermark after it changed (an event-time timer at the changing bid's
// dateTime), emitted whole, one record per rank: an upsert stream keyed by (auction, rank_number) whose
// last record per key is the reference's final result. Equal prices are ordered by dateTime, then
// bidder, then extra (the reference leaves ties open).

import {
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type OnTimerContext,
  type RuntimeContext,
  type TypeInformation,
  Types,
  type ValueState,
  ValueStateDescriptor,
} from "../../index.ts";
import type { Bid } from "../../connectors/nexmark/model.ts";
import { bidsOf, type NexmarkQuery } from "./query.ts";
import { betterBid } from "./winning-bids.ts";

/** q19 output: a bid among its auction's 10 highest, with its rank (1 = highest). */
export interface Q19Result {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  dateTime: number;
  extra: string;
  /** 1..10; with the auction, the upsert key. */
  rank_number: number;
}

export const Q19_TYPE: TypeInformation<Q19Result> = Types.OBJECT({
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.INT,
  channel: Types.STRING,
  url: Types.STRING,
  dateTime: Types.INT,
  extra: Types.STRING,
  rank_number: Types.INT,
}) as TypeInformation<never>;

export const Q19_TOP_N = 10;

interface TopBids {
  /** Best first (betterBid order), at most Q19_TOP_N. */
  bids: Bid[];
  /** Changed since last emitted (an event-time timer is set). */
  pending: boolean;
}

class TopBidsPerAuction implements KeyedProcessFunction<number, Bid, Q19Result> {
  private top!: ValueState<TopBids>;

  open(ctx: RuntimeContext): void {
    this.top = ctx.getState(new ValueStateDescriptor<TopBids>("top-bids"));
  }

  processElement(b: Bid, ctx: KeyedProcessContext<number>): void {
    const cur = this.top.value();
    const bids = cur?.bids ?? [];
    if (bids.length === Q19_TOP_N && !betterBid(b, bids[Q19_TOP_N - 1]!)) return;
    let at = bids.length;
    while (at > 0 && betterBid(b, bids[at - 1]!)) at--;
    const next = [...bids.slice(0, at), b, ...bids.slice(at, Q19_TOP_N - 1)];
    this.top.update({ bids: next, pending: true });
    if (cur?.pending !== true) {
      const timers = ctx.timerService();
      timers.registerEventTimeTimer(Math.max(b.dateTime, timers.currentWatermark() + 1));
    }
  }

  onTimer(_t: number, _ctx: OnTimerContext<number>, out: Collector<Q19Result>): void {
    const cur = this.top.value();
    if (cur === undefined || !cur.pending) return;
    this.top.update({ bids: cur.bids, pending: false });
    for (let i = 0; i < cur.bids.length; i++) {
      const b = cur.bids[i]!;
      out.collect({
        auction: b.auction,
        bidder: b.bidder,
        price: b.price,
        channel: b.channel,
        url: b.url,
        dateTime: b.dateTime,
        extra: b.extra,
        rank_number: i + 1,
      });
    }
  }
}

export const q19: NexmarkQuery<Q19Result> = {
  name: "q19",
  title: "auction top-N",
  fields: ["auction", "bidder", "price", "channel", "url", "dateTime", "extra", "rank_number"],
  outputType: Q19_TYPE,
  eventTime: true,
  upsertKey: ["auction", "rank_number"],
  build: (events) =>
    bidsOf(events, "q19")
      .keyBy((b) => b.auction)
      .process<Q19Result>(new TopBidsPerAuction(), "q19: top 10 bids per auction")
      .returns(Q19_TYPE),
};
