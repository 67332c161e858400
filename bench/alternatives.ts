// What a TypeScript user would pick instead of Weir: word count and the keyed tumbling-window
// count written with RxJS (groupBy + scan / reduce) and with Node object-mode streams, on the same
// input as the Weir job (in-thread p=1) in the same run, next to the hand-written plain loop.
// The alternatives run in one thread and keep no checkpointable state; RxJS's groupBy + reduce
// holds every window open until the end of input (it has no watermarks). Every variant is timed
// end to end (Weir's deployment included), so the Weir figures here are a little below those of
// the `wordcount` and `window-tumbling` sections, which time the active window only.

import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Observable, groupBy, mergeMap, reduce, scan } from "rxjs";
import { StreamExecutionEnvironment } from "../src/index.ts";
import { LINES, WORDS_PER_LINE, buildWordCount, lineAt, wordCountCheck } from "./jobs/wordcount.ts";
import { sinkFigures } from "./lib/counting-sink.ts";
import type { Run, Section, Variant } from "./lib/harness.ts";
import {
  TUMBLING_SIZE,
  WINDOW_BOUND,
  WINDOW_EVENTS,
  WINDOW_KEYS,
  eventAt,
  tumblingLoop,
  windowJob,
} from "./windows.ts";

const WORD_LINES = 375_000;

// ---- word count --------------------------------------------------------------------------------

/** The lines as an Observable (synchronous, like a generator). */
function lines$(n: number): Observable<string> {
  return new Observable<string>((sub) => {
    for (let i = 0; i < n && !sub.closed; i++) sub.next(lineAt(i));
    sub.complete();
  });
}

function rxWordCount(n: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let records = 0;
    let rolling = 0;
    lines$(n)
      .pipe(
        mergeMap((line) => line.split(" ")),
        groupBy((w) => w),
        mergeMap((g) => g.pipe(scan((c) => c + 1, 0))),
      )
      .subscribe({
        next: (c) => {
          records++;
          rolling += c;
        },
        error: reject,
        complete: () => resolve({ records, ms: performance.now() - t0, check: `${records}/${rolling}` }),
      });
  });
}

/** Lines -> words -> {word, count} (rolling) -> a counting writable, in object mode. */
async function streamsWordCount(n: number): Promise<Run> {
  const t0 = performance.now();
  let records = 0;
  let rolling = 0;
  function* lines(): Generator<string> {
    for (let i = 0; i < n; i++) yield lineAt(i);
  }
  const counts = new Map<string, number>();
  await pipeline(
    Readable.from(lines()),
    new Transform({
      objectMode: true,
      transform(line: string, _enc, done) {
        for (const w of line.split(" ")) this.push(w);
        done();
      },
    }),
    new Transform({
      objectMode: true,
      transform(word: string, _enc, done) {
        const c = (counts.get(word) ?? 0) + 1;
        counts.set(word, c);
        done(null, { word, count: c });
      },
    }),
    new Writable({
      objectMode: true,
      write(r: { count: number }, _enc, done) {
        records++;
        rolling += r.count;
        done();
      },
    }),
  );
  return { records, ms: performance.now() - t0, check: `${records}/${rolling}` };
}

async function weirWordCount(n: number): Promise<Run> {
  const env = new StreamExecutionEnvironment({ parallelism: 1 });
  buildWordCount(env, { lines: n, typed: true });
  const result = await env.execute("bench");
  const f = sinkFigures(result);
  return { records: n * WORDS_PER_LINE, ms: result.runtimeMs, check: `${f.records}/${f.checksum}` };
}

function plainWordCount(n: number): Run {
  const t0 = performance.now();
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) for (const w of lineAt(i).split(" ")) counts.set(w, (counts.get(w) ?? 0) + 1);
  return { records: n * WORDS_PER_LINE, ms: performance.now() - t0, check: wordCountCheck(counts.values()) };
}

// ---- tumbling-window count -----------------------------------------------------------------------

function events$(n: number) {
  return new Observable<ReturnType<typeof eventAt>>((sub) => {
    for (let i = 0; i < n && !sub.closed; i++) sub.next(eventAt(i));
    sub.complete();
  });
}

function windowOf(t: number): number {
  return t - (((t % TUMBLING_SIZE) + TUMBLING_SIZE) % TUMBLING_SIZE);
}

function rxTumbling(n: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let windows = 0;
    let sum = 0;
    events$(n)
      .pipe(
        groupBy((e) => windowOf(e.t) * WINDOW_KEYS + e.key),
        mergeMap((g) => g.pipe(reduce((c) => c + 1, 0))),
      )
      .subscribe({
        next: (c) => {
          windows++;
          sum += c;
        },
        error: reject,
        complete: () => resolve({ records: n, ms: performance.now() - t0, check: `${windows}/${sum}` }),
      });
  });
}

