// Bytes allocated per event by the window sections' jobs (bench/windows.ts `windowJob`, in-thread
// p=1), by allocation site: V8's sampling heap profiler over one run after two warm-ups, counting
// objects that the GC has collected since (what drives scavenges). Load on the machine does not
// move these figures, so an A/B of two trees needs no alternation; the sampling varies them by a
// few percent. Each site is the allocating function (inlined callees count in their caller's
// optimized code) and its two callers.
// `node --import tsx --expose-gc bench/window-alloc.ts [tree] [tumbling|sliding] [events] [sites]`

import { Session } from "node:inspector/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: ProfileNode[];
}

const root = resolve(process.argv[2] ?? fileURLToPath(new URL("..", import.meta.url)));
const kind = (process.argv[3] ?? "tumbling") as "tumbling" | "sliding";
const events = Number(process.argv[4] ?? 500_000);
const shown = Number(process.argv[5] ?? 20);

const { windowJob } = await import(`${root}/bench/windows.ts`);
for (let i = 0; i < 2; i++) await windowJob(Math.round(events / 4), 1, kind);

const session = new Session();
session.connect();
await session.post("HeapProfiler.enable");
await session.post("HeapProfiler.startSampling", {
  samplingInterval: 1024,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await windowJob(events, 1, kind);
const { profile } = (await session.post("HeapProfiler.stopSampling")) as { profile: { head: ProfileNode } };
session.disconnect();

const bySite = new Map<string, number>();
let total = 0;
const walk = (node: ProfileNode, callers: string[]): void => {
  const name = `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").at(-1)}`;
  if (node.selfSize > 0) {
    const site = [name, ...callers.slice(-2).reverse()].join(" <- ");
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  for (const c of node.children) walk(c, [...callers, name]);
};
walk(profile.head, []);
console.log(`${kind} p=1: ${(total / events).toFixed(0)} bytes allocated per event (sampled)`);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, shown)) {
  console.log(`${(bytes / events).toFixed(1).padStart(7)} B  ${site}`);
}
