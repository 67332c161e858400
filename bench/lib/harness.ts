// The benchmark harness: sections of variants, each variant warmed up, then measured in
// interleaved rounds (round r starts at a different variant, so drift on a shared machine
// spreads over all of them), garbage collected before every run, summarised by the median.
// A section's variants must compute the same result (their checks must agree), and are
// compared to the section's hand-written baseline.

import { availableParallelism, loadavg } from "node:os";
import { fixed, formatTable, millions } from "./table.ts";
import { collectGarbage, median } from "./timing.ts";

/** One measured execution of a variant. */
export interface Run {
  /** Records processed: the unit of the rate. */
  records: number;
  /** ms the rate is computed over (steady state: first to last record, where the variant can tell). */
  ms: number;
  /** ms end to end, deployment included (jobs); defaults to ms. */
  wallMs?: number;
  /** Bytes sent over network channels. */
  bytes?: number;
  /** The result, reduced to a value every variant of the section must reproduce. */
  check: string | number;
}

export interface Variant {
  name: string;
  /** The hand-written plain loop that the others are compared to (one per section). */
  baseline?: boolean;
  /** Execute once; `scale` multiplies the section's record count (warmups use a small one). */
  run(scale: number): Promise<Run>;
}

export interface Section {
  /** Short id used to select it: `npm run bench -- <id>`. */
  id: string;
  title: string;
  /** What the section measures, one or two lines (printed above its table). */
  description: string;
  variants: Variant[];
  /** Warmup runs per variant (default 2) at `warmupScale` (default 0.25). */
  warmups?: number;
  warmupScale?: number;
  /** Measured rounds (default 5). */
  rounds?: number;
}

export interface VariantSummary {
  section: string;
  variant: string;
  baseline: boolean;
  records: number;
  recordsPerSec: number;
  minRecordsPerSec: number;
  maxRecordsPerSec: number;
  ratioToBaseline: number;
  wallRecordsPerSec: number;
  mbPerSec: number | undefined;
  bytesPerRecord: number | undefined;
  check: string | number;
  runs: number;
}

export interface HarnessOptions {
  /** Multiplies every section's record count. */
  scale: number;
  /** Overrides the sections' round count. */
  rounds?: number;
  log: (line: string) => void;
}

export async function runSection(section: Section, opts: HarnessOptions): Promise<VariantSummary[]> {
  const { variants } = section;
  const warmups = section.warmups ?? 2;
  const warmupScale = (section.warmupScale ?? 0.25) * opts.scale;
  const rounds = opts.rounds ?? section.rounds ?? 5;
  const started = performance.now();
  const loadBefore = loadavg()[0]!;

  for (let w = 0; w < warmups; w++) {
    for (const v of variants) {
      collectGarbage();
      await v.run(warmupScale);
    }
  }
  const runs = new Map<Variant, Run[]>(variants.map((v) => [v, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(r + i) % variants.length]!;
      collectGarbage();
      runs.get(v)!.push(await v.run(opts.scale));
    }
  }

  const summaries = variants.map((v) => summarise(section.id, v, runs.get(v)!));
  const base = summaries.find((s) => s.baseline);
  for (const s of summaries) s.ratioToBaseline = base ? s.recordsPerSec / base.recordsPerSec : Number.NaN;

  const checks = new Set(summaries.map((s) => String(s.check)));
  opts.log(`\n## ${section.title}  [${section.id}]`);
  opts.log(section.description);
  opts.log(
    `${warmups} warmup + ${rounds} measured runs per variant, interleaved; median [min..max]; ${((performance.now() - started) / 1000).toFixed(1)} s; load average ${loadBefore.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores\n`,
  );
  opts.log(
    formatTable(
      ["variant", "records", "M rec/s", "[min..max]", "ns/rec", "vs loop", "wall M rec/s", "MB/s", "B/rec"],
      summaries.map((s) => [
        s.variant,
        s.records.toLocaleString("en-US"),
        millions(s.recordsPerSec),
        `[${millions(s.minRecordsPerSec)}..${millions(s.maxRecordsPerSec)}]`,
        fixed(1e9 / s.recordsPerSec, 1),
        s.baseline ? "1.00" : fixed(s.ratioToBaseline, 2),
        millions(s.wallRecordsPerSec),
        s.mbPerSec === undefined ? "–" : fixed(s.mbPerSec, 0),
        s.bytesPerRecord === undefined ? "–" : fixed(s.bytesPerRecord, 1),
      ]),
    ),
  );
  if (checks.size > 1) {
    opts.log(
      `\nRESULT MISMATCH in ${section.id}: ${summaries.map((s) => `${s.variant}=${s.check}`).join(", ")}`,
    );
    throw new Error(`variants of section '${section.id}' computed different results`);
  }
  return summaries;
}

function summarise(section: string, v: Variant, runs: Run[]): VariantSummary {
  const rates = runs.map((r) => (r.records / r.ms) * 1000);
  const wall = runs.map((r) => (r.records / (r.wallMs ?? r.ms)) * 1000);
  const withBytes = runs.filter((r) => r.bytes !== undefined && r.bytes > 0);
  const checks = new Set(runs.map((r) => String(r.check)));
  if (checks.size > 1)
    throw new Error(`variant '${v.name}' of '${section}' is not deterministic: ${[...checks]}`);
  return {
    section,
    variant: v.name,
    baseline: v.baseline === true,
    records: runs[0]!.records,
    recordsPerSec: median(rates),
    minRecordsPerSec: Math.min(...rates),
    maxRecordsPerSec: Math.max(...rates),
    ratioToBaseline: Number.NaN,
    wallRecordsPerSec: median(wall),
    mbPerSec: withBytes.length > 0 ? median(withBytes.map((r) => r.bytes! / 1e6 / (r.ms / 1000))) : undefined,
    bytesPerRecord: withBytes.length > 0 ? median(withBytes.map((r) => r.bytes! / r.records)) : undefined,
    check: runs[0]!.check,
    runs: runs.length,
  };
}
