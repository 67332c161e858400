// Keyed state at scale through one backend, alone (no job): ValueState value() + update() per
// record over N distinct keys in a shuffled order (pass 1 creates every key, pass 2 updates it),
// then a full checkpoint (every key group read from a snapshot, encoded as the checkpoint does and
// written to a file, one key group at a time), then a restore into a new backend: the key groups
// written in raw form, then converted when the state registers (as an operator's open does), then
// checked (every entry: count and checksum against the checkpoint's and the expected ones; a
// sample of keys through ValueState). Prints CPU and wall time per phase, each phase's peak RSS
// split into anonymous and file-backed memory, and the process's peak RSS (VmHWM).
//
//   node --expose-gc --import tsx bench/state-embedded.ts [keys] [--backend embedded|heap]
//        [--managed-memory 256mb] [--passes 2] [--writer per-group|buffered|streamed] [--no-checkpoint]
//
// --writer: how the checkpoint is written and read back (bench/lib/checkpoint-writers.ts):
// per-group (the backend alone, default), or the engine's state file, buffered or streamed.
//
// One size per invocation (the 20M run is its own process: `... bench/state-embedded.ts 20m`).
// The last line of output is one JSON object with every figure.

import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assignToKeyGroup } from "../src/core/key-groups.ts";
import { ValueStateDescriptor } from "../src/core/state.ts";
import { Types } from "../src/core/types/types.ts";
import { parseMemorySize } from "../src/state/embedded/memory-size.ts";
import { createKeyedStateBackend, type StateBackendKind } from "../src/state/index.ts";
import type { KeyedStateSnapshot } from "../src/state/keyed-state-backend.ts";
import {
  type WrittenCheckpoint,
  WRITERS,
  type WriterKind,
  writeCheckpoint,
} from "./lib/checkpoint-writers.ts";
import { formatPeaks, type RssPeaks, RssSampler } from "./lib/rss-sampler.ts";

const MAX = 128;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

function parseCount(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(s);
  if (m === null) throw new Error(`bad key count '${s}' (e.g. 1000000, 5m, 500k)`);
  const mult = { "": 1, k: 1e3, m: 1e6 }[m[2]!.toLowerCase() as "" | "k" | "m"];
  return Math.round(Number(m[1]) * mult);
}

const positional = process.argv
  .slice(2)
  .filter(
    (a, i, all) =>
      !a.startsWith("--") &&
      !all[i - 1]?.startsWith("--backend") &&
      !all[i - 1]?.startsWith("--passes") &&
      !all[i - 1]?.startsWith("--writer") &&
      !all[i - 1]?.startsWith("--managed-memory"),
  );
const KEYS = parseCount(positional[0] ?? "1m");
const BACKEND = (arg("--backend") ?? "embedded") as StateBackendKind;
const MANAGED = parseMemorySize(arg("--managed-memory") ?? "256mb", "--managed-memory");
const CHECKPOINT = !process.argv.includes("--no-checkpoint");
const RESTORE = !process.argv.includes("--no-restore");
const WRITER = (arg("--writer") ?? "per-group") as WriterKind;
if (!WRITERS.includes(WRITER)) throw new Error(`--writer: one of ${WRITERS.join(", ")}`);
/** Pass 1 creates every key, later passes update it: each key ends at PASSES. */
const PASSES = Number(arg("--passes") ?? 2);
/** A progress line every this many records (0: none). */
const PROGRESS_EVERY = KEYS >= 2_000_000 ? 1_000_000 : 0;
/** Records between two turns of the event loop in a pass (a task's executor turns it every ~10 ms). */
const YIELD_EVERY = 5_000;

function status(): { hwmMb: number; anonMb: number; fileMb: number } {
  const s = readFileSync("/proc/self/status", "utf8");
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  return { hwmMb: kb("VmHWM"), anonMb: kb("RssAnon"), fileMb: kb("RssFile") };
}

/** The i-th key of the shuffled order (a full-period LCG over [0, 2^k) restricted to [0, KEYS)). */
function* shuffledKeys(n: number, seed: number): Generator<number> {
  let m = 1;
  while (m < n) m *= 2;
  const a = 5 + 8 * (seed % 1000); // a ≡ 1 (mod 4), c odd: full period mod 2^k
  let x = seed % m;
  for (let i = 0; i < m; i++) {
    x = (a * x + 12345) % m;
    if (x < n) yield x;
  }
}

