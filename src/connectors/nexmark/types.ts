// Record types (TypeInformation) of the Nexmark model, so events cross network edges with generated
// serializers instead of the generic one.

import { SerializationError, TypeInformation, type TypeSerializer, Types } from "../../index.ts";
import type { Auction, Bid, NexmarkEvent, Person } from "./model.ts";

export const PERSON_TYPE: TypeInformation<Person> = Types.OBJECT({
  id: Types.INT,
  name: Types.STRING,
  emailAddress: Types.STRING,
  creditCard: Types.STRING,
  city: Types.STRING,
  state: Types.STRING,
  dateTime: Types.INT,
  extra: Types.STRING,
});

export const AUCTION_TYPE: TypeInformation<Auction> = Types.OBJECT({
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
});

export const BID_TYPE: TypeInformation<Bid> = Types.OBJECT({
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.INT,
  channel: Types.STRING,
  url: Types.STRING,
  dateTime: Types.INT,
  extra: Types.STRING,
});

type Out = Parameters<TypeSerializer<unknown>["write"]>[1];
type In = Parameters<TypeSerializer<unknown>["read"]>[0];

const TAG_PERSON = 0;
const TAG_AUCTION = 1;
const TAG_BID = 2;

/**
 * A NexmarkEvent: one tag byte (person, auction, bid), then the payload with its OBJECT serializer.
 * Reads back as `{ type, person | auction | bid }` (properties outside the model, such as the
 * generator's timestamp and watermark, are not written).
 */
class NexmarkEventType extends TypeInformation<NexmarkEvent> {
  readonly name = "NEXMARK_EVENT";
  private serializer: TypeSerializer<NexmarkEvent> | undefined;

  createSerializer(): TypeSerializer<NexmarkEvent> {
    if (this.serializer !== undefined) return this.serializer;
    const person = PERSON_TYPE.createSerializer();
    const auction = AUCTION_TYPE.createSerializer();
    const bid = BID_TYPE.createSerializer();
    this.serializer = {
      write(e: NexmarkEvent, out: Out): void {
        switch (e.type) {
          case "bid":
            out.writeU8(TAG_BID);
            bid.write(e.bid, out);
            return;
          case "auction":
            out.writeU8(TAG_AUCTION);
            auction.write(e.auction, out);
            return;
          case "person":
            out.writeU8(TAG_PERSON);
            person.write(e.person, out);
            return;
          default:
            throw new SerializationError(
              `not a Nexmark event: 'type' must be "person", "auction" or "bid", got ${JSON.stringify(
                (e as { type?: unknown }).type,
              )}`,
            );
        }
      },
      read(input: In): NexmarkEvent {
        const tag = input.readU8();
        if (tag === TAG_BID) return { type: "bid", bid: bid.read(input) };
        if (tag === TAG_AUCTION) return { type: "auction", auction: auction.read(input) };
        if (tag === TAG_PERSON) return { type: "person", person: person.read(input) };
        throw new SerializationError(`corrupt Nexmark event: unknown tag byte ${tag}`);
      },
    };
    return this.serializer;
  }
}

/** The type of NexmarkSource / NexmarkJsonLinesSource records. */
export const NEXMARK_EVENT_TYPE: TypeInformation<NexmarkEvent> = new NexmarkEventType();
