// `npm run bench [-- <section id or prefix>...] [--rounds N] [--scale X] [--list] [--one-process]`:
// runs the benchmark sections (all, or those selected), prints a table per section and one JSON
// line with every figure. Sections register here; each lives in its own module.
//
// Each section runs in a child process of its own (this script again, `--section <id>`, with the
// same Node flags), its plain-loop baseline included: the JIT state one section leaves (a handle's
// call sites made polymorphic by another section's jobs, code already optimized for other shapes)
// would otherwise move the next section's figures (BENCHMARKS.md, "The bench measures its own mix").
// The child prints its table and sends its figures to this process, which prints the machine, the
// total and the JSON line. `--one-process` runs every section in this process instead, one after
// another, as before (to see that effect, or to debug a section).

import { fork } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { foundationSections } from "./foundation.ts";
import { type Section, type VariantSummary, runSection } from "./lib/harness.ts";
import { describeMachine, formatMachine } from "./lib/machine.ts";
import { stateSections } from "./state.ts";
import { windowSections } from "./windows.ts";

const SECTIONS: Section[] = [...foundationSections, ...windowSections, ...stateSections];
SECTIONS.push(...(await import("./checkpoints.ts")).checkpointSections);
SECTIONS.push(...(await import("./alternatives.ts")).alternativeSections);
SECTIONS.push(...(await import("./metrics-overhead.ts")).metricsOverheadSections);

interface Args {
  select: string[];
  rounds?: number;
  scale: number;
  list: boolean;
  oneProcess: boolean;
  /** Set in a child: the one section (exact id) it runs. */
  section?: string;
}

function parseArgs(argv: string[]): Args {
  const select: string[] = [];
  let rounds: number | undefined;
  let scale = 1;
  let list = false;
  let oneProcess = false;
  let section: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--rounds") rounds = Number(argv[++i]);
    else if (a === "--scale") scale = Number(argv[++i]);
    else if (a === "--list") list = true;
    else if (a === "--one-process") oneProcess = true;
    else if (a === "--section") section = argv[++i];
    else select.push(a);
  }
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0))
    throw new Error("--rounds needs a positive integer");
  if (!(scale > 0)) throw new Error("--scale needs a positive number");
  if (section !== undefined) select.splice(0, select.length, section);
  return { select, rounds, scale, list, oneProcess, section };
}

/** What a section's child sends back: its figures, or why it failed. */
type ChildMessage = { results: VariantSummary[] } | { error: string };

/** Sections that start servers or processes, loaded only when selected; their clean-up. */
async function loadOptionalSections(select: string[]): Promise<() => Promise<void>> {
  const cleanUps: Array<() => Promise<void>> = [];
  // Connector sections need the servers on 127.0.0.1: only when selected (`-- conn`/`connectors`).
  if (select.some((s) => s === "connectors" || s.startsWith("conn-") || s === "conn")) {
    const connectors = await import("./connectors.ts");
    const postgres = await import("./connectors-postgres.ts");
    SECTIONS.push(...connectors.connectorSections, ...postgres.postgresConnectorSections);
    cleanUps.push(connectors.cleanUpConnectorBenchmarks, postgres.cleanUpPostgresBenchmarks);
  }
  if (select.includes("connectors")) select.push("conn-");
  // Cluster sections start a JobManager and TaskManagers as processes: only when selected.
  if (select.some((s) => s.startsWith("cluster"))) {
    const cluster = await import("./cluster.ts");
    SECTIONS.push(...cluster.clusterSections);
    cleanUps.push(cluster.cleanUpClusterBenchmarks);
  }
  return async () => {
    for (const c of cleanUps) await c();
  };
}

/** In a child: runs its one section, prints its table, sends the figures to the parent. */
async function runChild(args: Args): Promise<void> {
  const cleanUp = await loadOptionalSections(args.select);
  const section = SECTIONS.find((s) => s.id === args.section);
  let message: ChildMessage;
  try {
    if (section === undefined) throw new Error(`no section '${args.section}'`);
    message = {
      results: await runSection(section, { scale: args.scale, rounds: args.rounds, log: console.log }),
    };
  } catch (e) {
    message = { error: String((e as Error).stack ?? e) };
  }
  await cleanUp();
  await new Promise<void>((resolve) => process.send!(message, () => resolve()));
  // A handle a section left open (a timer, a socket) must not keep the child, and so the run, alive.
  process.exit(0);
}

/** Runs one section in a child process of its own; resolves with its figures. */
function runSectionInChild(id: string, args: Args): Promise<VariantSummary[]> {
  const argv = ["--section", id, "--scale", String(args.scale)];
  if (args.rounds !== undefined) argv.push("--rounds", String(args.rounds));
  const child = fork(fileURLToPath(import.meta.url), argv, {
    execArgv: process.execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let message: ChildMessage | undefined;
  child.on("message", (m) => {
    message = m as ChildMessage;
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (message !== undefined && "results" in message) resolve(message.results);
      else if (message !== undefined) reject(new Error(message.error));
      else reject(new Error(`its process exited (${signal ?? `code ${code}`}) without figures`));
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.section !== undefined) return runChild(args);
  if (args.list) {
    for (const s of SECTIONS) console.log(`${s.id.padEnd(16)} ${s.title}`);
    return;
  }
  const cleanUp = await loadOptionalSections(args.select);
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
  if (args.oneProcess) console.log("(every section in this one process: --one-process)");
  const started = performance.now();
  const results: VariantSummary[] = [];
  let failed = false;
  for (const s of chosen) {
    try {
      results.push(
        ...(args.oneProcess
          ? await runSection(s, { scale: args.scale, rounds: args.rounds, log: console.log })
          : await runSectionInChild(s.id, args)),
      );
    } catch (e) {
      failed = true;
      console.log(`\nsection ${s.id} failed: ${(e as Error).stack ?? e}`);
    }
  }
  if (args.oneProcess) await cleanUp();
  const seconds = (performance.now() - started) / 1000;
  console.log(`\ntotal ${seconds.toFixed(0)} s`);
  console.log(
    JSON.stringify({
      bench: "weir",
      machine,
      scale: args.scale,
      seconds,
      loadAverage: loadavg(),
      processes: args.oneProcess ? "one" : "one per section",
      results,
    }),
  );
  if (failed) process.exitCode = 1;
}

await main();
