// Checkpoint sections (ids ckpt-*): what fault tolerance costs.
// - ckpt-overhead[-1m]: throughput of a keyed count (keyBy -> ValueState) with exactly-once
//   checkpoints every 1 s and without, next to a plain loop;
// - ckpt-size-*: duration and size of a checkpoint of 1M (and 10M) keys, then of the next one
//   after 1% of the keys changed, full vs incremental, heap and embedded backends;
// - ckpt-backpress: aligned vs unaligned checkpoint duration behind a slow sink (worker threads);
// - ckpt-recovery: from a killed worker thread to the restored job processing records again.
// Rows of the non-throughput sections map the measurement onto the harness's Run: records = keys
// in state (or records drained), ms = the measured duration, bytes = bytes written; the
// description (built after the runs) holds the plain figures. `checkpointSections` is for
// bench/run.ts; `node --import tsx --expose-gc bench/checkpoints.ts [section id...]` runs them alone.

import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { submitJob } from "../src/cluster/mini-cluster.ts";
import {
  InputStatus,
  type KeyedProcessFunction,
  type ReaderOutput,
  type Sink,
  type Source,
  type SourceReader,
  StreamExecutionEnvironment,
  Types,
  type ValueState,
  ValueStateDescriptor,
  assignToKeyGroup,
} from "../src/index.ts";
import {
  type CheckpointJobSettings,
  RESTARTED,
  RESTARTED_AT,
  SEEN,
  SETTINGS_VAR,
  WRONG,
  resetCounters,
  sharedCounters,
} from "./jobs/checkpoint-jobs.ts";
import { CountingSink, sinkFigures } from "./lib/counting-sink.ts";
import { type Run, type Section, type Variant, type VariantSummary, runSection } from "./lib/harness.ts";
import { describeMachine, formatMachine } from "./lib/machine.ts";
import { fixed, formatTable } from "./lib/table.ts";
import { collectGarbage, epochMs, median } from "./lib/timing.ts";

const JOB = fileURLToPath(new URL("./jobs/checkpoint-jobs.ts", import.meta.url));
const SLICE = 1 << 16;
const MAX_PARALLELISM = 128;

const tempDir = (what: string) => mkdtempSync(join(tmpdir(), `weir-bench-${what}-`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, deadlineMs = 120_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await sleep(2);
  }
}

/** Median [min..max] of the runs at the largest scale (the measured rounds, not the warmups). */
function stat(values: Array<{ scale: number; v: number }>, digits = 0): string {
  if (values.length === 0) return "–";
  const top = Math.max(...values.map((x) => x.scale));
  const vs = values.filter((x) => x.scale === top).map((x) => x.v);
  const f = (n: number) => fixed(n, digits);
  return vs.length === 1 ? f(vs[0]!) : `${f(median(vs))} [${f(Math.min(...vs))}..${f(Math.max(...vs))}]`;
}

function measured<T extends { scale: number }>(list: T[]): T[] {
  const top = Math.max(...list.map((x) => x.scale));
  return list.filter((x) => x.scale === top);
}

// ---- 1. Throughput with and without checkpoints -----------------------------------------------

/** The count every variant computes: sum over records of the key's count after it. */
function overheadLoop(n: number, keys: number): Run {
  const t0 = performance.now();
  const counts = new Map<number, number>();
  let sum = 0;
  const slice = (from: number, to: number) => {
    let s = 0;
    for (let i = from; i < to; i++) {
      const k = i % keys;
      const c = (counts.get(k) ?? 0) + 1;
      counts.set(k, c);
      s += c;
    }
    return s;
  };
  for (let from = 0; from < n; from += SLICE) sum += slice(from, Math.min(n, from + SLICE));
  return { records: n, ms: performance.now() - t0, check: sum };
}

interface OverheadRun {
  scale: number;
  rate: number;
  checkpoints: number;
  lastDurationMs: number;
  lastSizeBytes: number;
}

function countingFunction(): KeyedProcessFunction<number, number, number> & { st?: ValueState<number> } {
  return {
    open(ctx) {
      this.st = ctx.getState(new ValueStateDescriptor<number>("count", Types.INT));
    },
    processElement(_k, _ctx, out) {
      const st = this.st!;
      const n = (st.value() ?? 0) + 1;
      st.update(n);
      out.collect(n);
    },
  };
}

