// The click generator of the feature pipeline (examples/feature-pipeline.ts): deterministic
// synthetic clicks { user, page, ts } — ts is the click's own event time, a little out of order —
// published as JSON to a NATS JetStream stream (created when missing), half to <prefix>.web and
// half to <prefix>.app (the job reads one split per subject).
//
//   npx tsx examples/feature-pipeline-publish.ts                 (3000 clicks over the last 15 min)
//   npx tsx examples/feature-pipeline-publish.ts --clicks 500 --live   (then one more per 100 ms)
//
// Options: --clicks n, --users n, --seed n, --live, and the connection: --nats host:port
// (WEIR_NATS_SERVER, default 127.0.0.1:4222), --stream (default WEIR_CLICKS), --subject-prefix
// (default weir-clicks).

import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

export interface Click {
  user: string;
  page: string;
  /** Event time, epoch ms: when the user clicked (not when the message was published). */
  ts: number;
}

export interface ClickOptions {
  clicks: number;
  users?: number;
  /** Event time of the last click, epoch ms (default now). */
  end?: number;
  /** Event-time distance between consecutive clicks in publication order (default 300 ms). */
  intervalMs?: number;
  /** A click's event time is up to this much earlier than its place in the sequence (default 20 s). */
  maxDisorderMs?: number;
  seed?: number;
}

export const PAGES = ["/", "/search", "/item/1", "/item/2", "/item/3", "/cart", "/checkout", "/help"];

/** A small seeded PRNG (mulberry32): the same seed gives the same clicks. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Clicks in publication order; event times are out of order by at most maxDisorderMs. */
export function generateClicks(o: ClickOptions): Click[] {
  const users = o.users ?? 50;
  const interval = o.intervalMs ?? 300;
  const disorder = o.maxDisorderMs ?? 20_000;
  const end = o.end ?? Date.now();
  const next = random(o.seed ?? 42);
  const out: Click[] = [];
  for (let i = 0; i < o.clicks; i++) {
    const u = Math.floor(next() ** 2 * users); // skewed: low ids click more
    const page = PAGES[Math.floor(next() * PAGES.length)]!;
    const ts = end - (o.clicks - 1 - i) * interval - Math.floor(next() * disorder);
    out.push({ user: `user-${u}`, page, ts });
  }
  return out;
}

export interface PublishTarget {
  servers: string;
  stream: string;
  subjectPrefix: string;
}

/** Creates the stream (capturing `<subjectPrefix>.>`) when missing; returns a publish function and close. */
export async function openPublisher(t: PublishTarget) {
  const nc = await connect({ servers: t.servers, timeout: 5000 });
  try {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(t.stream);
    } catch {
      await jsm.streams.add({ name: t.stream, subjects: [`${t.subjectPrefix}.>`] });
    }
  } catch (e) {
    await nc.close();
    throw e;
  }
  const js = jetstream(nc);
  let n = 0;
  return {
    /** Publishes one click, alternately to <prefix>.web and <prefix>.app. */
    async publish(c: Click): Promise<void> {
      const channel = n++ % 2 === 0 ? "web" : "app";
      await js.publish(`${t.subjectPrefix}.${channel}`, JSON.stringify(c));
    },
    close: () => nc.close(),
  };
}

/** Publishes the clicks in order (each acknowledged by JetStream). */
export async function publishClicks(t: PublishTarget, clicks: readonly Click[]): Promise<void> {
  const p = await openPublisher(t);
  try {
    for (const c of clicks) await p.publish(c);
  } finally {
    await p.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clicks: { type: "string", default: "3000" },
      users: { type: "string", default: "50" },
      seed: { type: "string", default: "42" },
      live: { type: "boolean", default: false },
      nats: { type: "string", default: process.env.WEIR_NATS_SERVER ?? "127.0.0.1:4222" },
      stream: { type: "string", default: "WEIR_CLICKS" },
      "subject-prefix": { type: "string", default: "weir-clicks" },
    },
  });
  const target = { servers: values.nats, stream: values.stream, subjectPrefix: values["subject-prefix"] };
  const users = Number(values.users);
  const clicks = generateClicks({ clicks: Number(values.clicks), users, seed: Number(values.seed) });
  const p = await openPublisher(target);
  for (const c of clicks) await p.publish(c);
  console.log(
    `published ${clicks.length} clicks to stream ${target.stream} (${target.subjectPrefix}.web/.app)`,
  );
  if (!values.live) return p.close();
  console.log("publishing one click per 100 ms with the current time; Ctrl-C stops");
  const next = random(Number(values.seed) + 1);
  process.once("SIGINT", () => void p.close().then(() => process.exit(0)));
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const user = `user-${Math.floor(next() ** 2 * users)}`;
    const page = PAGES[Math.floor(next() * PAGES.length)]!;
    await p.publish({ user, page, ts: Date.now() - Math.floor(next() * 5000) });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: Error) => {
    console.error(`feature-pipeline-publish: ${e.message}`);
    process.exitCode = 1;
  });
}
