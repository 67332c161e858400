// Foundation sections: a fully chained map -> filter -> sink (p=1), and word count over a keyed
// exchange (in-thread p=1 and p=2, threaded p=2; typed and GENERIC records), each next to a
// hand-written plain loop computing the same result.

import { type RuntimeContext, type Sink, StreamExecutionEnvironment } from "../src/index.ts";
import { runJob } from "../src/cluster/index.ts";
import {
  LINES,
  WORDS_PER_LINE,
  type WordCountSettings,
  buildWordCount,
  lineAt,
  wordCountCheck,
} from "./jobs/wordcount.ts";
import { CountingWriterBase, sinkFigures } from "./lib/counting-sink.ts";
import type { Run, Section, Variant } from "./lib/harness.ts";

// ---- map -> filter -> sink ---------------------------------------------------------------------

const NAMES: readonly string[] = Array.from({ length: 1024 }, (_, i) => `name-${i.toString(36)}`);

interface Event {
  id: number;
  name: string;
  value: number;
}

// The user functions, shared by the pipeline and the loop so both run the same code.
const toEvent = (i: number): Event => ({ id: i, name: NAMES[i & 1023]!, value: i % 1000 });
const keepEvent = (e: Event): boolean => e.value < 900;
const eventValue = (e: Event): number => e.value;
const triple = (i: number): number => i * 3;
const keepNumber = (x: number): boolean => x % 5 !== 0;
const numberValue = (x: number): number => x;

// One sink writer class per chain section, as there is one plain loop function per section: with
// one CountingWriter for both, its write saw both sections' records and checksum functions, and
// the second section ran a polymorphic sink that its own loop did not have (2026-12-07,
// BENCHMARKS.md "chain round two": 5.2-5.3 against 7.7-9.2 CPU ns per record).
class EventCountingWriter extends CountingWriterBase<Event> {
  write(e: Event): void {
    if (this.count === 0) this.firstRecord();
    this.count++;
    this.sum += eventValue(e);
  }
}

class NumberCountingWriter extends CountingWriterBase<number> {
  write(x: number): void {
    if (this.count === 0) this.firstRecord();
    this.count++;
    this.sum += numberValue(x);
  }
}

const eventCountingSink: Sink<Event> = {
  createWriter: (ctx: { runtime: RuntimeContext }) => new EventCountingWriter(ctx.runtime),
};
const numberCountingSink: Sink<number> = {
  createWriter: (ctx: { runtime: RuntimeContext }) => new NumberCountingWriter(ctx.runtime),
};

/** Runs `chunk` over [0, n) in slices: each slice is a regular call, so V8 optimises the loop
 * body as a function instead of running it as on-stack-replacement code (feasibility.md §0). */
const SLICE = 1 << 16;
function sliced(n: number, chunk: (from: number, to: number, acc: Float64Array) => void): Float64Array {
  const acc = new Float64Array(2);
  for (let from = 0; from < n; from += SLICE) chunk(from, Math.min(n, from + SLICE), acc);
  return acc;
}

function eventLoop(from: number, to: number, acc: Float64Array): void {
  let count = acc[0]!;
  let sum = acc[1]!;
  for (let i = from; i < to; i++) {
    const e = toEvent(i);
    if (keepEvent(e)) {
      count++;
      sum += eventValue(e);
    }
  }
  acc[0] = count;
  acc[1] = sum;
}

function numberLoop(from: number, to: number, acc: Float64Array): void {
  let count = acc[0]!;
  let sum = acc[1]!;
  for (let i = from; i < to; i++) {
    const x = triple(i);
    if (keepNumber(x)) {
      count++;
      sum += numberValue(x);
    }
  }
  acc[0] = count;
  acc[1] = sum;
}

function loopVariant(name: string, records: number, chunk: Parameters<typeof sliced>[1]): Variant {
  return {
    name,
    baseline: true,
    async run(scale) {
      const n = Math.round(records * scale);
      const t0 = performance.now();
      const acc = sliced(n, chunk);
      const ms = performance.now() - t0;
      return { records: n, ms, check: `${acc[0]}/${acc[1]}` };
    },
  };
}

async function executeInThread(
  build: (env: StreamExecutionEnvironment) => void,
  parallelism: number,
  records: number,
): Promise<Run> {
  const env = new StreamExecutionEnvironment({ parallelism });
  build(env);
  const result = await env.execute("bench");
  return toRun(result, records);
}