/**
 * Events -> a transform keeping per-window, per-key counts and emitting a window's counts once a
 * bounded-out-of-orderness watermark passes its end (the rest at the end) -> a counting writable.
 */
async function streamsTumbling(n: number): Promise<Run> {
  const t0 = performance.now();
  let windows = 0;
  let sum = 0;
  function* events(): Generator<ReturnType<typeof eventAt>> {
    for (let i = 0; i < n; i++) yield eventAt(i);
  }
  const open = new Map<number, Map<number, number>>();
  let watermark = Number.NEGATIVE_INFINITY;
  let nextFire = Number.POSITIVE_INFINITY;
  const fire = (push: (v: { key: number; n: number }) => void, upTo: number) => {
    nextFire = Number.POSITIVE_INFINITY;
    for (const [start, counts] of open) {
      if (start + TUMBLING_SIZE - 1 <= upTo) {
        for (const [key, c] of counts) push({ key, n: c });
        open.delete(start);
      } else if (start + TUMBLING_SIZE - 1 < nextFire) nextFire = start + TUMBLING_SIZE - 1;
    }
  };
  await pipeline(
    Readable.from(events()),
    new Transform({
      objectMode: true,
      transform(e: ReturnType<typeof eventAt>, _enc, done) {
        const start = windowOf(e.t);
        if (start + TUMBLING_SIZE - 1 > watermark) {
          let counts = open.get(start);
          if (counts === undefined) {
            counts = new Map();
            open.set(start, counts);
            if (start + TUMBLING_SIZE - 1 < nextFire) nextFire = start + TUMBLING_SIZE - 1;
          }
          counts.set(e.key, (counts.get(e.key) ?? 0) + 1);
        }
        const wm = e.t - WINDOW_BOUND;
        if (wm > watermark) {
          watermark = wm;
          if (watermark >= nextFire) fire((v) => this.push(v), watermark);
        }
        done();
      },
      flush(done) {
        fire((v) => this.push(v), Number.POSITIVE_INFINITY);
        done();
      },
    }),
    new Writable({
      objectMode: true,
      write(r: { n: number }, _enc, done) {
        windows++;
        sum += r.n;
        done();
      },
    }),
  );
  return { records: n, ms: performance.now() - t0, check: `${windows}/${sum}` };
}

// ---- sections --------------------------------------------------------------------------------------

function alternativesSection(
  id: string,
  title: string,
  description: string,
  count: number,
  runs: {
    loop: (n: number) => Run;
    weir: (n: number) => Promise<Run>;
    rx: (n: number) => Promise<Run>;
    streams: (n: number) => Promise<Run>;
  },
): Section {
  const n = (scale: number) => Math.round(count * scale);
  const variants: Variant[] = [
    { name: "plain loop", baseline: true, run: async (scale) => runs.loop(n(scale)) },
    { name: "weir in-thread p=1 (end to end)", run: (scale) => runs.weir(n(scale)) },
    { name: "RxJS 7 (groupBy, one thread, no state snapshots)", run: (scale) => runs.rx(n(scale)) },
    {
      name: "Node object-mode streams (one thread, no state snapshots)",
      run: (scale) => runs.streams(n(scale)),
    },
  ];
  return { id, title, description, variants, warmups: 1, rounds: 3 };
}

export const alternativeSections: Section[] = [
  alternativesSection(
    "alt-wordcount",
    "Word count: Weir against RxJS and Node streams",
    `${WORD_LINES.toLocaleString("en-US")} lines of ${WORDS_PER_LINE} words (the wordcount section's input: ${LINES.length} distinct lines). RxJS: mergeMap(split) -> groupBy(word) -> mergeMap(scan +1). Streams: Readable.from -> split Transform -> Map count Transform -> counting Writable. Rolling counts emitted per word by all.`,
    WORD_LINES,
    { loop: plainWordCount, weir: weirWordCount, rx: rxWordCount, streams: streamsWordCount },
  ),
  alternativesSection(
    "alt-tumbling",
    "Tumbling-window count: Weir against RxJS and Node streams",
    `${WINDOW_EVENTS.toLocaleString("en-US")} events of the window-tumbling section (${WINDOW_KEYS} keys, 10 s windows). RxJS: groupBy(window, key) -> mergeMap(reduce count), every window open until the end of input. Streams: a Transform keeping per-window Maps, fired by a bounded-out-of-orderness watermark.`,
    WINDOW_EVENTS,
    {
      loop: (n) => tumblingLoop(n),
      weir: (n) => windowJob(n, 1, "tumbling"),
      rx: rxTumbling,
      streams: streamsTumbling,
    },
  ),
];
