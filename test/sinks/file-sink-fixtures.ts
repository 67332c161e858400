// Shared by the exactly-once file sink tests: a job of numbered, job-labelled records from a gated
// source, rebalanced into the file sink (uid "files"), and readers of the committed and staged
// files of an output directory.

import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  type ExactlyOnceFileSink,
  RestartStrategies,
  type StreamExecutionEnvironment,
  WatermarkStrategy,
} from "../../src/index.ts";
import type { GatedSource } from "../checkpoint/fixtures/gated-source.ts";

export interface Row {
  job: string;
  i: number;
}

/** numbers (gated) -> label with `job` -> rebalance -> the file sink under test. */
export function buildLabelledJob(
  env: StreamExecutionEnvironment,
  source: GatedSource,
  sink: ExactlyOnceFileSink<Row>,
  job: string,
  restarts = 0,
  /** Throw in attempt 0 at the first record for which this returns true. */
  failWhen?: () => boolean,
): void {
  env.setRestartStrategy(
    restarts === 0 ? RestartStrategies.noRestart() : RestartStrategies.fixedDelay(restarts, 10),
  );
  env
    .fromSource(source, WatermarkStrategy.noWatermarks<number>(), "numbers")
    .uid("numbers")
    .map((i: number, ctx): Row => {
      if (ctx.attemptNumber === 0 && failWhen?.() === true)
        throw new Error(`injected failure at record ${i}`);
      return { job, i };
    })
    .uid("label")
    .rebalance()
    .sinkTo(sink, "files")
    .uid("files");
}

/** Every committed row of `dir` (hidden entries, such as .staging/, are not output). */
export function committedRows(dir: string): Row[] {
  if (!existsSync(dir)) return [];
  const rows: Row[] = [];
  for (const f of readdirSync(dir)) {
    if (f.startsWith(".")) continue;
    for (const l of readFileSync(join(dir, f), "utf8").split("\n"))
      if (l.length > 0) rows.push(JSON.parse(l));
  }
  return rows;
}

/** The file names in `dir`/.staging (empty when it does not exist). */
export function stagedFiles(dir: string): string[] {
  const staging = join(dir, ".staging");
  return existsSync(staging) ? readdirSync(staging).sort() : [];
}

/** The rows of `job` are exactly 0..n-1, each once. */
export function assertExactlyOnce(rows: Row[], job: string, n: number): void {
  const seen = new Uint8Array(n);
  for (const r of rows) {
    if (r.job !== job) continue;
    assert.ok(r.i >= 0 && r.i < n, `job ${job}: unexpected record ${r.i}`);
    assert.equal(seen[r.i], 0, `job ${job}: record ${r.i} is in the output twice`);
    seen[r.i] = 1;
  }
  const missing = seen.indexOf(0);
  assert.equal(missing, -1, `job ${job}: record ${missing} is missing from the output`);
}

/**
 * A gate for GatedSource: readers of attempt 0 emit `limit` records in all, then wait until the
 * limit is raised (whichever reader holds which split). Later attempts are not held.
 */
export class Limit {
  /** Records let through so far (attempt 0). */
  passed = 0;
  private waiters: Array<() => void> = [];
  constructor(public limit: number) {}
  gate = ({ attempt }: { attempt: number }): Promise<void> | undefined => {
    if (attempt > 0) return undefined;
    if (this.passed < this.limit) {
      this.passed++;
      return undefined;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  };
  raise(to: number): void {
    this.limit = to;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
