// Process CPU time per word of the word-count job (bench/jobs/wordcount.ts, in-thread, typed
// OBJECT records unless told), the minimum of N runs after two warm-up runs, next to the plain
// loop of bench/foundation.ts measured the same way: a figure that load on the machine moves far
// less than wall-clock rates, for A/B runs of two trees on a busy machine.
// `node --import tsx --expose-gc bench/wordcount-cpu.ts [tree] [runs] [lines] [p] [generic]`
// (tree: a checkout or export of the repository to measure, default this one; alternate two trees).
// p = "t2" (t<n>): threaded, a worker thread per slot (runJob); process CPU then counts every
// thread, and the fixed cost of a run (starting the workers: the minimum over runs of 1,000
// lines) is reported apart and taken out of the per-word figure.

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(process.argv[2] ?? fileURLToPath(new URL("..", import.meta.url)));
const runs = Number(process.argv[3] ?? 5);
const lines = Number(process.argv[4] ?? 100_000);
const pArg = process.argv[5] ?? "1";
const threaded = pArg.startsWith("t");
const parallelism = Number(threaded ? pArg.slice(1) : pArg);
const typed = process.argv[6] !== "generic";

const { StreamExecutionEnvironment } = await import(`${root}/src/index.ts`);
const { buildWordCount, lineAt, WORDS_PER_LINE, wordCountCheck } = await import(
  `${root}/bench/jobs/wordcount.ts`
);
const { sinkFigures } = await import(`${root}/bench/lib/counting-sink.ts`);
const { runJob } = await import(`${root}/src/cluster/index.ts`);
const JOB = `${root}/bench/jobs/wordcount.ts`;
const gc = (globalThis as { gc?: () => void }).gc;

async function jobCpuNsPerWord(n: number, fixedUs = 0): Promise<{ ns: number; us: number; check: string }> {
  gc?.();
  let before: NodeJS.CpuUsage;
  let result: Parameters<typeof sinkFigures>[0];
  if (threaded) {
    process.env.WEIR_BENCH_WORDCOUNT = JSON.stringify({ lines: n, typed });
    before = process.cpuUsage();
    result = await runJob({ job: JOB, parallelism });
  } else {
    const env = new StreamExecutionEnvironment({ parallelism });
    buildWordCount(env, { lines: n, typed });
    before = process.cpuUsage();
    result = await env.execute("wordcount-cpu");
  }
  const used = process.cpuUsage(before);
  const us = used.user + used.system;
  const f = sinkFigures(result);
  return { ns: ((us - fixedUs) * 1000) / (n * WORDS_PER_LINE), us, check: `${f.records}/${f.checksum}` };
}

// bench/foundation.ts's plain loop (split + Map<string, number>), repeated here on purpose (see
// bench/chain-cpu.ts: a loop imported from a shared module can run slower and flatter a ratio).
function countLines(counts: Map<string, number>, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    for (const w of lineAt(i).split(" ")) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
}

function loopCpuNsPerWord(n: number): { ns: number; check: string } {
  gc?.();
  const before = process.cpuUsage();
  const counts = new Map<string, number>();
  for (let from = 0; from < n; from += 4096) countLines(counts, from, Math.min(n, from + 4096));
  const used = process.cpuUsage(before);
  return {
    ns: ((used.user + used.system) * 1000) / (n * WORDS_PER_LINE),
    check: wordCountCheck(counts.values()),
  };
}

for (let i = 0; i < 2; i++) await jobCpuNsPerWord(Math.round(lines / 4));
let fixedUs = 0;
if (threaded) {
  const small: number[] = [];
  for (let i = 0; i < runs; i++) small.push((await jobCpuNsPerWord(1000)).us);
  fixedUs = Math.min(...small);
  console.log(`threaded fixed cost (min CPU of a run of 1,000 lines): ${(fixedUs / 1000).toFixed(0)} ms`);
}
const xs: number[] = [];
let check = "";
for (let i = 0; i < runs; i++) {
  const r = await jobCpuNsPerWord(lines, fixedUs);
  xs.push(r.ns);
  check = r.check;
}
const ys: number[] = [];
let loopCheck = "";
for (let i = 0; i < runs; i++) {
  const r = loopCpuNsPerWord(lines);
  ys.push(r.ns);
  loopCheck = r.check;
}
const job = Math.min(...xs);
const loop = Math.min(...ys);
const fmt = (zs: number[]) => zs.map((z) => z.toFixed(0)).join(" ");
console.log(
  `word count ${threaded ? "threaded " : ""}p=${parallelism} ${typed ? "typed" : "GENERIC"}: min ${job.toFixed(0)} CPU ns per word; runs: ${fmt(xs)}`,
);
console.log(`  plain loop: min ${loop.toFixed(0)} CPU ns per word; runs: ${fmt(ys)}`);
console.log(
  `  loop / job: ${(loop / job).toFixed(3)}${check === loopCheck ? "" : ` CHECK MISMATCH ${check} vs ${loopCheck}`}`,
);
