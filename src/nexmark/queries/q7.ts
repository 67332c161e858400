// Nexmark q7, highest bid: the bids with the highest price of each 10 s tumbling window.
//   SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra
//   FROM bid B
//   JOIN (SELECT MAX(price) AS maxprice, window_end AS dateTime
//         FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//         GROUP BY window_start, window_end) B1
//   ON B.price = B1.maxprice
//   WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND B1.dateTime
//
// Two windowed stages. Stage 1, keyed by auction: per window, the highest price and the bids with it.
// Stage 2, keyed by window end (one key per window): the window's maximum over the auctions, and the
// bids with it. As in the reference, BETWEEN includes both ends: a bid made exactly at window_end
// (which belongs to the next window) is also a result of this window if its price equals this
// window's maximum; it does not take part in this window's MAX. So a bid at a multiple of 10 s is
// assigned to both windows it touches, and the accumulators keep such boundary bids apart.

import {
  type AggregateFunction,
  type Collector,
  EventTimeTrigger,
  TimeWindow,
  type Trigger,
  TumblingEventTimeWindows,
  type TypeInformation,
  Types,
  WindowAssigner,
} from "../../index.ts";
import type { Bid } from "../../connectors/nexmark/model.ts";
import { bidsOf, type NexmarkQuery } from "./query.ts";

/** q7 output: one record per bid with its window's highest price (all of them on a tie). */
export interface Q7Result {
  auction: number;
  /** The window's highest price, in cents. */
  price: number;
  bidder: number;
  /** The bid's time, epoch ms: in [window_end - 10 s, window_end]. */
  dateTime: number;
  extra: string;
}

export const Q7_TYPE: TypeInformation<Q7Result> = Types.OBJECT({
  auction: Types.INT,
  price: Types.INT,
  bidder: Types.INT,
  dateTime: Types.INT,
  extra: Types.STRING,
}) as TypeInformation<never>;

export const Q7_WINDOW_MS = 10_000;

/**
 * Tumbling event-time windows of `size` in which a bid at a window boundary t (t % size = 0) is in
 * both [t, t + size) and [t - size, t): the reference's BETWEEN ... AND window_end.
 */
class ClosedEndTumblingWindows extends WindowAssigner<unknown, TimeWindow> {
  constructor(readonly size: number) {
    super();
  }
  assignWindows(_e: unknown, t: number): TimeWindow[] {
    const start = TimeWindow.getWindowStartWithOffset(t, 0, this.size);
    const own = new TimeWindow(start, start + this.size);
    return t === start ? [own, new TimeWindow(start - this.size, start)] : [own];
  }
  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.create();
  }
  isEventTime(): boolean {
    return true;
  }
  override stateNamespace(w: TimeWindow): number {
    return w.start;
  }
  override toString(): string {
    return `ClosedEndTumblingWindows(${this.size})`;
  }
}

/** The highest-priced bids of some bids of one window, and the bids at a multiple of the window size. */
interface HighestBids {
  /** Highest price among the bids strictly inside windows (not at a boundary); -1 when none. */
  price: number;
  bids: Bid[];
  /** Bids at a boundary t: inside the window if t is its start, a candidate only if t is its end. */
  boundary: Bid[];
}

/** A window's partial result from stage 1. */
interface WindowPartial {
  end: number;
  /** Highest price of the bids in [end - size, end); -1 when none. */
  price: number;
  /** The bids in the window with that price. */
  bids: Bid[];
  /** The bids at `end`: results if their price equals the window's maximum. */
  atEnd: Bid[];
}

const highestBids: AggregateFunction<Bid, HighestBids, HighestBids> = {
  createAccumulator: () => ({ price: -1, bids: [], boundary: [] }),
  add(b, acc) {
    if (b.dateTime % Q7_WINDOW_MS === 0)
      return { price: acc.price, bids: acc.bids, boundary: [...acc.boundary, b] };
    if (b.price > acc.price) return { price: b.price, bids: [b], boundary: acc.boundary };
    if (b.price === acc.price) return { price: acc.price, bids: [...acc.bids, b], boundary: acc.boundary };
    return acc;
  },
  getResult: (acc) => acc,
};

/** Resolves the boundary bids now that the window is known. */
const partial = {
  apply(_auction: number, w: TimeWindow, accs: readonly HighestBids[], out: Collector<WindowPartial>): void {
    const acc = accs[0]!;
    let price = acc.price;
    let bids = acc.bids;
    const atEnd: Bid[] = [];
    for (const b of acc.boundary) {
      if (b.dateTime === w.end) {
        atEnd.push(b);
      } else if (b.price > price) {
        price = b.price;
        bids = [b];
      } else if (b.price === price) {
        bids = [...bids, b];
      }
    }
    out.collect({ end: w.end, price, bids, atEnd });
  },
};

/** Stage 2: the window's maximum over all auctions, and every bid with it. */
const highest = {
  apply(_end: number, _w: TimeWindow, parts: readonly WindowPartial[], out: Collector<Q7Result>): void {
    let max = -1;
    for (const p of parts) if (p.price > max) max = p.price;
    if (max < 0) return;
    for (const p of parts) {
      if (p.price === max) for (const b of p.bids) out.collect(result(b));
      for (const b of p.atEnd) if (b.price === max) out.collect(result(b));
    }
  },
};

function result(b: Bid): Q7Result {
  return { auction: b.auction, price: b.price, bidder: b.bidder, dateTime: b.dateTime, extra: b.extra };
}

export const q7: NexmarkQuery<Q7Result> = {
  name: "q7",
  title: "highest bid",
  fields: ["auction", "price", "bidder", "dateTime", "extra"],
  outputType: Q7_TYPE,
  eventTime: true,
  build: (events) =>
    bidsOf(events, "q7")
      .keyBy((b) => b.auction)
      .window(new ClosedEndTumblingWindows(Q7_WINDOW_MS))
      .aggregate(highestBids, partial)
      .name("q7: highest bids per auction and window")
      .keyBy((p) => p.end)
      .window(TumblingEventTimeWindows.of(Q7_WINDOW_MS))
      .apply(highest)
      .name("q7: highest bids per window")
      .returns(Q7_TYPE),
};