/** A hash of one entry; summed (mod 2^32) over a store, it does not depend on the order of reading. */
function entryHash(key: unknown, value: unknown): number {
  const s = `${String(key)}=${String(value)}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Count and checksum of every entry of a backend, read through a snapshot. */
function digest(backend: ReturnType<typeof createKeyedStateBackend>): { entries: number; sum: number } {
  const snap = backend.snapshot();
  let entries = 0;
  let sum = 0;
  try {
    for (const kg of snap.keyGroups) {
      snap.read(kg, (_st, _ns, k, v) => {
        entries++;
        sum = (sum + entryHash(k, v)) >>> 0;
      });
    }
  } finally {
    snap.release();
  }
  return { entries, sum };
}

/** Times the backend's store reopened its LMDB environment (embedded backend only). */
function reopens(): number | undefined {
  const store = (b as unknown as { store?: { reopens?: () => number } }).store;
  return store?.reopens?.();
}

/** CPU seconds (user + system, all threads) since `from`: the machine is shared, wall time varies with load. */
function cpuS(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return +((u.user + u.system) / 1e6).toFixed(2);
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const figures: Record<string, unknown> = {
  keys: KEYS,
  backend: BACKEND,
  writer: WRITER,
  managedMemoryMb: MANAGED / 2 ** 20,
  node: process.version,
};
const log = (s: string) => console.log(s);
const sampler = new RssSampler();
/** Records and returns the peaks of the phase that just ended. */
const phasePeaks = (phase: string): string => {
  const p: RssPeaks = sampler.take();
  figures[`${phase}Peak`] = p;
  return formatPeaks(p);
};

log(
  `${BACKEND} backend, ${KEYS.toLocaleString("en-US")} keys, managed memory ${MANAGED / 2 ** 20} MiB, Node ${process.version}`,
);
const b = createKeyedStateBackend(BACKEND, { start: 0, end: MAX - 1 }, { managedMemoryBytes: MANAGED });
const dir = mkdtempSync(join(tmpdir(), "weir-bench-ckpt-"));
try {
  const count = b.getState(new ValueStateDescriptor<number>("count", Types.NUMBER));
  sampler.take();
  for (let pass = 1; pass <= PASSES; pass++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let done = 0;
    for (const i of shuffledKeys(KEYS, pass)) {
      const key = `user-${i}`;
      b.setCurrentKey(key, assignToKeyGroup(key, MAX));
      count.update((count.value() ?? 0) + 1);
      // Let the event loop turn now and then, as a task's loop does between batches: lmdb ends its
      // implicit read transaction on a timer, which holds a reopened environment's old objects.
      if (++done % YIELD_EVERY === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      if (PROGRESS_EVERY > 0 && done % PROGRESS_EVERY === 0) {
        // A line per million records: CPU per key as the store grows (and a figure if a run is cut short).
        const st = status();
        log(
          `  pass ${pass}: ${done / 1e6}M records, CPU ${cpuS(c0)} s, ${((performance.now() - t0) / 1000).toFixed(0)} s; RSS anon ${st.anonMb.toFixed(0)} MB, file ${st.fileMb.toFixed(0)} MB, peak ${st.hwmMb.toFixed(0)} MB; ${reopens() ?? 0} reopens`,
        );
      }
    }
    const s = (performance.now() - t0) / 1000;
    figures[`pass${pass}S`] = +s.toFixed(2);
    figures[`pass${pass}CpuS`] = cpuS(c0);
    figures[`pass${pass}Reopens`] = reopens();
    const st = status();
    log(
      `pass ${pass}: ${s.toFixed(1)} s (CPU ${cpuS(c0)} s), ${Math.round(KEYS / s).toLocaleString("en-US")} records/s; RSS anon ${st.anonMb.toFixed(0)} MB, file ${st.fileMb.toFixed(0)} MB; ${phasePeaks(`pass${pass}`)}`,
    );
  }
  if (CHECKPOINT) {
    gc();
    sampler.take();
    const before = status();
    figures.checkpointStartAnonMb = Math.round(before.anonMb);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const snap = b.snapshot();
    const syncMs = performance.now() - t0;
    const syncCpuS = cpuS(c0);
    let entries = 0;
    let sum = 0;
    const counted: KeyedStateSnapshot = {
      ...snap,
      read: (kg, emit) =>
        snap.read(kg, (st, ns, k, v) => {
          entries++;
          sum = (sum + entryHash(k, v)) >>> 0;
          emit(st, ns, k, v);
        }),
    };
    const written = await writeCheckpoint(WRITER, counted, dir);
    const file = written.path;
    const ckptS = (performance.now() - t0) / 1000;
    const sizeMb = statSync(file).size / 2 ** 20;
    if (entries !== KEYS) throw new Error(`checkpoint holds ${entries} entries, expected ${KEYS}`);
    figures.checkpointS = +ckptS.toFixed(2);
    figures.checkpointCpuS = cpuS(c0);
    figures.checkpointSyncMs = +syncMs.toFixed(0);
    figures.checkpointSyncCpuS = syncCpuS;
    figures.checkpointMb = +sizeMb.toFixed(1);
    const st = status();
    log(
      `checkpoint: ${ckptS.toFixed(1)} s (CPU ${cpuS(c0)} s, synchronous part ${syncMs.toFixed(0)} ms, CPU ${syncCpuS} s), ${sizeMb.toFixed(0)} MB, ${entries} entries; RSS anon at the start ${before.anonMb.toFixed(0)} MB, at the end ${st.anonMb.toFixed(0)} MB, file ${st.fileMb.toFixed(0)} MB; ${phasePeaks("checkpoint")}`,
    );

    // Restore into a new backend, key group by key group. The first backend goes first, as in a
    // restart: a restore runs in a new process or after the old task ended.
    b.dispose();
    gc();
    let expected = 0;
    for (let i = 0; i < KEYS; i++) expected = (expected + entryHash(`user-${i}`, PASSES)) >>> 0;
    if (sum !== expected) throw new Error(`checkpoint checksum ${sum}, expected ${expected}`);
    if (RESTORE) await restoreAndCheck(written, entries, sum);
  }
  const st = status();
  figures.peakRssMb = Math.round(st.hwmMb);
  figures.heapUsedMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  log(`peak RSS ${st.hwmMb.toFixed(0)} MB`);
} finally {
  b.dispose();
  rmSync(dir, { recursive: true, force: true });
  sampler.stop();
}
console.log(JSON.stringify(figures));

/** Restores the checkpoint into a new backend, then checks every entry and a sample of keys. */
async function restoreAndCheck(written: WrittenCheckpoint, entries: number, sum: number): Promise<void> {
  sampler.take();
  const r = createKeyedStateBackend(BACKEND, { start: 0, end: MAX - 1 }, { managedMemoryBytes: MANAGED });
  try {
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    await written.restore(r);
    const restoreS = (performance.now() - t1) / 1000;
    figures.restoreS = +restoreS.toFixed(2);
    figures.restoreCpuS = cpuS(c1);
    log(
      `restore, key groups written: ${restoreS.toFixed(1)} s (CPU ${cpuS(c1)} s); ${phasePeaks("restore")}`,
    );

    // Registering the state converts the entries restored in raw form (an operator's open).
    const t2 = performance.now();
    const c2 = process.cpuUsage();
    const rc = r.getState(new ValueStateDescriptor<number>("count", Types.NUMBER));
    const registerS = (performance.now() - t2) / 1000;
    figures.registerS = +registerS.toFixed(2);
    figures.registerCpuS = cpuS(c2);
    log(
      `restore, state registered: ${registerS.toFixed(1)} s (CPU ${cpuS(c2)} s); ${phasePeaks("register")}`,
    );

    const c3 = process.cpuUsage();
    const step = Math.max(1, Math.floor(KEYS / 1000));
    for (let i = 0; i < KEYS; i += step) {
      const key = `user-${i}`;
      r.setCurrentKey(key, assignToKeyGroup(key, MAX));
      if (rc.value() !== PASSES) throw new Error(`restored ${key} = ${rc.value()}, expected ${PASSES}`);
    }
    const got = digest(r);
    if (got.entries !== KEYS || got.sum !== sum) {
      throw new Error(`restored ${got.entries} entries, checksum ${got.sum}; checkpoint ${entries}, ${sum}`);
    }
    figures.verifyCpuS = cpuS(c3);
    log(
      `restore checked: ${got.entries} entries, checksum ${got.sum} = checkpoint's = expected; sample of ${Math.ceil(KEYS / step)} keys = ${PASSES} (CPU ${cpuS(c3)} s)`,
    );
  } finally {
    r.dispose();
  }
}