async function overheadJob(
  n: number,
  keys: number,
  p: number,
  checkpointMs: number,
  log: OverheadRun[],
  scale: number,
): Promise<Run> {
  const dir = tempDir("overhead");
  try {
    const env = new StreamExecutionEnvironment({ parallelism: p, checkpointDirectory: dir });
    if (checkpointMs > 0) env.enableCheckpointing(checkpointMs, "EXACTLY_ONCE");
    env
      .fromGenerator((i) => i % keys, { count: n, type: Types.INT })
      .keyBy((k) => k)
      .process(countingFunction())
      .returns(Types.INT)
      .sinkTo(new CountingSink<number>((c) => c), "Count");
    const result = await env.execute("checkpoint overhead bench");
    const f = sinkFigures(result);
    const cp = result.checkpoints;
    log.push({
      scale,
      rate: (f.records / f.activeMs) * 1000,
      checkpoints: cp?.completed ?? 0,
      lastDurationMs: cp?.lastDurationMs ?? 0,
      lastSizeBytes: cp?.lastSizeBytes ?? 0,
    });
    if ((cp?.failed ?? 0) > 0) throw new Error(`${cp!.failed} checkpoint(s) failed`);
    return { records: n, ms: f.activeMs, wallMs: result.runtimeMs, check: f.checksum };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function overheadSection(id: string, records: number, keys: number, parallelisms: number[]): Section {
  const runs = new Map<string, OverheadRun[]>();
  const variants: Variant[] = [
    {
      name: "plain loop (Map per key)",
      baseline: true,
      run: async (scale) => overheadLoop(Math.round(records * scale), keys),
    },
  ];
  for (const p of parallelisms) {
    for (const interval of [0, 1000]) {
      const name = `weir in-thread p=${p}, ${interval === 0 ? "no checkpoints" : "exactly-once every 1 s"}`;
      const log: OverheadRun[] = [];
      runs.set(name, log);
      variants.push({
        name,
        run: (scale) => overheadJob(Math.round(records * scale), keys, p, interval, log, scale),
      });
    }
  }
  const base = `${records.toLocaleString("en-US")} generated records over ${keys.toLocaleString("en-US")} keys -> keyBy -> ValueState count per key (heap backend) -> counting sink; checkpoints to a temp directory. Rate over first to last sink record.`;
  return {
    id,
    title: `Keyed count with exactly-once checkpoints every 1 s vs none (${keys.toLocaleString("en-US")} keys)`,
    // Read by the harness after the runs: the checkpoint figures of the measured runs.
    get description(): string {
      const rows: string[][] = [];
      const notes: string[] = [];
      for (const p of parallelisms) {
        const none = measured(runs.get(`weir in-thread p=${p}, no checkpoints`)!);
        const cp = measured(runs.get(`weir in-thread p=${p}, exactly-once every 1 s`)!);
        if (none.length === 0 || cp.length === 0) continue;
        const ratio = median(cp.map((r) => r.rate)) / median(none.map((r) => r.rate));
        const without = cp.filter((r) => r.checkpoints === 0).length;
        notes.push(
          `p=${p}: checkpointed/unchecked throughput = ${ratio.toFixed(2)} (overhead ${((1 - ratio) * 100).toFixed(0)}%, aim < 10%)${without > 0 ? ` [${without} run(s) too short to complete a checkpoint]` : ""}`,
        );
        rows.push([
          `p=${p} every 1 s`,
          stat(cp.map((r) => ({ scale: r.scale, v: r.checkpoints }))),
          stat(cp.map((r) => ({ scale: r.scale, v: r.lastDurationMs }))),
          stat(
            cp.map((r) => ({ scale: r.scale, v: r.lastSizeBytes / 1e6 })),
            2,
          ),
        ]);
      }
      return [
        base,
        notes.join("; "),
        formatTable(["checkpointed run", "checkpoints per run", "last duration ms", "last size MB"], rows),
      ].join("\n");
    },
    variants,
    warmups: 1,
    warmupScale: 0.1,
    rounds: 3,
  };
}

// ---- 2. Checkpoint duration and size, full vs incremental --------------------------------------

/** Keys to feed the job, appended by the benchmark while the job runs (in this thread). */
class Feed {
  readonly chunks: Int32Array[] = [];
  processed = 0;
  private wake: (() => void) | undefined;
  push(keys: Int32Array): void {
    this.chunks.push(keys);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  waitForMore(): Promise<void> {
    return new Promise((r) => {
      this.wake = r;
    });
  }
}

/** An unbounded, non-parallel source of the fed keys; its position is checkpointed. */
class FeedSource implements Source<number, number> {
  readonly boundedness = "unbounded" as const;
  readonly maxParallelism = 1;
  readonly type = Types.INT;
  constructor(private readonly feed: Feed) {}
  createEnumerator() {
    return { start() {}, handleSplitRequest() {}, addReader() {}, close() {}, snapshotState: () => [] };
  }
  restoreEnumerator() {
    return this.createEnumerator();
  }
  createReader(): SourceReader<number, number> {
    const feed = this.feed;
    let chunk = 0;
    let pos = 0;
    let delivered = 0;
    const pending = () => {
      while (chunk < feed.chunks.length && pos >= feed.chunks[chunk]!.length) {
        chunk++;
        pos = 0;
      }
      return chunk < feed.chunks.length;
    };
    return {
      start() {},
      pollNext(out: ReaderOutput<number>) {
        if (!pending()) return InputStatus.NOTHING_AVAILABLE;
        const keys = feed.chunks[chunk]!;
        const end = Math.min(keys.length, pos + 512);
        delivered += end - pos;
        for (; pos < end; pos++) out.collect(keys[pos]!);
        return InputStatus.MORE_AVAILABLE;
      },
      isAvailable: () => (pending() ? Promise.resolve() : feed.waitForMore()),
      addSplits() {},
      notifyNoMoreSplits() {},
      snapshotState: () => [delivered],
      close() {},
    };
  }
}

function filesUnder(dir: string, out = new Map<string, number>()): Map<string, number> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) filesUnder(p, out);
    else if (!e.name.includes(".tmp-")) out.set(p, statSync(p).size);
  }
  return out;
}

