// Nexmark q8, monitor new users: the persons who registered and opened an auction in the same 10 s
// tumbling window.
//   SELECT P.id, P.name, P.starttime
//   FROM (SELECT id, name, window_start AS starttime, window_end AS endtime
//         FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//         GROUP BY id, name, window_start, window_end) P
//   JOIN (SELECT seller, window_start AS starttime, window_end AS endtime
//         FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//         GROUP BY seller, window_start, window_end) A
//   ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime
//
// A window coGroup of persons and auctions on person.id = auction.seller: both sides are grouped
// (GROUP BY) before the join, so a window gives one row per distinct (id, name) with at least one
// auction of that seller, however many auctions there are.

import { type Collector, TumblingEventTimeWindows, type TypeInformation, Types } from "../../index.ts";
import type { Auction, Person } from "../../connectors/nexmark/model.ts";
import { auctionsOf, type NexmarkQuery, personsOf } from "./query.ts";

/** q8 output: one record per (window, new person who opened an auction in it). */
export interface Q8Result {
  id: number;
  name: string;
  /** The window's start, epoch ms. */
  starttime: number;
}

export const Q8_TYPE: TypeInformation<Q8Result> = Types.OBJECT({
  id: Types.INT,
  name: Types.STRING,
  starttime: Types.INT,
}) as TypeInformation<never>;

export const Q8_WINDOW_MS = 10_000;

function newSellers(
  persons: readonly Person[],
  auctions: readonly Auction[],
  out: Collector<Q8Result>,
): void {
  if (persons.length === 0 || auctions.length === 0) return;
  const seen = new Set<string>();
  for (const p of persons) {
    if (seen.has(p.name)) continue;
    seen.add(p.name);
    const starttime = p.dateTime - (p.dateTime % Q8_WINDOW_MS);
    out.collect({ id: p.id, name: p.name, starttime });
  }
}

export const q8: NexmarkQuery<Q8Result> = {
  name: "q8",
  title: "monitor new users",
  fields: ["id", "name", "starttime"],
  outputType: Q8_TYPE,
  eventTime: true,
  build: (events) =>
    personsOf(events, "q8")
      .coGroup(auctionsOf(events, "q8"))
      .where((p) => p.id)
      .equalTo((a) => a.seller)
      .window(TumblingEventTimeWindows.of(Q8_WINDOW_MS))
      .apply<Q8Result>(newSellers)
      .name("q8: persons with auctions per window")
      .returns(Q8_TYPE),
};
