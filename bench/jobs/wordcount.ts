// Word count over a keyed exchange, as a job module (threaded runs) and as a builder (in-thread
// runs): generated lines -> flatMap to {word, count: 1} -> keyBy(word) -> sum("count") -> a
// counting sink. At p > 1 the edge into the keyed sum is serialized, by the codegen OBJECT
// serializer (typed) or the self-describing GENERIC one; at p=1 it is chained (job-graph.ts).
// Threaded runs read their settings from WEIR_BENCH_WORDCOUNT = {"lines": n, "typed": bool}.

import { type FlatMapFn, type StreamExecutionEnvironment, Types, defineJob } from "../../src/index.ts";
import { CountingSink } from "../lib/counting-sink.ts";

export interface WordCountSettings {
  lines: number;
  typed: boolean;
}

export const WORDS_PER_LINE = 8;
const VOCABULARY = 10_000;
const DISTINCT_LINES = 4096;

/** Deterministic words (2..10 lowercase letters) and lines of WORDS_PER_LINE of them. */
function makeLines(): string[] {
  let s = 0x2545f491;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const vocab = new Set<string>();
  while (vocab.size < VOCABULARY) {
    let w = "";
    const len = 2 + (next() % 9);
    for (let i = 0; i < len; i++) w += String.fromCharCode(97 + (next() % 26));
    vocab.add(w);
  }
  const words = [...vocab];
  const lines: string[] = [];
  for (let l = 0; l < DISTINCT_LINES; l++) {
    const ws: string[] = [];
    for (let i = 0; i < WORDS_PER_LINE; i++) ws.push(words[next() % words.length]!);
    lines.push(ws.join(" "));
  }
  return lines;
}

export const LINES: readonly string[] = makeLines();

export interface WordCount {
  word: string;
  count: number;
}

export const WordCountType = Types.OBJECT({ word: Types.STRING, count: Types.INT });

export function lineAt(i: number): string {
  return LINES[i % DISTINCT_LINES]!;
}

const tokenize: FlatMapFn<string, WordCount> = (line, out) => {
  for (const w of line.split(" ")) out.collect({ word: w, count: 1 });
};

export function buildWordCount(env: StreamExecutionEnvironment, s: WordCountSettings): void {
  const words = env
    .fromGenerator(lineAt, { count: s.lines, type: Types.STRING })
    .name("Lines")
    .flatMap(tokenize, "Tokenize");
  if (s.typed) words.returns(WordCountType);
  words
    .keyBy((r: WordCount) => r.word)
    .sum("count")
    .sinkTo(new CountingSink<WordCount>((r) => r.count), "Count");
}

/** The checksum every variant must reproduce: records, and the sum of all rolling counts. */
export function wordCountCheck(counts: Iterable<number>): string {
  let records = 0;
  let rolling = 0;
  for (const c of counts) {
    records += c;
    rolling += (c * (c + 1)) / 2;
  }
  return `${records}/${rolling}`;
}

export function settingsFromEnv(): WordCountSettings {
  const raw = process.env.WEIR_BENCH_WORDCOUNT;
  if (raw === undefined) return { lines: 100_000, typed: true };
  return JSON.parse(raw) as WordCountSettings;
}

export default defineJob("bench-wordcount", (env) => buildWordCount(env, settingsFromEnv()));
