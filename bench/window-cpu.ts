// Process CPU time per event of the window sections' jobs (bench/windows.ts `windowJob`, in-thread
// p=1), the minimum of N runs after two warm-up runs: a figure that load on the machine moves far
// less than wall-clock rates, for A/B runs of two trees on a busy machine.
// `node --import tsx --expose-gc bench/window-cpu.ts [tree] [tumbling|sliding] [events] [runs]`
// (tree: a checkout or export of the repository to measure, default this one; alternate two trees).

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(process.argv[2] ?? fileURLToPath(new URL("..", import.meta.url)));
const kind = (process.argv[3] ?? "tumbling") as "tumbling" | "sliding";
const events = Number(process.argv[4] ?? 500_000);
const runs = Number(process.argv[5] ?? 3);

const { windowJob } = await import(`${root}/bench/windows.ts`);
const gc = (globalThis as { gc?: () => void }).gc;

for (let i = 0; i < 2; i++) await windowJob(Math.round(events / 4), 1, kind);
const xs: number[] = [];
let check = "";
for (let i = 0; i < runs; i++) {
  gc?.();
  const before = process.cpuUsage();
  const run = await windowJob(events, 1, kind);
  const used = process.cpuUsage(before);
  check = run.check;
  xs.push((used.user + used.system) / events);
}
const all = xs.map((x) => x.toFixed(2)).join(" ");
console.log(`${kind} p=1: min ${Math.min(...xs).toFixed(2)} CPU µs per event; runs: ${all}; check ${check}`);
