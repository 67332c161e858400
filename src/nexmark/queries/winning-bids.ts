// Winning bids, shared by q4 and q9: per auction, the best bid made within the auction's lifetime
// (A.dateTime <= B.dateTime <= A.expires), final once the watermark passes A.expires.
//
// The reference is a regular SQL join of auction and bid on A.id = B.auction with that condition,
// then MAX(price) (q4) or ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY price DESC, dateTime ASC) = 1
// (q9): a retracting result per auction. Here the auctions and bids are connected and keyed by
// auction id, and the winner is emitted once, when it can no longer change: on the event-time timer
// at A.expires (no bid with dateTime <= A.expires arrives after the watermark passed it). Auctions
// without a bid in their lifetime give nothing (an inner join).
//
// Bids that arrive before their auction (at p > 1 readers interleave; bids may name auctions up to
// AUCTION_ID_LEAD ahead) wait in the key's state. A waiting bid with dateTime d can only match an
// auction with dateTime <= d, which arrives before the watermark passes d; so on the timer at d,
// waiting bids with dateTime <= d that met no auction are dropped (bids after a closed auction too).

import {
  type Collector,
  type KeyedCoProcessFunction,
  type KeyedProcessContext,
  type ListState,
  ListStateDescriptor,
  type OnTimerContext,
  type RuntimeContext,
  type TypeInformation,
  Types,
  type ValueState,
  ValueStateDescriptor,
} from "../../index.ts";
import type { Auction, Bid } from "../../connectors/nexmark/model.ts";
import { AUCTION_TYPE, BID_TYPE } from "../../connectors/nexmark/types.ts";

/** An auction and its winning bid. */
export interface AuctionWinner {
  auction: Auction;
  bid: Bid;
}

export const AUCTION_WINNER_TYPE: TypeInformation<AuctionWinner> = Types.OBJECT({
  auction: AUCTION_TYPE,
  bid: BID_TYPE,
}) as TypeInformation<never>;

/**
 * The order of q9's ROW_NUMBER (price descending, then dateTime ascending), made total for a result
 * that does not depend on arrival order: then bidder ascending, then extra. True when `a` beats `b`.
 */
export function betterBid(a: Bid, b: Bid): boolean {
  if (a.price !== b.price) return a.price > b.price;
  if (a.dateTime !== b.dateTime) return a.dateTime < b.dateTime;
  if (a.bidder !== b.bidder) return a.bidder < b.bidder;
  return a.extra < b.extra;
}

/** Within the auction's lifetime: A.dateTime <= B.dateTime <= A.expires (SQL BETWEEN, both ends). */
export function inLifetime(a: Auction, b: Bid): boolean {
  return b.dateTime >= a.dateTime && b.dateTime <= a.expires;
}

/** Keyed by auction id: input 1 the auctions, input 2 the bids; emits each auction's winner at its expiry. */
export class WinningBids implements KeyedCoProcessFunction<number, Auction, Bid, AuctionWinner> {
  private auction!: ValueState<Auction>;
  private best!: ValueState<Bid>;
  private waiting!: ListState<Bid>;

  open(ctx: RuntimeContext): void {
    this.auction = ctx.getState(new ValueStateDescriptor<Auction>("auction", AUCTION_TYPE));
    this.best = ctx.getState(new ValueStateDescriptor<Bid>("best-bid", BID_TYPE));
    this.waiting = ctx.getListState(new ListStateDescriptor<Bid>("bids-before-auction", BID_TYPE));
  }

  processElement1(a: Auction, ctx: KeyedProcessContext<number>): void {
    this.auction.update(a);
    const waiting = this.waiting.get();
    if (waiting.length > 0) {
      let best: Bid | undefined;
      for (const b of waiting) if (inLifetime(a, b) && (best === undefined || betterBid(b, best))) best = b;
      this.waiting.clear();
      if (best !== undefined) this.best.update(best);
    }
    ctx.timerService().registerEventTimeTimer(a.expires);
  }

  processElement2(b: Bid, ctx: KeyedProcessContext<number>): void {
    const a = this.auction.value();
    if (a === undefined) {
      this.waiting.add(b);
      ctx.timerService().registerEventTimeTimer(b.dateTime);
      return;
    }
    if (!inLifetime(a, b)) return;
    const best = this.best.value();
    if (best === undefined || betterBid(b, best)) this.best.update(b);
  }

  onTimer(time: number, _ctx: OnTimerContext<number>, out: Collector<AuctionWinner>): void {
    const a = this.auction.value();
    if (a !== undefined) {
      if (time !== a.expires) return;
      const best = this.best.value();
      if (best !== undefined) out.collect({ auction: a, bid: best });
      this.auction.clear();
      this.best.clear();
      return;
    }
    const waiting = this.waiting.get();
    if (waiting.length === 0) return;
    const keep: Bid[] = [];
    for (const b of waiting) if (b.dateTime > time) keep.push(b);
    if (keep.length < waiting.length) this.waiting.update(keep);
  }
}
