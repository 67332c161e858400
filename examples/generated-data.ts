// An unbounded job on generated data: synthetic clicks from a rate-limited DataGenerator, keyed by
// user, counted per user in keyed state, and a live progress line with the rate in records/s.
// It runs until you press Ctrl-C.
//
//   node bin/weir.mjs run examples/generated-data.ts
//   WEIR_RATE=20000 node bin/weir.mjs run examples/generated-data.ts -p 2
//
// On a terminal the progress is one line, rewritten in place; otherwise (piped, in CI) it is a
// plain line every few seconds.
//
// With `--count N` it is a bounded job of the first N clicks (unthrottled unless `--rate` is
// given), and with `--output dir` it writes every user's final number of clicks, `user-17 42` a
// line, to exactly-once files in dir when the input ends (instead of the progress line). The
// final counts live in keyed state until then, so a run stopped with a savepoint and restored
// writes the same files as a run straight through (test/golden/examples-restore.test.ts):
//
//   node bin/weir.mjs run examples/generated-data.ts -p 2 -- --count 100000 --output out/clicks

import { isatty } from "node:tty";
import {
  type Collector,
  FileSink,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type OnTimerContext,
  type RuntimeContext,
  type Sink,
  type SinkWriter,
  type ValueState,
  ValueStateDescriptor,
  defineJob,
} from "weir-stream";

interface Click {
  user: string;
  page: string;
  at: number;
}

interface UserClicks {
  user: string;
  clicks: number;
}

const DEFAULT_RATE = Number(process.env.WEIR_RATE ?? 5000);
/** The end of time: the end of a bounded input brings the watermark past it. */
const END_OF_TIME = Number.MAX_SAFE_INTEGER;
const USERS = 1000;
const PAGES = ["/", "/search", "/item", "/cart", "/checkout", "/help"];

/** A cheap deterministic hash, so that click i is the same click in every run. */
function mix(i: number): number {
  let h = Math.imul(i ^ (i >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

function click(i: number): Click {
  const h = mix(i);
  // A skewed choice of user: low ids click more.
  const u = Math.floor(((h % 10_000) / 10_000) ** 3 * USERS);
  return { user: `user-${u}`, page: PAGES[(h >>> 20) % PAGES.length]!, at: Date.now() };
}

/** The running number of clicks of each user, in keyed state. */
class CountClicks implements KeyedProcessFunction<string, Click, UserClicks> {
  private count: ValueState<number> | undefined;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>("clicks"));
  }

  processElement(c: Click, _ctx: KeyedProcessContext<string>, out: Collector<UserClicks>): void {
    const clicks = (this.count!.value() ?? 0) + 1;
    this.count!.update(clicks);
    out.collect({ user: c.user, clicks });
  }
}

/** Keyed by user: keeps the latest count and emits it once, when a bounded input has ended. */
class FinalClicks implements KeyedProcessFunction<string, UserClicks, UserClicks> {
  private latest: ValueState<number> | undefined;

  open(ctx: RuntimeContext): void {
    this.latest = ctx.getState(new ValueStateDescriptor<number>("latest clicks"));
  }

  processElement(uc: UserClicks, ctx: KeyedProcessContext<string>): void {
    if (this.latest!.value() === undefined) ctx.timerService().registerEventTimeTimer(END_OF_TIME);
    this.latest!.update(uc.clicks);
  }

  onTimer(_time: number, ctx: OnTimerContext<string>, out: Collector<UserClicks>): void {
    out.collect({ user: ctx.getCurrentKey(), clicks: this.latest!.value() ?? 0 });
  }
}

/** Prints the progress of the job: clicks so far, rate, users seen, the busiest user. */
class ProgressSink implements Sink<UserClicks> {
  createWriter(): SinkWriter<UserClicks> {
    const tty = isatty(1);
    const started = performance.now();
    let total = 0;
    let lastTotal = 0;
    let lastTime = started;
    const users = new Map<string, number>();
    let top: UserClicks = { user: "-", clicks: 0 };
    const tick = () => {
      const now = performance.now();
      const rate = ((total - lastTotal) * 1000) / (now - lastTime);
      lastTotal = total;
      lastTime = now;
      const line = `clicks ${fmt(total)} · ${fmt(Math.round(rate))} records/s · ${fmt(users.size)} users · busiest ${top.user} (${fmt(top.clicks)}) · ${((now - started) / 1000).toFixed(0)}s`;
      process.stdout.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    };
    const timer = setInterval(tick, tty ? 250 : 2000);
    return {
      write(uc: UserClicks): void {
        total++;
        users.set(uc.user, uc.clicks);
        if (uc.clicks > top.clicks) top = uc;
      },
      close(): void {
        clearInterval(timer);
      },
    };
  }
}

const number = new Intl.NumberFormat("en-US");
const fmt = (n: number) => number.format(n);

/** A non-negative integer job argument, or `fallback` when absent. */
function count(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`generated-data: --${name} must be a non-negative integer, got '${value}'`);
  }
  return n;
}

export default defineJob("generated-data", (env, params) => {
  const records = count(params.get("count"), "count", Number.POSITIVE_INFINITY);
  const bounded = Number.isFinite(records);
  // A bounded run is unthrottled unless --rate says otherwise; an unbounded one defaults to 5000/s.
  const rate = count(params.get("rate"), "rate", bounded ? 0 : DEFAULT_RATE);
  const output = params.get("output");
  const perUser = env
    .fromGenerator(click, { count: records, ...(rate > 0 ? { recordsPerSecond: rate } : {}) })
    .name("Clicks")
    .uid("clicks")
    .keyBy("user")
    .process(new CountClicks())
    .name("Clicks per user")
    .uid("clicks-per-user");
  if (output === undefined) {
    perUser.sinkTo(new ProgressSink(), "Progress").setParallelism(1);
    return;
  }
  perUser
    .keyBy("user")
    .process(new FinalClicks())
    .name("Final clicks")
    .uid("final-clicks")
    .map((uc) => `${uc.user} ${uc.clicks}`)
    .name("Format")
    .sinkTo(FileSink.forText<string>(output), "Final clicks file")
    .uid("final-clicks-file");
});
