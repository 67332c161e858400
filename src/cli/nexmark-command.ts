// `weir nexmark`: generate Nexmark events to a JSON-lines file, or run a Nexmark query on the local
// MiniCluster and report its throughput (events/s and events/s per busy core).

import { closeSync, openSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { forEachEvent, nexmarkConfig } from "../connectors/nexmark/index.ts";
import { eventToJson } from "../connectors/nexmark/model.ts";
import { nexmarkQuery, runnableQueryNames } from "../nexmark/queries/index.ts";
import { checkStateBackend, type NexmarkRunReport, runNexmark } from "../nexmark/runner.ts";
import { FailureReporter } from "./failure-lines.ts";

export interface NexmarkIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** A mistake on the command line: printed as one line with what to do, exit code 2. */
class NexmarkUsageError extends Error {}

const HELP = `weir nexmark: the Nexmark benchmark (Person / Auction / Bid events, standard queries)

usage:
  weir nexmark generate --events N [--seed S] [--rate R] [--timelines T] --out events.jsonl
  weir nexmark run --query qN (--events N [--seed S] [--rate R] [--timelines T] | --input events.jsonl)
                   [-p P] [--out results.jsonl]
                   [--checkpoint-interval ms [--checkpoint-dir DIR]] [--state-backend heap|embedded]
                   [--side-input side_input.csv]

generate   writes N generated events, one JSON object per line: {"type":"bid"|"auction"|"person", ...fields},
           dateTime in epoch milliseconds.
run        runs a query on worker threads (one per subtask) over generated events or an events file, prints
           events/s and events/s per busy core (process CPU time of all threads, startup excluded), and with
           --out writes the results one JSON object per line.

options:
  --query qN                 the query: ${runnableQueryNames().join(", ")}
  --events N                 number of events to generate
  --seed S                   seed of the generator (default 0)
  --rate R                   events per second of event time (default 10000; Flink's suite: 100k to 10M)
  --timelines T              cut the stream into T event-time timelines, each from the same base time at
                             R / T events/s, as Flink's generator gives each of T instances its own
                             (default 1: one timeline; use T = P for one per parallel instance)
  --input PATH               read events from a JSON-lines file (as written by 'generate') instead
  -p, --parallelism P        parallel subtasks (default 1)
  --out PATH                 generate: the events file; run: the results file (JSON lines)
  --checkpoint-interval ms   exactly-once checkpoints every ms; --out is then written exactly once
  --checkpoint-dir DIR       where checkpoints go (default: a temporary directory, removed after the run)
  --state-backend NAME       heap (default) or embedded (on-disk LMDB stores)
  --side-input PATH          q13's bounded side input, key,value lines (default: keys 0-9999, value = key)
  -h, --help                 this help`;

type Spec = { name: string; short?: string; flag?: boolean };

const GENERATE_OPTIONS: Spec[] = [
  { name: "events" },
  { name: "seed" },
  { name: "rate" },
  { name: "timelines" },
  { name: "out" },
  { name: "help", short: "h", flag: true },
];
const RUN_OPTIONS: Spec[] = [
  { name: "query" },
  { name: "events" },
  { name: "seed" },
  { name: "rate" },
  { name: "timelines" },
  { name: "input" },
  { name: "parallelism", short: "p" },
  { name: "out" },
  { name: "checkpoint-interval" },
  { name: "checkpoint-dir" },
  { name: "state-backend" },
  { name: "side-input" },
  { name: "verbose", flag: true },
  { name: "help", short: "h", flag: true },
];

/** `weir nexmark <generate|run> ...`; resolves with the exit code. */
export async function nexmarkCommand(args: string[], io: NexmarkIO): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case undefined:
      case "help":
      case "-h":
      case "--help":
        io.out(HELP);
        return EXIT_OK;
      case "generate":
        return generate(parse("generate", rest, GENERATE_OPTIONS), io);
      case "run":
        return await run(parse("run", rest, RUN_OPTIONS), io);
      default:
        throw new NexmarkUsageError(
          `unknown subcommand '${sub}' of 'weir nexmark': use 'generate' or 'run' (see 'weir nexmark --help')`,
        );
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof NexmarkUsageError || (e as { code?: string }).code === "INVALID_ARGUMENT") {
      io.err(`weir nexmark: ${message}`);
      return EXIT_USAGE;
    }
    io.err(`weir nexmark ${sub}: failed: ${message}`);
    if (args.includes("--verbose") && e instanceof Error && e.stack !== undefined) io.err(e.stack);
    return EXIT_FAILED;
  }
}

