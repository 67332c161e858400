// Nexmark q12, processing-time windows: how many bids each bidder made in each 10 s window of
// processing (wall-clock) time.
//   SELECT B.bidder, count(*) AS bid_count,
//          TUMBLE_START(B.p_time, INTERVAL '10' SECOND) AS starttime,
//          TUMBLE_END(B.p_time, INTERVAL '10' SECOND) AS endtime
//   FROM (SELECT *, PROCTIME() AS p_time FROM bid) B
//   GROUP BY B.bidder, TUMBLE(B.p_time, INTERVAL '10' SECOND)
//
// Tumbling processing-time windows keyed by bidder, counted incrementally. Which window a bid falls
// into depends on when it is processed, so the results depend on the machine; only their totals per
// bidder do not. One addition to the reference: when a bounded input ends, the windows still open fire
// (Flink drops them; a short benchmark run would otherwise report nothing). The trigger does it with
// an event-time timer at the end of time, which only the final watermark of a bounded input reaches.

import {
  type AggregateFunction,
  type Collector,
  MAX_WINDOW_TIMESTAMP,
  type TimeWindow,
  type Trigger,
  type TriggerContext,
  TriggerResult,
  TumblingProcessingTimeWindows,
  type TypeInformation,
  Types,
} from "../../index.ts";
import type { Bid } from "../../connectors/nexmark/model.ts";
import { bidsOf, type NexmarkQuery } from "./query.ts";

/** q12 output: one record per (bidder, processing-time window with bids). */
export interface Q12Result {
  bidder: number;
  bid_count: number;
  /** The window's bounds in processing time (epoch ms of the machine's clock); end exclusive. */
  starttime: number;
  endtime: number;
}

export const Q12_TYPE: TypeInformation<Q12Result> = Types.OBJECT({
  bidder: Types.INT,
  bid_count: Types.INT,
  starttime: Types.INT,
  endtime: Types.INT,
}) as TypeInformation<never>;

export const Q12_WINDOW_MS = 10_000;

/** Fires when processing time passes the window's end, or when a bounded input ends. */
export class ProcessingTimeOrEndOfInputTrigger implements Trigger<unknown, TimeWindow> {
  onElement(_e: unknown, _t: number, w: TimeWindow, ctx: TriggerContext): TriggerResult {
    ctx.registerProcessingTimeTimer(w.maxTimestamp());
    ctx.registerEventTimeTimer(MAX_WINDOW_TIMESTAMP);
    return TriggerResult.CONTINUE;
  }
  onEventTime(): TriggerResult {
    return TriggerResult.FIRE_AND_PURGE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.FIRE;
  }
  clear(w: TimeWindow, ctx: TriggerContext): void {
    ctx.deleteProcessingTimeTimer(w.maxTimestamp());
    ctx.deleteEventTimeTimer(MAX_WINDOW_TIMESTAMP);
  }
  toString(): string {
    return "ProcessingTimeOrEndOfInputTrigger()";
  }
}

const countBids: AggregateFunction<Bid, number, number> = {
  createAccumulator: () => 0,
  add: (_b, n) => n + 1,
  getResult: (n) => n,
};

const window = {
  apply(bidder: number, w: TimeWindow, counts: readonly number[], out: Collector<Q12Result>): void {
    out.collect({ bidder, bid_count: counts[0]!, starttime: w.start, endtime: w.end });
  },
};

export const q12: NexmarkQuery<Q12Result> = {
  name: "q12",
  title: "processing-time windows",
  fields: ["bidder", "bid_count", "starttime", "endtime"],
  outputType: Q12_TYPE,
  build: (events) =>
    bidsOf(events, "q12")
      .keyBy((b) => b.bidder)
      .window(TumblingProcessingTimeWindows.of(Q12_WINDOW_MS))
      .trigger(new ProcessingTimeOrEndOfInputTrigger())
      .aggregate(countBids, window)
      .name("q12: bids per bidder and processing-time window")
      .returns(Q12_TYPE),
};
