// Nexmark q9, winning bids: every auction with its highest bid made within its lifetime.
//   SELECT id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra,
//          auction, bidder, price, bid_dateTime, bid_extra
//   FROM (SELECT A.*, B.auction, B.bidder, B.price, B.dateTime AS bid_dateTime, B.extra AS bid_extra,
//           ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime ASC) AS rownum
//         FROM auction A, bid B
//         WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires)
//   WHERE rownum <= 1
//
// The reference's result retracts and re-emits an auction's row while bids come in; here each auction's
// final row is emitted once, when the watermark passes its expiry (see winning-bids.ts). Ties on price
// and dateTime go to the lower bidder id, then the smaller extra (the reference leaves them open).

import { type TypeInformation, Types } from "../../index.ts";
import { auctionsOf, bidsOf, type NexmarkQuery } from "./query.ts";
import { type AuctionWinner, WinningBids } from "./winning-bids.ts";

/** q9 output: one record per auction that had a bid in its lifetime, at its expiry. */
export interface Q9Result {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  /** The auction's start, epoch ms. */
  dateTime: number;
  /** The auction's end, epoch ms. */
  expires: number;
  seller: number;
  category: number;
  extra: string;
  /** = id. */
  auction: number;
  bidder: number;
  /** The winning price, in cents. */
  price: number;
  bid_dateTime: number;
  bid_extra: string;
}

export const Q9_TYPE: TypeInformation<Q9Result> = Types.OBJECT({
  id: Types.INT,
  itemName: Types.STRING,
  description: Types.STRING,
  initialBid: Types.INT,
  reserve: Types.INT,
  dateTime: Types.INT,
  expires: Types.INT,
  seller: Types.INT,
  category: Types.INT,
  extra: Types.STRING,
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.INT,
  bid_dateTime: Types.INT,
  bid_extra: Types.STRING,
}) as TypeInformation<never>;

function toResult({ auction: a, bid: b }: AuctionWinner): Q9Result {
  return {
    id: a.id,
    itemName: a.itemName,
    description: a.description,
    initialBid: a.initialBid,
    reserve: a.reserve,
    dateTime: a.dateTime,
    expires: a.expires,
    seller: a.seller,
    category: a.category,
    extra: a.extra,
    auction: b.auction,
    bidder: b.bidder,
    price: b.price,
    bid_dateTime: b.dateTime,
    bid_extra: b.extra,
  };
}

export const q9: NexmarkQuery<Q9Result> = {
  name: "q9",
  title: "winning bids",
  fields: [
    "id",
    "itemName",
    "description",
    "initialBid",
    "reserve",
    "dateTime",
    "expires",
    "seller",
    "category",
    "extra",
    "auction",
    "bidder",
    "price",
    "bid_dateTime",
    "bid_extra",
  ],
  outputType: Q9_TYPE,
  eventTime: true,
  build: (events) =>
    auctionsOf(events, "q9")
      .connect(bidsOf(events, "q9"))
      .keyBy(
        (a) => a.id,
        (b) => b.auction,
      )
      .process<AuctionWinner>(new WinningBids(), "q9: winning bids")
      .map(toResult, "q9: result")
      .returns(Q9_TYPE),
};
