// Process CPU time per record of the chain section's two pipelines (fromSequence -> map -> filter
// -> counting sink, in-thread p=1), the minimum of N runs: a figure that load on the machine moves
// far less than wall-clock rates, for A/B runs of two trees on a busy machine.
// `node --import tsx --expose-gc bench/chain-cpu.ts [tree] [runs]` (tree: a checkout or export of
// the repository to measure, default this one; alternate two trees to compare them).

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(process.argv[2] ?? fileURLToPath(new URL("..", import.meta.url)));
const runs = Number(process.argv[3] ?? 6);
const RECORDS = 5_000_000;

const { StreamExecutionEnvironment } = await import(`${root}/src/index.ts`);
const { CountingSink } = await import(`${root}/bench/lib/counting-sink.ts`);

const NAMES = Array.from({ length: 1024 }, (_, i) => `name-${i.toString(36)}`);
const toEvent = (i: number) => ({ id: i, name: NAMES[i & 1023]!, value: i % 1000 });
const keepEvent = (e: { value: number }) => e.value < 900;
const eventValue = (e: { value: number }) => e.value;
const triple = (i: number) => i * 3;
const keepNumber = (x: number) => x % 5 !== 0;
const numberValue = (x: number) => x;

async function cpuNsPerRecord(kind: "objects" | "numbers"): Promise<number> {
  const env = new StreamExecutionEnvironment({ parallelism: 1 });
  const seq = env.fromSequence(0, RECORDS - 1);
  if (kind === "objects") seq.map(toEvent).filter(keepEvent).sinkTo(new CountingSink(eventValue), "Count");
  else seq.map(triple).filter(keepNumber).sinkTo(new CountingSink(numberValue), "Count");
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.cpuUsage();
  await env.execute(`chain-${kind}`);
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1000) / RECORDS;
}

for (const kind of ["objects", "numbers"] as const) {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await cpuNsPerRecord(kind));
  const all = xs.map((x) => x.toFixed(1)).join(" ");
  console.log(`chain (${kind}): min ${Math.min(...xs).toFixed(1)} CPU ns per record; runs: ${all}`);
}