// ---- generate -------------------------------------------------------------------------------------

function generate(opts: Map<string, string>, io: NexmarkIO): number {
  if (opts.has("help")) {
    io.out(HELP);
    return EXIT_OK;
  }
  const events = count(opts, "events", true)!;
  const seed = integer(opts, "seed") ?? 0;
  const out = opts.get("out");
  if (out === undefined) throw new NexmarkUsageError("generate needs --out <file>, e.g. --out events.jsonl");
  const config = nexmarkConfig({ numEvents: events, seed, ...timing(opts) });
  const path = resolve(out);
  let fd: number;
  try {
    fd = openSync(path, "w");
  } catch (e) {
    throw new NexmarkUsageError(`cannot write '${path}': ${(e as Error).message}`);
  }
  const started = performance.now();
  let lastProgress = started;
  let pending: string[] = [];
  let bytes = 0;
  const flush = () => {
    const chunk = `${pending.join("\n")}\n`;
    bytes += Buffer.byteLength(chunk);
    writeSync(fd, chunk);
    pending = [];
  };
  try {
    const CHUNK = 100_000;
    for (let from = 0; from < events; from += CHUNK) {
      forEachEvent(config, from, Math.min(events, from + CHUNK), (e) => pending.push(eventToJson(e)));
      flush();
      const now = performance.now();
      if (now - lastProgress >= 1000) {
        lastProgress = now;
        io.err(`progress: ${fmt(Math.min(events, from + CHUNK))} / ${fmt(events)} events written`);
      }
    }
  } finally {
    closeSync(fd);
  }
  const secs = (performance.now() - started) / 1000;
  io.out(
    `wrote ${fmt(events)} Nexmark events (seed ${seed}) to ${path}: ${(bytes / 1e6).toFixed(1)} MB in ${secs.toFixed(2)} s`,
  );
  return EXIT_OK;
}

// ---- run ------------------------------------------------------------------------------------------

async function run(opts: Map<string, string>, io: NexmarkIO): Promise<number> {
  if (opts.has("help")) {
    io.out(HELP);
    return EXIT_OK;
  }
  const queryName = opts.get("query");
  if (queryName === undefined) {
    throw new NexmarkUsageError(`run needs --query <qN>, one of ${runnableQueryNames().join(", ")}`);
  }
  const events = count(opts, "events", false);
  const input = opts.get("input");
  if ((events === undefined) === (input === undefined)) {
    throw new NexmarkUsageError(
      "run needs exactly one of --events N (generate N events) or --input <events.jsonl> (read a file)",
    );
  }
  for (const name of ["seed", "rate", "timelines"]) {
    if (input !== undefined && opts.has(name)) {
      throw new NexmarkUsageError(
        `--${name} goes with --events; the events of --input are already generated`,
      );
    }
  }
  const generatorTiming = timing(opts);
  const seed = integer(opts, "seed") ?? 0;
  const parallelism = count(opts, "parallelism", false) ?? 1;
  if (parallelism > 256)
    throw new NexmarkUsageError(`-p/--parallelism must be at most 256, got ${parallelism}`);
  const checkpointInterval = count(opts, "checkpoint-interval", false);
  const checkpointDir = opts.get("checkpoint-dir");
  if (checkpointDir !== undefined && checkpointInterval === undefined) {
    throw new NexmarkUsageError("--checkpoint-dir goes with --checkpoint-interval ms");
  }
  const backend = opts.get("state-backend");
  const query = nexmarkQuery(queryName); // unknown query: a clear error
  if (backend !== undefined) checkStateBackend(backend);
  const sideInput = opts.get("side-input");
  if (sideInput !== undefined && query.name !== "q13") {
    throw new NexmarkUsageError(`--side-input is q13's side input; ${query.name} has none`);
  }

  const source =
    input !== undefined ? `events from ${resolve(input)}` : `${fmt(events!)} generated events (seed ${seed})`;
  const checkpoints =
    checkpointInterval === undefined ? "" : `, exactly-once checkpoints every ${fmt(checkpointInterval)} ms`;
  io.err(`nexmark ${query.name} (${query.title}) over ${source}, p=${parallelism}${checkpoints}`);
  const failures = new FailureReporter(`nexmark ${query.name}`, undefined, io.err);
  const report = await runNexmark({
    onAttemptFailed: (f) => failures.onAttemptFailed(f),
    query: query.name,
    ...(input !== undefined ? { input } : { events: events!, seed, ...generatorTiming }),
    parallelism,
    ...(checkpointInterval !== undefined ? { checkpointInterval } : {}),
    ...(checkpointDir !== undefined ? { checkpointDir } : {}),
    ...(backend !== undefined ? { stateBackend: backend } : {}),
    ...(sideInput !== undefined ? { sideInput } : {}),
    ...(opts.has("out") ? { out: opts.get("out")! } : {}),
    onProgress: (n, ms) => {
      const total = events !== undefined ? ` / ${fmt(events)} (${Math.floor((100 * n) / events)}%)` : "";
      io.err(`progress: ${fmt(n)}${total} events read, ${(ms / 1000).toFixed(0)} s`);
    },
  });
  for (const line of reportLines(report, opts.get("out"))) io.out(line);
  const last = failures.lastFailureLine();
  if (last !== undefined) io.out(`  ${last}`);
  return EXIT_OK;
}

