// The generic idempotent upsert sink without an external system: an in-memory keyed table. A
// keyed running total written as upserts converges to the per-key totals across a failure.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type DataStream, UpsertSink } from "../../src/index.ts";
import { type Event, type Totals, expectedTotals, withEventJob } from "./sink-jobs.ts";

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

class MemoryTable {
  readonly rows = new Map<string, Totals>();
  batches: Totals[][] = [];
  async upsert(rows: Totals[]): Promise<void> {
    await delay(1);
    const keys = new Set(rows.map((r) => r.key));
    assert.equal(keys.size, rows.length, "a batch holds one row per key");
    this.batches.push(rows);
    for (const r of rows) this.rows.set(r.key, { ...r });
  }
  sorted(): Totals[] {
    return [...this.rows.values()].sort((a, b) => a.key.localeCompare(b.key));
  }
}

function totalsJob(
  table: MemoryTable,
  sink = new UpsertSink<Totals>({ key: (t) => t.key, upsert: (rows) => table.upsert(rows) }),
) {
  return (events: DataStream<Event>) =>
    events
      .map((e): Totals => ({ key: e.key, count: 1, sum: e.value }))
      .keyBy((t) => t.key)
      .reduce((a, b) => ({ key: a.key, count: a.count + b.count, sum: a.sum + b.sum }))
      .uid("totals")
      .sinkTo(sink)
      .uid("upserts");
}

describe("UpsertSink", () => {
  it("converges to the per-key totals across a failure (p=2, checkpoints)", async () => {
    const table = new MemoryTable();
    const r = await withEventJob(
      { events: 3000, keys: 11, parallelism: 2, throwAt: 1400 },
      totalsJob(table),
      (env) => env.execute("upsert-failure"),
    );
    assert.equal(r.restarts, 1);
    assert.deepEqual(table.sorted(), expectedTotals(3000, 11));
    // Last write wins within a batch: far fewer rows are written than records.
    const written = table.batches.reduce((n, b) => n + b.length, 0);
    assert.ok(written < 3000, `${written} rows written for 3000 records`);
  });

  it("without checkpoints: flushes when maxBufferedRows keys are buffered, and at the end", async () => {
    const table = new MemoryTable();
    await withEventJob(
      { events: 1000, keys: 50, parallelism: 1, checkpointInterval: 0, recordsPerSecond: 100_000 },
      totalsJob(
        table,
        new UpsertSink<Totals>({
          key: (t) => t.key,
          upsert: (rows) => table.upsert(rows),
          maxBufferedRows: 20,
        }),
      ),
      (env) => env.execute("upsert-early"),
    );
    assert.deepEqual(table.sorted(), expectedTotals(1000, 50));
    assert.ok(table.batches.length > 1);
    for (const b of table.batches) assert.ok(b.length <= 20);
  });

  it("a failing upsert fails the job with its error", async () => {
    await assert.rejects(
      withEventJob(
        { events: 300, keys: 5, parallelism: 1, restarts: 0 },
        totalsJob(
          new MemoryTable(),
          new UpsertSink<Totals>({
            key: (t) => t.key,
            async upsert() {
              throw new Error("upsert refused");
            },
          }),
        ),
        (env) => env.execute("upsert-fails"),
      ),
      /upsert refused/,
    );
  });

  it("refuses bad options", () => {
    assert.throws(() => new UpsertSink({ upsert: () => {} } as never), /needs key/);
    assert.throws(() => new UpsertSink({ key: (x: unknown) => x } as never), /needs upsert/);
    assert.throws(
      () => new UpsertSink({ key: (x) => x, upsert: () => {}, maxBufferedRows: 0 }),
      /maxBufferedRows must be a positive integer/,
    );
  });
});
