// Keyed state at scale through one backend, alone (no job): ValueState value() + update() per
// record over N distinct keys in a shuffled order (pass 1 creates every key, pass 2 updates it),
// then a full checkpoint (every key group read from a snapshot, encoded as the checkpoint does and
// written to a file, one key group at a time), then a restore into a new backend, checked by a
// sample. Prints time per phase, peak RSS (VmHWM) and the RSS split (anonymous / file-mapped).
//
//   node --expose-gc --import tsx bench/state-embedded.ts [keys] [--backend embedded|heap]
//        [--managed-memory 256mb] [--no-checkpoint]
//
// One size per invocation (the 20M run is its own process: `... bench/state-embedded.ts 20m`).
// The last line of output is one JSON object with every figure.

import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeKeyGroupFrom, decodeKeyGroup } from "../src/checkpoint/state-file.ts";
import { assignToKeyGroup } from "../src/core/key-groups.ts";
import { ValueStateDescriptor } from "../src/core/state.ts";
import { Types } from "../src/core/types/types.ts";
import { parseMemorySize } from "../src/state/embedded/memory-size.ts";
import { createKeyedStateBackend, type StateBackendKind } from "../src/state/index.ts";

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
      !all[i - 1]?.startsWith("--managed-memory"),
  );
const KEYS = parseCount(positional[0] ?? "1m");
const BACKEND = (arg("--backend") ?? "embedded") as StateBackendKind;
const MANAGED = parseMemorySize(arg("--managed-memory") ?? "256mb", "--managed-memory");
const CHECKPOINT = !process.argv.includes("--no-checkpoint");
/** A progress line every this many records (0: none). */
const PROGRESS_EVERY = KEYS >= 2_000_000 ? 1_000_000 : 0;

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