function toRun(
  result: Parameters<typeof sinkFigures>[0] & { runtimeMs: number; vertices: Array<{ bytesOut: number }> },
  records: number,
): Run {
  const f = sinkFigures(result);
  return {
    records,
    ms: f.activeMs,
    wallMs: result.runtimeMs,
    bytes: result.vertices.reduce((s, v) => s + v.bytesOut, 0),
    check: `${f.records}/${f.checksum}`,
  };
}

function chainSection(id: string, title: string, kind: "events" | "numbers", records: number): Section {
  const engine: Variant = {
    name: "weir: source -> map -> filter -> sink (1 chain, p=1)",
    run: (scale) => {
      const n = Math.round(records * scale);
      return executeInThread(
        (env) => {
          const seq = env.fromSequence(0, n - 1);
          if (kind === "events") {
            seq.map(toEvent).filter(keepEvent).sinkTo(eventCountingSink, "Count");
          } else {
            seq.map(triple).filter(keepNumber).sinkTo(numberCountingSink, "Count");
          }
        },
        1,
        n,
      );
    },
  };
  return {
    id,
    title,
    description:
      kind === "events"
        ? "fromSequence(0, n-1).map(i => {id, name, value}).filter(value < 900 keeps 90%).sinkTo(counting sink: count + sum of value)"
        : "fromSequence(0, n-1).map(i => i * 3).filter(x % 5 != 0 keeps 80%).sinkTo(counting sink: count + sum)",
    variants: [
      loopVariant(
        "plain loop (same map/filter functions)",
        records,
        kind === "events" ? eventLoop : numberLoop,
      ),
      engine,
    ],
  };
}

// ---- word count ----------------------------------------------------------------------------------

function wordCountLoop(lines: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let from = 0; from < lines; from += 4096) countLines(counts, from, Math.min(lines, from + 4096));
  return counts;
}

function countLines(counts: Map<string, number>, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    for (const w of lineAt(i).split(" ")) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
}

const JOB = new URL("./jobs/wordcount.ts", import.meta.url).pathname;

function wordCountSection(lines: number): Section {
  const words = (scale: number) => Math.round(lines * scale) * WORDS_PER_LINE;
  const inThread = (p: number, typed: boolean): Variant => ({
    name: `weir in-thread p=${p}, ${typed ? "typed OBJECT" : "GENERIC"}`,
    run: (scale) => {
      const s: WordCountSettings = { lines: Math.round(lines * scale), typed };
      return executeInThread((env) => buildWordCount(env, s), p, words(scale));
    },
  });
  const threaded = (p: number, typed: boolean): Variant => ({
    name: `weir threaded p=${p} (worker per slot), ${typed ? "typed OBJECT" : "GENERIC"}`,
    async run(scale) {
      const s: WordCountSettings = { lines: Math.round(lines * scale), typed };
      process.env.WEIR_BENCH_WORDCOUNT = JSON.stringify(s);
      const result = await runJob({ job: JOB, parallelism: p });
      return toRun(result, words(scale));
    },
  });
  return {
    id: "wordcount",
    title: "Word count with a keyed exchange",
    description: `${LINES.length} distinct generated lines of ${WORDS_PER_LINE} words (10k-word vocabulary) -> flatMap {word, count: 1} -> keyBy(word) -> sum(count) -> counting sink. Records = words. MB/s = bytes written to the keyed channel / active time (none at p=1: the keyBy edge is chained there).`,
    variants: [
      {
        name: "plain loop (split + Map<string, number>)",
        baseline: true,
        async run(scale) {
          const n = Math.round(lines * scale);
          const t0 = performance.now();
          const counts = wordCountLoop(n);
          const ms = performance.now() - t0;
          return { records: n * WORDS_PER_LINE, ms, check: wordCountCheck(counts.values()) };
        },
      },
      inThread(1, true),
      inThread(1, false),
      inThread(2, true),
      inThread(2, false),
      threaded(2, true),
      threaded(2, false),
    ],
  };
}

export const foundationSections: Section[] = [
  chainSection("chain", "map -> filter -> sink, chained, p=1 (records as objects)", "events", 5_000_000),
  chainSection("chain-numbers", "map -> filter -> sink, chained, p=1 (plain numbers)", "numbers", 5_000_000),
  wordCountSection(375_000),
];
