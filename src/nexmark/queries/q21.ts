// Nexmark q21, add channel id: the hot channels' ids by name, the others' from the url's channel_id.
//   SELECT auction, bidder, price, channel,
//     CASE WHEN lower(channel) = 'apple' THEN '0' WHEN lower(channel) = 'google' THEN '1'
//          WHEN lower(channel) = 'facebook' THEN '2' WHEN lower(channel) = 'baidu' THEN '3'
//          ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) END AS channel_id
//   FROM bid
//   WHERE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) IS NOT NULL
//      OR lower(channel) IN ('apple', 'google', 'facebook', 'baidu')

import { type Collector, Types } from "../../index.ts";
import type { NexmarkEvent } from "../../connectors/nexmark/model.ts";
import type { NexmarkQuery } from "./query.ts";

/** q21 output: one record per bid through a hot channel or with a channel_id in its url. */
export interface Q21Result {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  /** "0".."3" for apple, google, facebook, baidu; else the url's channel_id parameter (never null). */
  channel_id: string;
}

export const Q21_TYPE = Types.OBJECT({
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.INT,
  channel: Types.STRING,
  channel_id: Types.STRING,
});

const CHANNEL_ID = /(&|^)channel_id=([^&]*)/;

/** The reference's channel_id of a bid, or null when the bid is filtered out. */
export function channelId(channel: string, url: string): string | null {
  switch (channel.toLowerCase()) {
    case "apple":
      return "0";
    case "google":
      return "1";
    case "facebook":
      return "2";
    case "baidu":
      return "3";
  }
  const m = CHANNEL_ID.exec(url);
  return m === null ? null : m[2]!;
}

export const q21: NexmarkQuery<Q21Result> = {
  name: "q21",
  title: "add channel id",
  fields: ["auction", "bidder", "price", "channel", "channel_id"],
  outputType: Q21_TYPE,
  build: (events) => events.flatMap(addChannelId, "q21: channel id").returns(Q21_TYPE),
};

function addChannelId(e: NexmarkEvent, out: Collector<Q21Result>): void {
  if (e.type !== "bid") return;
  const b = e.bid;
  const id = channelId(b.channel, b.url);
  if (id !== null) {
    out.collect({ auction: b.auction, bidder: b.bidder, price: b.price, channel: b.channel, channel_id: id });
  }
}