/** CPU seconds (user + system, all threads) since `from`: the machine is shared, wall time varies with load. */
function cpuS(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return +((u.user + u.system) / 1e6).toFixed(2);
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const figures: Record<string, unknown> = {
  keys: KEYS,
  backend: BACKEND,
  managedMemoryMb: MANAGED / 2 ** 20,
  node: process.version,
};
const log = (s: string) => console.log(s);

log(
  `${BACKEND} backend, ${KEYS.toLocaleString("en-US")} keys, managed memory ${MANAGED / 2 ** 20} MiB, Node ${process.version}`,
);
const b = createKeyedStateBackend(BACKEND, { start: 0, end: MAX - 1 }, { managedMemoryBytes: MANAGED });
const dir = mkdtempSync(join(tmpdir(), "weir-bench-ckpt-"));
try {
  const count = b.getState(new ValueStateDescriptor<number>("count", Types.NUMBER));
  for (let pass = 1; pass <= 2; pass++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let done = 0;
    for (const i of shuffledKeys(KEYS, pass)) {
      const key = `user-${i}`;
      b.setCurrentKey(key, assignToKeyGroup(key, MAX));
      count.update((count.value() ?? 0) + 1);
      if (PROGRESS_EVERY > 0 && ++done % PROGRESS_EVERY === 0) {
        // A line per million records: CPU per key as the store grows (and a figure if a run is cut short).
        const st = status();
        log(
          `  pass ${pass}: ${done / 1e6}M records, CPU ${cpuS(c0)} s, ${((performance.now() - t0) / 1000).toFixed(0)} s; RSS anon ${st.anonMb.toFixed(0)} MB, file ${st.fileMb.toFixed(0)} MB, peak ${st.hwmMb.toFixed(0)} MB`,
        );
      }
    }
    const s = (performance.now() - t0) / 1000;
    figures[`pass${pass}S`] = +s.toFixed(2);
    figures[`pass${pass}CpuS`] = cpuS(c0);
    const st = status();
    log(
      `pass ${pass}: ${s.toFixed(1)} s (CPU ${cpuS(c0)} s), ${Math.round(KEYS / s).toLocaleString("en-US")} records/s; RSS anon ${st.anonMb.toFixed(0)} MB, file ${st.fileMb.toFixed(0)} MB, peak ${st.hwmMb.toFixed(0)} MB`,
    );
  }
  if (CHECKPOINT) {
    gc();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const snap = b.snapshot();
    const syncMs = performance.now() - t0;
    const file = join(dir, "chk");
    const fd = openSync(file, "w");
    const offsets: Array<[number, number, number]> = [];
    let pos = 0;
    let entries = 0;
    try {
      for (const kg of snap.keyGroups) {
        const bytes = encodeKeyGroupFrom(
          (emit) =>
            snap.read(kg, (st, ns, k, v) => {
              entries++;
              emit(st, ns, k, v);
            }),
          [],
        );
        writeSync(fd, bytes);
        offsets.push([kg, pos, bytes.length]);
        pos += bytes.length;
      }
    } finally {
      closeSync(fd);
      snap.release();
    }
    const ckptS = (performance.now() - t0) / 1000;
    const sizeMb = statSync(file).size / 2 ** 20;
    if (entries !== KEYS) throw new Error(`checkpoint holds ${entries} entries, expected ${KEYS}`);
    figures.checkpointS = +ckptS.toFixed(2);
    figures.checkpointCpuS = cpuS(c0);
    figures.checkpointSyncMs = +syncMs.toFixed(0);
    figures.checkpointMb = +sizeMb.toFixed(1);
    let st = status();
    log(
      `checkpoint: ${ckptS.toFixed(1)} s (CPU ${cpuS(c0)} s, synchronous part ${syncMs.toFixed(0)} ms), ${sizeMb.toFixed(0)} MB, ${entries} entries; RSS anon ${st.anonMb.toFixed(0)} MB, file ${st.fileMb.toFixed(0)} MB, peak ${st.hwmMb.toFixed(0)} MB`,
    );

    // Restore into a new backend, key group by key group, then check a sample. The first backend
    // goes first, as in a restart: a restore runs in a new process or after the old task ended.
    b.dispose();
    gc();
    const r = createKeyedStateBackend(BACKEND, { start: 0, end: MAX - 1 }, { managedMemoryBytes: MANAGED });
    try {
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      const fdr = openSync(file, "r");
      try {
        for (const [kg, at, len] of offsets) {
          const bytes = Buffer.allocUnsafe(len);
          let got = 0;
          while (got < len) got += readSync(fdr, bytes, got, len - got, at + got);
          r.restoreKeyGroup(kg, decodeKeyGroup(bytes, file).entries);
        }
      } finally {
        closeSync(fdr);
      }
      const restoreS = (performance.now() - t1) / 1000;
      const rc = r.getState(new ValueStateDescriptor<number>("count", Types.NUMBER));
      const step = Math.max(1, Math.floor(KEYS / 1000));
      for (let i = 0; i < KEYS; i += step) {
        const key = `user-${i}`;
        r.setCurrentKey(key, assignToKeyGroup(key, MAX));
        if (rc.value() !== 2) throw new Error(`restored ${key} = ${rc.value()}, expected 2`);
      }
      figures.restoreS = +restoreS.toFixed(2);
      figures.restoreCpuS = cpuS(c1);
      st = status();
      log(
        `restore: ${restoreS.toFixed(1)} s (CPU ${cpuS(c1)} s); sample of ${Math.ceil(KEYS / step)} keys checked; RSS anon ${st.anonMb.toFixed(0)} MB, file ${st.fileMb.toFixed(0)} MB, peak ${st.hwmMb.toFixed(0)} MB`,
      );
    } finally {
      r.dispose();
    }
  }
  const st = status();
  figures.peakRssMb = Math.round(st.hwmMb);
  figures.heapUsedMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  log(`peak RSS ${st.hwmMb.toFixed(0)} MB`);
} finally {
  b.dispose();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(figures));
