// Nexmark event model (Person, Auction, Bid) and its one-object-per-line JSON form.

/** A new person registering with the auction site. */
export interface Person {
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  /** Epoch milliseconds. */
  dateTime: number;
  extra: string;
}

/** A new auction opened by `seller`. */
export interface Auction {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  /** Epoch milliseconds. */
  dateTime: number;
  /** Epoch milliseconds. */
  expires: number;
  seller: number;
  category: number;
  extra: string;
}

/** A bid by `bidder` on `auction`. */
export interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  /** Epoch milliseconds. */
  dateTime: number;
  extra: string;
}

export type NexmarkEvent =
  | { type: "person"; person: Person }
  | { type: "auction"; auction: Auction }
  | { type: "bid"; bid: Bid };

export type NexmarkEventType = NexmarkEvent["type"];

/** A generated event with its event time (= the payload's dateTime) and the watermark that may follow it. */
export type TimestampedNexmarkEvent = NexmarkEvent & { timestamp: number; watermark?: number };

/** A JSON line that is not a valid Nexmark event; the message names the line. */
export class NexmarkFormatError extends Error {
  readonly code = "SERIALIZATION";
  readonly lineNumber: number | undefined;

  constructor(message: string, lineNumber: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NexmarkFormatError";
    this.lineNumber = lineNumber;
  }
}

const q = JSON.stringify;

/**
 * One JSON object, no newline: {"type":"bid"|"auction"|"person", ...the payload's fields}; times are epoch ms.
 * Extra properties of `e` (timestamp, watermark) are not written.
 */
export function eventToJson(e: NexmarkEvent): string {
  switch (e.type) {
    case "bid": {
      const b = e.bid;
      return `{"type":"bid","auction":${b.auction},"bidder":${b.bidder},"price":${b.price},"channel":${q(
        b.channel,
      )},"url":${q(b.url)},"dateTime":${b.dateTime},"extra":${q(b.extra)}}`;
    }
    case "auction": {
      const a = e.auction;
      return `{"type":"auction","id":${a.id},"itemName":${q(a.itemName)},"description":${q(
        a.description,
      )},"initialBid":${a.initialBid},"reserve":${a.reserve},"dateTime":${a.dateTime},"expires":${
        a.expires
      },"seller":${a.seller},"category":${a.category},"extra":${q(a.extra)}}`;
    }
    case "person": {
      const p = e.person;
      return `{"type":"person","id":${p.id},"name":${q(p.name)},"emailAddress":${q(
        p.emailAddress,
      )},"creditCard":${q(p.creditCard)},"city":${q(p.city)},"state":${q(p.state)},"dateTime":${
        p.dateTime
      },"extra":${q(p.extra)}}`;
    }
  }
}

function where(lineNumber: number | undefined): string {
  return lineNumber === undefined ? "Nexmark JSON" : `Nexmark JSON line ${lineNumber}`;
}

function preview(line: string): string {
  return line.length > 80 ? `${JSON.stringify(line.slice(0, 80))}...` : JSON.stringify(line);
}

function fail(line: string, lineNumber: number | undefined, what: string, cause?: unknown): never {
  throw new NexmarkFormatError(
    `${where(lineNumber)}: ${what}; expected one object like {"type":"bid",...} per line, got ${preview(line)}`,
    lineNumber,
    cause === undefined ? undefined : { cause },
  );
}

type Obj = Record<string, unknown>;

function int(o: Obj, field: string, line: string, n: number | undefined): number {
  const v = o[field];
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    fail(
      line,
      n,
      `field '${field}' must be an integer, got ${v === undefined ? "nothing" : JSON.stringify(v)}`,
    );
  }
  return v;
}

function str(o: Obj, field: string, line: string, n: number | undefined): string {
  const v = o[field];
  if (typeof v !== "string") {
    fail(
      line,
      n,
      `field '${field}' must be a string, got ${v === undefined ? "nothing" : JSON.stringify(v)}`,
    );
  }
  return v;
}

/** Parse one line written by eventToJson. Throws NexmarkFormatError naming `lineNumber` on malformed input. */
export function eventFromJson(line: string, lineNumber?: number): NexmarkEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (e) {
    fail(line, lineNumber, `not valid JSON (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    fail(line, lineNumber, "not a JSON object");
  }
  const o = parsed as Obj;
  const n = lineNumber;
  switch (o.type) {
    case "bid":
      return {
        type: "bid",
        bid: {
          auction: int(o, "auction", line, n),
          bidder: int(o, "bidder", line, n),
          price: int(o, "price", line, n),
          channel: str(o, "channel", line, n),
          url: str(o, "url", line, n),
          dateTime: int(o, "dateTime", line, n),
          extra: str(o, "extra", line, n),
        },
      };
    case "auction":
      return {
        type: "auction",
        auction: {
          id: int(o, "id", line, n),
          itemName: str(o, "itemName", line, n),
          description: str(o, "description", line, n),
          initialBid: int(o, "initialBid", line, n),
          reserve: int(o, "reserve", line, n),
          dateTime: int(o, "dateTime", line, n),
          expires: int(o, "expires", line, n),
          seller: int(o, "seller", line, n),
          category: int(o, "category", line, n),
          extra: str(o, "extra", line, n),
        },
      };
    case "person":
      return {
        type: "person",
        person: {
          id: int(o, "id", line, n),
          name: str(o, "name", line, n),
          emailAddress: str(o, "emailAddress", line, n),
          creditCard: str(o, "creditCard", line, n),
          city: str(o, "city", line, n),
          state: str(o, "state", line, n),
          dateTime: int(o, "dateTime", line, n),
          extra: str(o, "extra", line, n),
        },
      };
    default:
      return fail(
        line,
        lineNumber,
        `field 'type' must be "person", "auction" or "bid", got ${
          o.type === undefined ? "nothing" : JSON.stringify(o.type)
        }`,
      );
  }
}
