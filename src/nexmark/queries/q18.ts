// Nexmark q18, find last bid: each bidder's last bid on each auction.
//   SELECT auction, bidder, price, channel, url, dateTime, extra
//   FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC) AS rank_number
//         FROM bid)
//   WHERE rank_number <= 1
//
// The reference's result is a retracting stream per (bidder, auction). Here the last bid is kept in
// keyed state and emitted on the watermark after it changed (an event-time timer at the changing bid's
// dateTime): an upsert stream keyed by (bidder, auction) whose last record per key is the reference's
// final result; at the end of a bounded input every key's final bid has been emitted. Bids with the
// same dateTime are ordered by price, then channel, url and extra (the reference leaves ties open).

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

/** q18 output: a (bidder, auction)'s last bid, emitted again whenever a later one comes. */
export type Q18Result = Bid;

export const Q18_TYPE: TypeInformation<Q18Result> = Types.OBJECT({
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.INT,
  channel: Types.STRING,
  url: Types.STRING,
  dateTime: Types.INT,
  extra: Types.STRING,
}) as TypeInformation<never>;

/** True when `a` comes after `b` in q18's order (dateTime, then price, channel, url, extra). */
export function laterBid(a: Bid, b: Bid): boolean {
  if (a.dateTime !== b.dateTime) return a.dateTime > b.dateTime;
  if (a.price !== b.price) return a.price > b.price;
  if (a.channel !== b.channel) return a.channel > b.channel;
  if (a.url !== b.url) return a.url > b.url;
  return a.extra > b.extra;
}

interface LastBid {
  bid: Bid;
  /** Changed since it was last emitted (an event-time timer is set). */
  pending: boolean;
}

class LastBidPerKey implements KeyedProcessFunction<string, Bid, Q18Result> {
  private last!: ValueState<LastBid>;

  open(ctx: RuntimeContext): void {
    this.last = ctx.getState(new ValueStateDescriptor<LastBid>("last-bid"));
  }

  processElement(b: Bid, ctx: KeyedProcessContext<string>): void {
    const cur = this.last.value();
    if (cur !== undefined && !laterBid(b, cur.bid)) return;
    this.last.update({ bid: b, pending: true });
    if (cur?.pending !== true) {
      const timers = ctx.timerService();
      timers.registerEventTimeTimer(Math.max(b.dateTime, timers.currentWatermark() + 1));
    }
  }

  onTimer(_t: number, _ctx: OnTimerContext<string>, out: Collector<Q18Result>): void {
    const cur = this.last.value();
    if (cur === undefined || !cur.pending) return;
    this.last.update({ bid: cur.bid, pending: false });
    const b = cur.bid;
    out.collect({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price,
      channel: b.channel,
      url: b.url,
      dateTime: b.dateTime,
      extra: b.extra,
    });
  }
}

export const q18: NexmarkQuery<Q18Result> = {
  name: "q18",
  title: "find last bid",
  fields: ["auction", "bidder", "price", "channel", "url", "dateTime", "extra"],
  outputType: Q18_TYPE,
  eventTime: true,
  upsertKey: ["bidder", "auction"],
  build: (events) =>
    bidsOf(events, "q18")
      .keyBy((b) => `${b.bidder}/${b.auction}`)
      .process<Q18Result>(new LastBidPerKey(), "q18: last bid per bidder and auction")
      .returns(Q18_TYPE),
};
