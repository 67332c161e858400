// `npm run bench [-- <section id or prefix>...] [--rounds N] [--scale X] [--list]`: runs the
// benchmark sections (all, or those selected), prints a table per section and one JSON line
// with every figure. Sections register here; each lives in its own module.

import { loadavg } from "node:os";
import { foundationSections } from "./foundation.ts";
import { type Section, type VariantSummary, runSection } from "./lib/harness.ts";
import { describeMachine, formatMachine } from "./lib/machine.ts";
import { stateSections } from "./state.ts";
import { windowSections } from "./windows.ts";

const SECTIONS: Section[] = [...foundationSections, ...windowSections, ...stateSections];
SECTIONS.push(...(await import("./checkpoints.ts")).checkpointSections);
SECTIONS.push(...(await import("./alternatives.ts")).alternativeSections);
SECTIONS.push(...(await import("./metrics-overhead.ts")).metricsOverheadSections);

function parseArgs(argv: string[]): { select: string[]; rounds?: number; scale: number; list: boolean } {
  const select: string[] = [];
  let rounds: number | undefined;
  let scale = 1;
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--rounds") rounds = Number(argv[++i]);
    else if (a === "--scale") scale = Number(argv[++i]);
    else if (a === "--list") list = true;
    else select.push(a);
  }
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0))
    throw new Error("--rounds needs a positive integer");
  if (!(scale > 0)) throw new Error("--scale needs a positive number");
  return { select, rounds, scale, list };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const s of SECTIONS) console.log(`${s.id.padEnd(16)} ${s.title}`);
    return;
  }
  // Connector sections need the servers on 127.0.0.1: only when selected (`-- conn`/`connectors`).
  const connectors = args.select.some((s) => s === "connectors" || s.startsWith("conn-") || s === "conn");
  if (connectors) {
    SECTIONS.push(...(await import("./connectors.ts")).connectorSections);
    SECTIONS.push(...(await import("./connectors-postgres.ts")).postgresConnectorSections);
  }
  if (args.select.includes("connectors")) args.select.push("conn-");
  // Cluster sections start a JobManager and TaskManagers as processes: only when selected.
  const cluster = args.select.some((s) => s.startsWith("cluster"));
  if (cluster) SECTIONS.push(...(await import("./cluster.ts")).clusterSections);
  const chosen =
    args.select.length === 0
      ? SECTIONS
      : SECTIONS.filter((s) => args.select.some((sel) => s.id === sel || s.id.startsWith(sel)));
  if (chosen.length === 0) {
    throw new Error(
      `no section matches ${args.select.join(", ")}; sections: ${SECTIONS.map((s) => s.id).join(", ")}`,
    );
  }
  if ((globalThis as { gc?: unknown }).gc === undefined) {
    console.log("note: run with --expose-gc (npm run bench does) to collect garbage between runs");
  }
  const machine = describeMachine();
  console.log(`# Weir benchmarks\n${formatMachine(machine)}`);
  const started = performance.now();
  const results: VariantSummary[] = [];
  let failed = false;
  for (const s of chosen) {
    try {
      results.push(...(await runSection(s, { scale: args.scale, rounds: args.rounds, log: console.log })));
    } catch (e) {
      failed = true;
      console.log(`\nsection ${s.id} failed: ${(e as Error).stack ?? e}`);
    }
  }
  if (connectors) {
    await (await import("./connectors.ts")).cleanUpConnectorBenchmarks();
    await (await import("./connectors-postgres.ts")).cleanUpPostgresBenchmarks();
  }
  if (cluster) await (await import("./cluster.ts")).cleanUpClusterBenchmarks();
  const seconds = (performance.now() - started) / 1000;
  console.log(`\ntotal ${seconds.toFixed(0)} s`);
  console.log(
    JSON.stringify({ bench: "weir", machine, scale: args.scale, seconds, loadAverage: loadavg(), results }),
  );
  if (failed) process.exitCode = 1;
}

await main();
