// Nexmark q4, average price per category: the average winning price of the closed auctions of each
// category.
//   SELECT Q.category, AVG(Q.final)
//   FROM (SELECT MAX(B.price) AS final, A.category
//         FROM auction A, bid B
//         WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
//         GROUP BY A.id, A.category) Q
//   GROUP BY Q.category
//
// The reference's inner result per auction retracts while bids come in, and its average per category
// with it. Here each auction's final price is taken once, when the watermark passes its expiry (see
// winning-bids.ts), and a category's average is emitted on the watermark after it changed: an upsert
// stream keyed by category whose last record per category is the reference's final result. AVG over
// the reference's BIGINT prices is a BIGINT: the average is truncated toward zero, as there.

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
import { auctionsOf, bidsOf, type NexmarkQuery } from "./query.ts";
import { type AuctionWinner, WinningBids } from "./winning-bids.ts";

/** q4 output: a category's average winning price, emitted again whenever it changes. */
export interface Q4Result {
  /** The category (10..14); the upsert key. */
  category: number;
  /** Average of the final (winning) prices of the category's closed auctions, in cents, truncated. */
  final: number;
}

export const Q4_TYPE: TypeInformation<Q4Result> = Types.OBJECT({ category: Types.INT, final: Types.INT });

interface ClosedAuction {
  category: number;
  price: number;
}
const CLOSED_AUCTION_TYPE: TypeInformation<ClosedAuction> = Types.OBJECT({
  category: Types.INT,
  price: Types.INT,
});

interface CategoryTotals {
  sum: number;
  count: number;
  /** An event-time timer is set to emit the new average. */
  pending: boolean;
}

/** Keyed by category: sums the closed auctions' prices; emits the average on the watermark after a change. */
class AveragePerCategory implements KeyedProcessFunction<number, ClosedAuction, Q4Result> {
  private totals!: ValueState<CategoryTotals>;

  open(ctx: RuntimeContext): void {
    this.totals = ctx.getState(new ValueStateDescriptor<CategoryTotals>("totals"));
  }

  processElement(c: ClosedAuction, ctx: KeyedProcessContext<number>): void {
    const t = this.totals.value();
    const pending = t?.pending === true;
    this.totals.update({ sum: (t?.sum ?? 0) + c.price, count: (t?.count ?? 0) + 1, pending: true });
    if (!pending) {
      const timers = ctx.timerService();
      timers.registerEventTimeTimer(Math.max(ctx.timestamp() ?? 0, timers.currentWatermark() + 1));
    }
  }

  onTimer(_time: number, ctx: OnTimerContext<number>, out: Collector<Q4Result>): void {
    const t = this.totals.value();
    if (t === undefined || !t.pending) return;
    this.totals.update({ sum: t.sum, count: t.count, pending: false });
    out.collect({ category: ctx.getCurrentKey(), final: Math.trunc(t.sum / t.count) });
  }
}

function closed(w: AuctionWinner): ClosedAuction {
  return { category: w.auction.category, price: w.bid.price };
}

export const q4: NexmarkQuery<Q4Result> = {
  name: "q4",
  title: "average price per category",
  fields: ["category", "final"],
  outputType: Q4_TYPE,
  eventTime: true,
  upsertKey: ["category"],
  build: (events) =>
    auctionsOf(events, "q4")
      .connect(bidsOf(events, "q4"))
      .keyBy(
        (a) => a.id,
        (b) => b.auction,
      )
      .process<AuctionWinner>(new WinningBids(), "q4: winning bids")
      .map(closed, "q4: closed auctions")
      .returns(CLOSED_AUCTION_TYPE)
      .keyBy((c) => c.category)
      .process<Q4Result>(new AveragePerCategory(), "q4: average per category")
      .returns(Q4_TYPE),
};
