// Nexmark q13, bounded side input join: every bid enriched with the value of a small bounded table.
//   CREATE TABLE side_input (key BIGINT, `value` VARCHAR)
//     WITH ('connector.type' = 'filesystem', 'connector.path' = '.../side_input.txt', 'format.type' = 'csv');
//   SELECT B.auction, B.bidder, B.price, B.dateTime, S.`value`
//   FROM (SELECT *, PROCTIME() AS p_time FROM bid) B
//   JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
//   ON mod(B.auction, 10000) = S.key
//
// A lookup join against a bounded table, as Flink runs it: each subtask loads the whole table when it
// opens (Flink's lookup cache of the filesystem table) and looks every bid up in it; bids without a
// row are dropped (an inner join). The table is a CSV file of `key,value` lines (the rest of the line
// after the first comma is the value), or by default the reference's: keys 0..9999, value = the key
// as text. The table never changes during a run, so the processing-time version is the whole table.

import { readFileSync } from "node:fs";
import {
  type Collector,
  type FlatMapFunction,
  InvalidArgumentError,
  type TypeInformation,
  Types,
} from "../../index.ts";
import type { Bid } from "../../connectors/nexmark/model.ts";
import { bidsOf, type NexmarkQuery } from "./query.ts";

/** q13 output: one record per bid whose mod(auction, 10000) has a row in the side input. */
export interface Q13Result {
  auction: number;
  bidder: number;
  price: number;
  /** Epoch ms. */
  dateTime: number;
  /** The side input's value for mod(auction, 10000). */
  value: string;
}

export const Q13_TYPE: TypeInformation<Q13Result> = Types.OBJECT({
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.INT,
  dateTime: Types.INT,
  value: Types.STRING,
}) as TypeInformation<never>;

/** Rows of the reference's side input, and the modulus of the join key. */
export const Q13_SIDE_INPUT_ROWS = 10_000;

/** The reference's side input: key k → String(k) for k in 0..9999. */
export function defaultSideInput(): Map<number, string> {
  const table = new Map<number, string>();
  for (let k = 0; k < Q13_SIDE_INPUT_ROWS; k++) table.set(k, String(k));
  return table;
}

/** A side input from CSV text: `key,value` per line; blank lines skipped; a later key wins. */
export function parseSideInput(text: string, path = "side input"): Map<number, string> {
  const table = new Map<number, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const comma = line.indexOf(",");
    const key = comma < 0 ? Number.NaN : Number(line.slice(0, comma).trim());
    if (!Number.isSafeInteger(key)) {
      throw new InvalidArgumentError(
        `${path}:${i + 1}: a side input line is 'key,value' with an integer key, got '${line}'`,
      );
    }
    table.set(key, line.slice(comma + 1));
  }
  return table;
}

/** Loads the side input when the subtask opens, then joins every bid against it. */
class SideInputJoin implements FlatMapFunction<Bid, Q13Result> {
  private table = new Map<number, string>();
  constructor(private readonly path: string | undefined) {}

  open(): void {
    if (this.path === undefined) {
      this.table = defaultSideInput();
      return;
    }
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (e) {
      throw new InvalidArgumentError(
        `q13: cannot read the side input '${this.path}': ${(e as Error).message}`,
      );
    }
    this.table = parseSideInput(text, this.path);
  }

  flatMap(b: Bid, out: Collector<Q13Result>): void {
    const value = this.table.get(b.auction % Q13_SIDE_INPUT_ROWS);
    if (value !== undefined) {
      out.collect({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, value });
    }
  }
}

export const q13: NexmarkQuery<Q13Result> = {
  name: "q13",
  title: "bounded side input join",
  fields: ["auction", "bidder", "price", "dateTime", "value"],
  outputType: Q13_TYPE,
  build: (events, options) =>
    bidsOf(events, "q13")
      .flatMap(new SideInputJoin(options?.sideInput), "q13: join the side input")
      .returns(Q13_TYPE),
};