const changedKeysCache = new Map<string, Int32Array>();

/**
 * 1% of `keys` keys: "clustered" = the keys of the first key groups (few key groups change),
 * "spread" = every 100th key (every key group changes).
 */
function changedKeys(keys: number, how: "clustered" | "spread"): Int32Array {
  const id = `${keys}/${how}`;
  let out = changedKeysCache.get(id);
  if (out !== undefined) return out;
  out = new Int32Array(Math.max(1, Math.round(keys / 100)));
  if (how === "spread") {
    for (let j = 0; j < out.length; j++) out[j] = (j * 100 + 37) % keys;
  } else {
    const groups = Int16Array.from({ length: keys }, (_, k) => assignToKeyGroup(k, MAX_PARALLELISM));
    let n = 0;
    for (let g = 0; n < out.length; g++)
      for (let k = 0; k < keys && n < out.length; k++) if (groups[k] === g) out[n++] = k;
  }
  changedKeysCache.set(id, out);
  return out;
}

type CheckpointStep = "first" | "clustered" | "spread";
const STEP_LABEL: Record<CheckpointStep, string> = {
  first: "1st checkpoint (all keys new)",
  clustered: "next, 1% keys changed in few key groups",
  spread: "next, 1% keys changed in every key group",
};

interface CheckpointFigures {
  scale: number;
  keys: number;
  wallMs: number;
  bytes: number;
  files: number;
}

interface SizeRun {
  scale: number;
  loadMs: number;
  heapMB: number;
  steps: Map<CheckpointStep, CheckpointFigures>;
  processed: number;
}

