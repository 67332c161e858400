// Nexmark q22, get URL directories: the first three path segments of every bid's url.
//   SELECT auction, bidder, price, channel,
//     SPLIT_INDEX(url, '/', 3) AS dir1, SPLIT_INDEX(url, '/', 4) AS dir2, SPLIT_INDEX(url, '/', 5) AS dir3
//   FROM bid
// SPLIT_INDEX splits on every '/', keeping empty pieces ("https:", "", "www.nexmark.com", dir1, ...), and
// is NULL past the last piece.

import { type Collector, type TypeInformation, Types } from "../../index.ts";
import type { NexmarkEvent } from "../../connectors/nexmark/model.ts";
import type { NexmarkQuery } from "./query.ts";

/** q22 output: one record per bid. */
export interface Q22Result {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  /** Piece 3 of the url split on '/', or null when there is none. */
  dir1: string | null;
  dir2: string | null;
  dir3: string | null;
}

/** The Q22Result record type. */
export const Q22_TYPE: TypeInformation<Q22Result> = Types.OBJECT({
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.INT,
  channel: Types.STRING,
  dir1: Types.NULLABLE(Types.STRING),
  dir2: Types.NULLABLE(Types.STRING),
  dir3: Types.NULLABLE(Types.STRING),
}) as TypeInformation<never>;

/** The reference's SPLIT_INDEX(s, sep, index) for a one-character separator. */
export function splitIndex(s: string, sep: string, index: number): string | null {
  let start = 0;
  for (let i = 0; i < index; i++) {
    const at = s.indexOf(sep, start);
    if (at < 0) return null;
    start = at + 1;
  }
  const end = s.indexOf(sep, start);
  return end < 0 ? s.slice(start) : s.slice(start, end);
}

export const q22: NexmarkQuery<Q22Result> = {
  name: "q22",
  title: "get URL directories",
  fields: ["auction", "bidder", "price", "channel", "dir1", "dir2", "dir3"],
  outputType: Q22_TYPE,
  build: (events) => events.flatMap(directories, "q22: url directories").returns(Q22_TYPE),
};

function directories(e: NexmarkEvent, out: Collector<Q22Result>): void {
  if (e.type !== "bid") return;
  const b = e.bid;
  out.collect({
    auction: b.auction,
    bidder: b.bidder,
    price: b.price,
    channel: b.channel,
    dir1: splitIndex(b.url, "/", 3),
    dir2: splitIndex(b.url, "/", 4),
    dir3: splitIndex(b.url, "/", 5),
  });
}