/** The summary a run prints. */
export function reportLines(r: NexmarkRunReport, out?: string): string[] {
  return [
    `nexmark ${r.query} p=${r.parallelism}: ${fmt(r.events)} events -> ${fmt(r.results)} results`,
    `  throughput      ${fmt(Math.round(r.eventsPerSecond))} events/s (${(r.processingMs / 1000).toFixed(2)} s processing, ${(r.wallMs / 1000).toFixed(2)} s with startup)`,
    `  per busy core   ${fmt(Math.round(r.eventsPerCoreSecond))} events/s (process CPU ${(r.cpuMs / 1000).toFixed(2)} s over all threads)`,
    ...(r.checkpoints > 0 || r.restarts > 0
      ? [`  checkpoints     ${fmt(r.checkpoints)} completed, ${fmt(r.restarts)} restarts`]
      : []),
    ...(out !== undefined ? [`  results         ${resolve(out)}`] : []),
  ];
}

// ---- option parsing -------------------------------------------------------------------------------

function parse(sub: string, args: string[], specs: Spec[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) inline = arg.slice(eq + 1);
    } else if (arg.startsWith("-") && arg.length >= 2) {
      const spec = specs.find((s) => s.short === arg[1]);
      if (spec === undefined) throw unknownOption(sub, arg);
      name = spec.name;
      if (arg.length > 2) inline = arg.slice(2);
    } else {
      throw new NexmarkUsageError(
        `unexpected argument '${arg}' for 'weir nexmark ${sub}' (see 'weir nexmark --help')`,
      );
    }
    const spec = specs.find((s) => s.name === name);
    if (spec === undefined) throw unknownOption(sub, arg);
    if (spec.flag === true) {
      if (inline !== undefined) throw new NexmarkUsageError(`--${name} takes no value`);
      values.set(name, "");
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined || value === "" || (inline === undefined && value.startsWith("--"))) {
      throw new NexmarkUsageError(`--${name} needs a value (see 'weir nexmark --help')`);
    }
    values.set(name, value);
  }
  return values;
}

function unknownOption(sub: string, arg: string): NexmarkUsageError {
  return new NexmarkUsageError(
    `unknown option '${arg}' for 'weir nexmark ${sub}' (see 'weir nexmark --help')`,
  );
}

/** A positive integer option (underscores and commas allowed: 1_000_000). */
function count(opts: Map<string, string>, name: string, required: boolean): number | undefined {
  const raw = opts.get(name);
  if (raw === undefined) {
    if (required) throw new NexmarkUsageError(`--${name} N is required, e.g. --${name} 1000000`);
    return undefined;
  }
  const n = /^\d[\d_,]*$/.test(raw) ? Number(raw.replace(/[_,]/g, "")) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new NexmarkUsageError(`--${name} must be a positive integer, got '${raw}'`);
  }
  return n;
}

/** The generator's --rate and --timelines, validated as the config does (a clear error naming the flag). */
function timing(opts: Map<string, string>): { rate?: number; timelines?: number } {
  const rate = count(opts, "rate", false);
  const timelines = count(opts, "timelines", false);
  if (rate !== undefined && rate > 1e9)
    throw new NexmarkUsageError(`--rate must be at most 1000000000, got ${rate}`);
  if (timelines !== undefined && timelines > 4096)
    throw new NexmarkUsageError(`--timelines must be at most 4096, got ${timelines}`);
  return { ...(rate !== undefined ? { rate } : {}), ...(timelines !== undefined ? { timelines } : {}) };
}

function integer(opts: Map<string, string>, name: string): number | undefined {
  const raw = opts.get(name);
  if (raw === undefined) return undefined;
  const n = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new NexmarkUsageError(`--${name} must be an integer, got '${raw}'`);
  return n;
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}
