// The Nexmark query registry: the queries that run, and those of the suite still waiting for an engine
// feature. A pending query moves to QUERIES when its module lands; nothing else changes.

import { InvalidArgumentError } from "../../../index.ts";
import { q0 } from "./q0.ts";
import { q1 } from "./q1.ts";
import { q2 } from "./q2.ts";
import { q3 } from "./q3.ts";
import { q14 } from "./q14.ts";
import { q21 } from "./q21.ts";
import { q22 } from "./q22.ts";
import type { NexmarkQuery, PendingNexmarkQuery } from "./query.ts";

export type { NexmarkQuery, PendingNexmarkQuery } from "./query.ts";
export type { Q0Result } from "./q0.ts";
export type { Q1Result } from "./q1.ts";
export type { Q2Result } from "./q2.ts";
export type { Q3Result } from "./q3.ts";
export type { BidTimeType, Q14Result } from "./q14.ts";
export type { Q21Result } from "./q21.ts";
export type { Q22Result } from "./q22.ts";
export { bidTimeType, countChar } from "./q14.ts";
export { channelId } from "./q21.ts";
export { splitIndex } from "./q22.ts";
export { dollarsToEuros } from "./query.ts";

/** The queries that run, by name. */
export const QUERIES: ReadonlyMap<string, NexmarkQuery> = new Map<string, NexmarkQuery>(
  ([q0, q1, q2, q3, q14, q21, q22] as NexmarkQuery[]).map((q) => [q.name, q]),
);

const WINDOWS = "event-time windows";

/** Queries of the suite that need engine features Weir does not have yet. */
export const PENDING_QUERIES: ReadonlyMap<string, PendingNexmarkQuery> = new Map(
  (
    [
      ["q4", "average price per category", WINDOWS],
      ["q5", "hot items, sliding window", WINDOWS],
      ["q7", "highest bid, tumbling window", WINDOWS],
      ["q8", "monitor new users, window join", "an event-time window join"],
      ["q9", "winning bids", WINDOWS],
      ["q11", "user sessions, session window", "event-time session windows"],
      ["q12", "processing-time windows", "processing-time windows"],
      ["q13", "bounded side-input join", "a bounded side input joined by processing time"],
      ["q18", "last bid per (bidder, auction)", WINDOWS],
      ["q19", "top-10 bids per auction", WINDOWS],
    ] as const
  ).map(([name, title, needs]) => [name, { name, title, needs }]),
);

/** Names of the runnable queries, in suite order. */
export function runnableQueryNames(): string[] {
  return [...QUERIES.keys()].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}

/** The query `name` ("q3" or "3"); a clear error for an unknown one or one that cannot run yet. */
export function nexmarkQuery(name: string): NexmarkQuery {
  const key = /^\d+$/.test(name) ? `q${name}` : name.toLowerCase();
  const q = QUERIES.get(key);
  if (q !== undefined) return q;
  const runnable = runnableQueryNames().join(", ");
  const pending = PENDING_QUERIES.get(key);
  if (pending !== undefined) {
    throw new InvalidArgumentError(
      `Nexmark ${pending.name} (${pending.title}) is not available yet: it needs ${pending.needs}, ` +
        `which the Nexmark suite cannot use yet. Queries that run now: ${runnable}`,
    );
  }
  const later = [...PENDING_QUERIES.keys()].join(", ");
  throw new InvalidArgumentError(
    `unknown Nexmark query '${name}'. Queries that run now: ${runnable}; not yet available (they need windows): ${later}`,
  );
}
