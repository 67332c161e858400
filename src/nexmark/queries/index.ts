// The Nexmark query registry: every query of the suite (q0-q5, q7-q9, q11-q14, q18, q19, q21, q22; the
// suite has no q6, q10, q15-q17 or q20 among its standard Flink queries run here), by name.

import { InvalidArgumentError } from "../../index.ts";
import { q0 } from "./q0.ts";
import { q1 } from "./q1.ts";
import { q2 } from "./q2.ts";
import { q3 } from "./q3.ts";
import { q4 } from "./q4.ts";
import { q5 } from "./q5.ts";
import { q7 } from "./q7.ts";
import { q8 } from "./q8.ts";
import { q9 } from "./q9.ts";
import { q11 } from "./q11.ts";
import { q12 } from "./q12.ts";
import { q13 } from "./q13.ts";
import { q14 } from "./q14.ts";
import { q18 } from "./q18.ts";
import { q19 } from "./q19.ts";
import { q21 } from "./q21.ts";
import { q22 } from "./q22.ts";
import type { NexmarkQuery, PendingNexmarkQuery } from "./query.ts";

export type { NexmarkQuery, NexmarkQueryOptions, PendingNexmarkQuery } from "./query.ts";
export type { Q0Result } from "./q0.ts";
export type { Q1Result } from "./q1.ts";
export type { Q2Result } from "./q2.ts";
export type { Q3Result } from "./q3.ts";
export type { Q4Result } from "./q4.ts";
export type { Q5Result } from "./q5.ts";
export type { Q7Result } from "./q7.ts";
export type { Q8Result } from "./q8.ts";
export type { Q9Result } from "./q9.ts";
export type { Q11Result } from "./q11.ts";
export type { Q12Result } from "./q12.ts";
export type { Q13Result } from "./q13.ts";
export type { BidTimeType, Q14Result } from "./q14.ts";
export type { Q18Result } from "./q18.ts";
export type { Q19Result } from "./q19.ts";
export type { Q21Result } from "./q21.ts";
export type { Q22Result } from "./q22.ts";
export { bidTimeType, countChar } from "./q14.ts";
export { ProcessingTimeOrEndOfInputTrigger } from "./q12.ts";
export { defaultSideInput, parseSideInput, Q13_SIDE_INPUT_ROWS } from "./q13.ts";
export { laterBid } from "./q18.ts";
export { channelId } from "./q21.ts";
export { splitIndex } from "./q22.ts";
export { betterBid, inLifetime } from "./winning-bids.ts";
export { auctionsOf, bidsOf, dollarsToEuros, personsOf } from "./query.ts";

/** The queries, by name. */
export const QUERIES: ReadonlyMap<string, NexmarkQuery> = new Map<string, NexmarkQuery>(
  ([q0, q1, q2, q3, q4, q5, q7, q8, q9, q11, q12, q13, q14, q18, q19, q21, q22] as NexmarkQuery[]).map(
    (q) => [q.name, q],
  ),
);

/** Queries of the suite that need engine features Weir does not have yet: none any more. */
export const PENDING_QUERIES: ReadonlyMap<string, PendingNexmarkQuery> = new Map();

/** Names of the runnable queries, in suite order. */
export function runnableQueryNames(): string[] {
  return [...QUERIES.keys()].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}

/** The query `name` ("q3" or "3"); a clear error for an unknown one. */
export function nexmarkQuery(name: string): NexmarkQuery {
  const key = /^\d+$/.test(name) ? `q${name}` : name.toLowerCase();
  const q = QUERIES.get(key);
  if (q !== undefined) return q;
  throw new InvalidArgumentError(
    `unknown Nexmark query '${name}'. Queries: ${runnableQueryNames().join(", ")}`,
  );
}