/** Load `keys` keys, checkpoint, then for each later step change 1% of the keys and checkpoint. */
async function sizeJob(
  keys: number,
  backend: "heap" | "embedded",
  incremental: boolean,
  steps: CheckpointStep[],
  scale: number,
): Promise<SizeRun> {
  const dir = tempDir("size");
  const feed = new Feed();
  try {
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      checkpointDirectory: join(dir, "checkpoints"),
    });
    env
      .enableCheckpointing(3_600_000)
      .getCheckpointConfig()
      .enableIncrementalCheckpoints(incremental)
      .setNumRetainedCheckpoints(steps.length);
    env.setStateBackend(backend, join(dir, "state"));
    const count: KeyedProcessFunction<number, number, never> & { st?: ValueState<number> } = {
      open(ctx) {
        this.st = ctx.getState(new ValueStateDescriptor<number>("count", Types.INT));
      },
      processElement() {
        const st = this.st!;
        st.update((st.value() ?? 0) + 1);
        feed.processed++;
      },
    };
    env
      .fromSource(new FeedSource(feed), "keys")
      .keyBy((k) => k)
      .process(count)
      .sinkTo({ createWriter: () => ({ write() {} }) } satisfies Sink<never>, "discard");
    const client = await env.executeAsync("checkpoint size bench");
    const out: SizeRun = { scale, loadMs: 0, heapMB: 0, steps: new Map(), processed: 0 };
    try {
      let fed = 0;
      let before = new Map<string, number>();
      for (const step of steps) {
        const batch =
          step === "first" ? Int32Array.from({ length: keys }, (_, i) => i) : changedKeys(keys, step);
        const t0 = performance.now();
        feed.push(batch);
        fed += batch.length;
        await waitFor(() => feed.processed === fed, `${fed} records processed`);
        if (step === "first") {
          out.loadMs = performance.now() - t0;
          collectGarbage();
          out.heapMB = process.memoryUsage().heapUsed / 1e6;
        }
        const t1 = performance.now();
        await client.triggerCheckpoint();
        const wallMs = performance.now() - t1;
        const after = filesUnder(join(dir, "checkpoints"));
        let bytes = 0;
        let files = 0;
        for (const [path, size] of after) {
          if (before.has(path)) continue;
          bytes += size;
          files++;
        }
        before = after;
        out.steps.set(step, { scale, keys, wallMs, bytes, files });
      }
      out.processed = feed.processed;
    } finally {
      await client.cancel();
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface SizeConfig {
  backend: "heap" | "embedded";
  incremental: boolean;
}

/**
 * One job run yields one row per checkpoint step; the harness calls every row's variant once per
 * warmup and round (in rotating order), so the first row called in a round runs the job and the
 * others take their figures from it.
 */
function sizeSection(
  id: string,
  title: string,
  keys: number,
  configs: SizeConfig[],
  steps: CheckpointStep[],
  opts: { warmups: number; rounds: number; warmupScale: number; note?: string },
): Section {
  const all: Array<{ config: SizeConfig; run: SizeRun }> = [];
  const variants: Variant[] = [];
  for (const config of configs) {
    const queues = new Map<CheckpointStep, Array<{ figures: CheckpointFigures; processed: number }>>(
      steps.map((s) => [s, []]),
    );
    const mode = `${config.backend} ${config.incremental ? "incremental" : "full"}`;
    for (const step of steps) {
      variants.push({
        name: `${mode}: ${STEP_LABEL[step]}`,
        async run(scale) {
          const q = queues.get(step)!;
          if (q.length > 0 && q[0]!.figures.scale !== scale) q.length = 0;
          if (q.length === 0) {
            const n = Math.round(keys * scale);
            const run = await sizeJob(n, config.backend, config.incremental, steps, scale);
            all.push({ config, run });
            for (const s of steps)
              queues.get(s)!.push({ figures: run.steps.get(s)!, processed: run.processed });
          }
          const { figures, processed } = q.shift()!;
          return { records: figures.keys, ms: figures.wallMs, bytes: figures.bytes, check: processed };
        },
      });
    }
  }
  const base = `${keys.toLocaleString("en-US")} keys loaded into ValueState (p=1, in-thread), checkpoint triggered with client.triggerCheckpoint(), then 1% of the keys updated and checkpointed again. Columns: M rec/s = keys in state / checkpoint duration, B/rec = bytes written per key in state. Duration = wall time from trigger to completion; bytes = new files on disk.${opts.note === undefined ? "" : `\n${opts.note}`}`;
  return {
    id,
    title,
    get description(): string {
      const rows: string[][] = [];
      for (const config of configs) {
        const runs = measured(all.filter((r) => r.config === config).map((r) => r.run));
        if (runs.length === 0) continue;
        const mode = `${config.backend} ${config.incremental ? "incremental" : "full"}`;
        for (const step of steps) {
          const fs = runs.map((r) => r.steps.get(step)!);
          rows.push([
            mode,
            STEP_LABEL[step],
            stat(fs.map((f) => ({ scale: f.scale, v: f.wallMs }))),
            stat(
              fs.map((f) => ({ scale: f.scale, v: f.bytes / 1e6 })),
              2,
            ),
            stat(fs.map((f) => ({ scale: f.scale, v: f.files }))),
          ]);
        }
        rows.push([
          mode,
          "(loading the keys; heap used after)",
          stat(runs.map((r) => ({ scale: r.scale, v: r.loadMs }))),
          `heap ${stat(runs.map((r) => ({ scale: r.scale, v: r.heapMB })))}`,
          "",
        ]);
      }
      return [base, formatTable(["mode", "checkpoint", "duration ms", "written MB", "files"], rows)].join(
        "\n",
      );
    },
    variants,
    warmups: opts.warmups,
    warmupScale: opts.warmupScale,
    rounds: opts.rounds,
  };
}

// ---- 3. Aligned vs unaligned under backpressure (worker threads) -----------------------------

const BP_CHECKPOINTS = 3;
const BP_SINK_WORK = 3_000;

interface BackpressureRun {
  scale: number;
  durations: number[];
  drained: number[];
  sinkRate: number;
}

async function backpressureJob(unaligned: boolean, scale: number, log: BackpressureRun[]): Promise<Run> {
  const dir = tempDir("backpressure");
  const c = sharedCounters();
  resetCounters(c);
  const settings: CheckpointJobSettings = {
    kind: "backpressure",
    checkpoints: dir,
    unaligned,
    sinkWork: BP_SINK_WORK,
  };
  process.env[SETTINGS_VAR] = JSON.stringify(settings);
  try {
    const client = await submitJob({ job: JOB });
    try {
      await waitFor(() => Atomics.load(c.ints, SEEN) > 0, "the slow sink's first record");
      // Let the buffers between source and sink fill up.
      await sleep(1500);
      const durations: number[] = [];
      const drained: number[] = [];
      const seen0 = Atomics.load(c.ints, SEEN);
      const t0 = performance.now();
      for (let i = 0; i < Math.max(1, Math.round(BP_CHECKPOINTS * scale)); i++) {
        const before = Atomics.load(c.ints, SEEN);
        const t = performance.now();
        await client.triggerCheckpoint();
        durations.push(performance.now() - t);
        drained.push(Atomics.load(c.ints, SEEN) - before);
        await sleep(300);
      }
      const sinkRate = ((Atomics.load(c.ints, SEEN) - seen0) / (performance.now() - t0)) * 1000;
      log.push({ scale, durations, drained, sinkRate });
      const total = durations.reduce((a, b) => a + b, 0);
      return { records: drained.reduce((a, b) => a + b, 0), ms: total, check: "checkpoints completed" };
    } finally {
      await client.cancel();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function backpressureSection(): Section {
  const logs = { aligned: [] as BackpressureRun[], unaligned: [] as BackpressureRun[] };
  const base = `Unbounded generator (p=2) -> rebalance -> slow sink (p=2, ~${BP_SINK_WORK} iterations of busy work per record), worker threads; after 1.5 s of backpressure, ${BP_CHECKPOINTS} checkpoints triggered one after another. Columns: records = records the sink consumed while the checkpoints were in flight, ms = sum of checkpoint durations.`;
  return {
    id: "ckpt-backpress",
    title: "Aligned vs unaligned checkpoints under backpressure",
    get description(): string {
      const rows: string[][] = [];
      const med: Record<string, number> = {};
      for (const mode of ["aligned", "unaligned"] as const) {
        const runs = measured(logs[mode]);
        if (runs.length === 0) continue;
        const ds = runs.flatMap((r) => r.durations);
        const drained = runs.flatMap((r) => r.drained);
        med[mode] = median(ds);
        rows.push([
          mode,
          String(ds.length),
          fixed(median(ds), 0),
          `[${fixed(Math.min(...ds), 0)}..${fixed(Math.max(...ds), 0)}]`,
          fixed(median(drained), 0),
          fixed(median(runs.map((r) => r.sinkRate)), 0),
        ]);
      }
      const lines = [
        base,
        formatTable(
          ["mode", "checkpoints", "duration ms", "[min..max]", "sink records during one", "sink rec/s"],
          rows,
        ),
      ];
      if (med.aligned !== undefined && med.unaligned !== undefined) {
        const r = med.unaligned / med.aligned;
        lines.push(
          r > 0.5
            ? `unaligned/aligned duration = ${r.toFixed(2)}: enableUnalignedCheckpoints() made no clear difference here (aligned figures stand; unaligned barriers may not be in this build)`
            : `unaligned/aligned duration = ${r.toFixed(2)}: unaligned barriers overtake the in-flight data`,
        );
      }
      return lines.join("\n");
    },
    variants: [
      { name: "aligned (exactly-once)", run: (scale) => backpressureJob(false, scale, logs.aligned) },
      { name: "unaligned (exactly-once)", run: (scale) => backpressureJob(true, scale, logs.unaligned) },
    ],
    warmups: 0,
    rounds: 2,
  };
}

// ---- 4. Recovery from a killed worker thread --------------------------------------------------

const RECOVERY_KEYS = 1_000_000;

interface RecoveryRun {
  scale: number;
  keys: number;
  checkpointMs: number;
  recoveryMs: number;
  restarts: number;
  records: number;
  totalMs: number;
}

async function recoveryJob(
  keys: number,
  backend: "heap" | "embedded",
  scale: number,
  log: RecoveryRun[],
): Promise<Run> {
  const dir = tempDir("recovery");
  const c = sharedCounters();
  resetCounters(c);
  const evenKeys = keys + (keys % 2); // p=2 readers take every other index: a key stays with one reader
  const settings: CheckpointJobSettings = {
    kind: "recovery",
    keys: evenKeys,
    records: 2 * evenKeys,
    recordsPerSecond: evenKeys / 2,
    checkpoints: join(dir, "checkpoints"),
    stateBackend: backend,
    stateDirectory: join(dir, "state"),
  };
  process.env[SETTINGS_VAR] = JSON.stringify(settings);
  try {
    const started = performance.now();
    const client = await submitJob({ job: JOB });
    let killAt = 0;
    let checkpointMs = 0;
    try {
      await waitFor(() => Atomics.load(c.ints, SEEN) >= evenKeys, `${evenKeys} records (every key in state)`);
      const t = performance.now();
      await client.triggerCheckpoint();
      checkpointMs = performance.now() - t;
      killAt = epochMs();
      client.killWorker(0);
      await waitFor(() => Atomics.load(c.ints, RESTARTED) === 1, "the restarted job's first record");
    } catch (e) {
      await client.cancel();
      throw e;
    }
    const result = await client.wait();
    const recoveryMs = c.floats[RESTARTED_AT]! - killAt;
    const wrong = Atomics.load(c.ints, WRONG);
    if (wrong > 0) throw new Error(`${wrong} record(s) saw a wrong count after the restore`);
    log.push({
      scale,
      keys: evenKeys,
      checkpointMs,
      recoveryMs,
      restarts: result.restarts,
      records: Atomics.load(c.ints, SEEN),
      totalMs: performance.now() - started,
    });
    return { records: evenKeys, ms: recoveryMs, check: `restarts=${result.restarts}, wrong counts=${wrong}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function recoverySection(backends: Array<"heap" | "embedded">): Section {
  const logs = new Map<string, RecoveryRun[]>(backends.map((b) => [b, []]));
  const base = `${RECOVERY_KEYS.toLocaleString("en-US")} keys counted in ValueState at p=2 on worker threads (generator at ${(RECOVERY_KEYS / 2).toLocaleString("en-US")} rec/s, checkpoints every 1 s, restart strategy fixedDelay(3, 0 ms): the default waits 1 s more); once every key has state a checkpoint is triggered, then worker 0 is killed. Recovery = kill -> first record of the restarted attempt at the sink (state read back, threads and job module started again, sources rewound). Every record checks its count against the expected one. Columns: records = keys restored, ms = recovery time.`;
  return {
    id: "ckpt-recovery",
    title: "Recovery from a killed worker thread (1M keys of state)",
    get description(): string {
      const rows: string[][] = [];
      for (const b of backends) {
        const runs = measured(logs.get(b)!);
        if (runs.length === 0) continue;
        const s = (f: (r: RecoveryRun) => number) => stat(runs.map((r) => ({ scale: r.scale, v: f(r) })));
        rows.push([
          b,
          runs[0]!.keys.toLocaleString("en-US"),
          s((r) => r.checkpointMs),
          s((r) => r.recoveryMs),
          s((r) => r.restarts),
          s((r) => r.records),
          s((r) => r.totalMs),
        ]);
      }
      return [
        base,
        formatTable(
          [
            "backend",
            "keys",
            "checkpoint ms",
            "recovery ms",
            "restarts",
            "sink records (with replay)",
            "job ms",
          ],
          rows,
        ),
      ].join("\n");
    },
    variants: backends.map((b) => ({
      name: `${b} backend, kill -> processing again`,
      run: (scale: number) => recoveryJob(Math.round(RECOVERY_KEYS * scale), b, scale, logs.get(b)!),
    })),
    warmups: 0,
    rounds: 2,
  };
}

// ---- sections -----------------------------------------------------------------------------------

const TEN_MILLION = 10_000_000;
/** 10M keys of heap state take ~2 GB of memory (measured); below 8 GiB, scale down. */
const bigKeys = totalmem() >= 8 * 2 ** 30 ? TEN_MILLION : 2_000_000;

export const checkpointSections: Section[] = [
  overheadSection("ckpt-overhead", 16_000_000, 100_000, [1, 2]),
  overheadSection("ckpt-overhead-1m", 8_000_000, 1_000_000, [1]),
  sizeSection(
    "ckpt-size-heap",
    "Checkpoint duration and size, 1M keys, heap backend: full vs incremental",
    1_000_000,
    [
      { backend: "heap", incremental: false },
      { backend: "heap", incremental: true },
    ],
    ["first", "clustered", "spread"],
    { warmups: 1, warmupScale: 0.1, rounds: 3 },
  ),
  sizeSection(
    "ckpt-size-embed",
    "Checkpoint duration and size, 1M keys, embedded (LMDB) backend: full vs incremental",
    1_000_000,
    [
      { backend: "embedded", incremental: false },
      { backend: "embedded", incremental: true },
    ],
    ["first", "clustered", "spread"],
    { warmups: 1, warmupScale: 0.1, rounds: 2 },
  ),
  sizeSection(
    "ckpt-size-10m",
    `Checkpoint duration and size, ${bigKeys / 1e6}M keys, heap backend: full vs incremental`,
    bigKeys,
    [
      { backend: "heap", incremental: false },
      { backend: "heap", incremental: true },
    ],
    ["first", "clustered", "spread"],
    {
      warmups: 0,
      warmupScale: 0.1,
      rounds: 1,
      note:
        bigKeys === TEN_MILLION
          ? "One run per mode (no warmup): each loads 10M keys (~2 GB resident)."
          : `Scaled down from 10M to ${bigKeys / 1e6}M keys: this machine has less than 8 GiB of memory.`,
    },
  ),
  backpressureSection(),
  recoverySection(["heap"]),
];

if (import.meta.url === `file://${process.argv[1]}`) {
  const select = process.argv.slice(2);
  const chosen =
    select.length === 0
      ? checkpointSections
      : checkpointSections.filter((s) => select.some((sel) => s.id === sel || s.id.startsWith(sel)));
  const machine = describeMachine();
  console.log(`# Weir checkpoint benchmarks\n${formatMachine(machine)}`);
  const started = performance.now();
  const results: VariantSummary[] = [];
  for (const s of chosen) results.push(...(await runSection(s, { scale: 1, log: console.log })));
  const seconds = (performance.now() - started) / 1000;
  console.log(`\ntotal ${seconds.toFixed(0)} s on ${availableParallelism()} cores`);
  console.log(JSON.stringify({ bench: "weir", machine, scale: 1, seconds, loadAverage: loadavg(), results }));
}
