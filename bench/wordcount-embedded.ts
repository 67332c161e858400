// Word count with the embedded state backend against the heap backend, in-thread p=1, same run:
// the word count job of bench/jobs/wordcount.ts (10k-word vocabulary, typed records), rounds
// interleaved (heap, embedded, heap, ...), a full GC before each; the rate is over the active
// window (first to last record at the sink). The aim: embedded >= 0.3 of heap.
//
//   node --expose-gc --import tsx bench/wordcount-embedded.ts [lines (default 375000)] [rounds (3)]

import { StreamExecutionEnvironment } from "../src/index.ts";
import { WORDS_PER_LINE, buildWordCount } from "./jobs/wordcount.ts";
import { sinkFigures } from "./lib/counting-sink.ts";

const LINES = Number(process.argv[2] ?? 375_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

async function run(backend: "heap" | "embedded", lines: number): Promise<{ rate: number; check: string }> {
  gc();
  const env = new StreamExecutionEnvironment({ parallelism: 1, stateBackend: backend });
  buildWordCount(env, { lines, typed: true });
  const result = await env.execute(`wordcount-${backend}`);
  const f = sinkFigures(result);
  return { rate: (f.records / f.activeMs) * 1000, check: `${f.records}/${f.checksum}` };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`word count, ${LINES * WORDS_PER_LINE} words, in-thread p=1, Node ${process.version}`);
for (const b of ["heap", "embedded"] as const) await run(b, Math.round(LINES / 4)); // warm-up
const rates = { heap: [] as number[], embedded: [] as number[] };
let check: string | undefined;
for (let r = 0; r < ROUNDS; r++) {
  for (const b of r % 2 === 0 ? (["heap", "embedded"] as const) : (["embedded", "heap"] as const)) {
    const x = await run(b, LINES);
    if (check !== undefined && x.check !== check)
      throw new Error(`${b}: result ${x.check}, expected ${check}`);
    check = x.check;
    rates[b].push(x.rate);
    console.log(`round ${r + 1} ${b.padEnd(8)} ${(x.rate / 1e6).toFixed(2)} M words/s`);
  }
}
const heap = median(rates.heap);
const embedded = median(rates.embedded);
console.log(
  `median: heap ${(heap / 1e6).toFixed(2)} M/s, embedded ${(embedded / 1e6).toFixed(2)} M/s, embedded/heap ${(embedded / heap).toFixed(2)}`,
);
console.log(JSON.stringify({ words: LINES * WORDS_PER_LINE, heap, embedded, ratio: embedded / heap, rates }));
