// Process CPU time per record of the chain section's two pipelines (fromSequence -> map -> filter
// -> counting sink, in-thread p=1), the minimum of N runs: a figure that load on the machine moves
// far less than wall-clock rates, for A/B runs of two trees on a busy machine. Each pipeline is
// followed by its plain loop (the same functions, as in bench/foundation.ts) measured the same
// way, for a CPU-time ratio at the same load.
// `node --import tsx --expose-gc bench/chain-cpu.ts [tree] [runs]` (tree: a checkout or export of
// the repository to measure, default this one; alternate two trees to compare them).

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(process.argv[2] ?? fileURLToPath(new URL("..", import.meta.url)));
const runs = Number(process.argv[3] ?? 6);
const RECORDS = Number(process.env.CHAIN_RECORDS ?? 5_000_000);

const { StreamExecutionEnvironment } = await import(`${root}/src/index.ts`);

// The user functions, sink writers and plain loops are bench/foundation.ts's, repeated on purpose:
// imported from a shared module, the objects loop ran 7-15x slower (2026-12-07, `bench/run.ts
// chain`: 31-60 against 108-660 M rec/s, the records apparently no longer scalar-replaced), which
// would flatter every ratio to it.
const NAMES = Array.from({ length: 1024 }, (_, i) => `name-${i.toString(36)}`);
const toEvent = (i: number) => ({ id: i, name: NAMES[i & 1023]!, value: i % 1000 });
const keepEvent = (e: { value: number }) => e.value < 900;
const eventValue = (e: { value: number }) => e.value;
const triple = (i: number) => i * 3;
const keepNumber = (x: number) => x % 5 !== 0;
const numberValue = (x: number) => x;

// The sink writers, one class per pipeline (bench/foundation.ts says why), defined here so that both
// trees of an A/B run the same ones. They keep what the bench's counting writer keeps.
class EventWriter {
  count = 0;
  sum = 0;
  firstAt = 0;
  write(e: { value: number }): void {
    if (this.count === 0) this.firstAt = Date.now();
    this.count++;
    this.sum += eventValue(e);
  }
}

class NumberWriter {
  count = 0;
  sum = 0;
  firstAt = 0;
  write(x: number): void {
    if (this.count === 0) this.firstAt = Date.now();
    this.count++;
    this.sum += numberValue(x);
  }
}

/** The count and sum of the last pipeline run, checked against its plain loop's. */
let lastSinkResult = "";

async function cpuNsPerRecord(kind: "objects" | "numbers"): Promise<number> {
  const env = new StreamExecutionEnvironment({ parallelism: 1 });
  const seq = env.fromSequence(0, RECORDS - 1);
  const writer = kind === "objects" ? new EventWriter() : new NumberWriter();
  const sink = { createWriter: () => writer };
  if (kind === "objects") seq.map(toEvent).filter(keepEvent).sinkTo(sink, "Count");
  else seq.map(triple).filter(keepNumber).sinkTo(sink, "Count");
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.cpuUsage();
  await env.execute(`chain-${kind}`);
  const used = process.cpuUsage(before);
  lastSinkResult = `${writer.count}/${writer.sum}`;
  return ((used.user + used.system) * 1000) / RECORDS;
}

// The plain loops, one function per pipeline (a shared one would see both shapes), run in slices.
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

function loopCpuNsPerRecord(kind: "objects" | "numbers"): number {
  const chunk = kind === "objects" ? eventLoop : numberLoop;
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.cpuUsage();
  const acc = new Float64Array(2);
  for (let from = 0; from < RECORDS; from += 1 << 16) chunk(from, Math.min(RECORDS, from + (1 << 16)), acc);
  const used = process.cpuUsage(before);
  const result = `${acc[0]}/${acc[1]}`;
  if (result !== lastSinkResult)
    throw new Error(`${kind}: the pipeline made ${lastSinkResult}, the loop ${result}`);
  return ((used.user + used.system) * 1000) / RECORDS;
}

function report(what: string, xs: number[]): number {
  const all = xs.map((x) => x.toFixed(1)).join(" ");
  console.log(`${what}: min ${Math.min(...xs).toFixed(1)} CPU ns per record; runs: ${all}`);
  return Math.min(...xs);
}

for (const kind of ["objects", "numbers"] as const) {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await cpuNsPerRecord(kind));
  const engine = report(`chain (${kind})`, xs);
  const ys: number[] = [];
  for (let i = 0; i < runs; i++) ys.push(loopCpuNsPerRecord(kind));
  const loop = report(`  plain loop (${kind})`, ys);
  console.log(`  loop / chain: ${(loop / engine).toFixed(2)}`);
}
