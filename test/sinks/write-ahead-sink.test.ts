// The generic write-ahead-log sink without an external system: an in-memory "database" with a
// committed-transactions set. Values arrive once per completed checkpoint, exactly once across
// an injected failure; the job does not finish before the final commit is durable.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WriteAheadSink, type WriteAheadTransaction } from "../../src/index.ts";
import { type Event, withEventJob } from "./sink-jobs.ts";

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An idempotent target: a transaction id seen before is skipped. */
class MemoryDatabase {
  readonly rows: number[] = [];
  readonly committed = new Set<string>();
  sends = 0;
  skipped = 0;
  async sendValues(values: Event[], _checkpointId: number, _subtask: number, txn: string): Promise<void> {
    this.sends++;
    await delay(2);
    if (this.committed.has(txn)) {
      this.skipped++;
      return;
    }
    this.committed.add(txn);
    for (const v of values) this.rows.push(v.id);
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("WriteAheadSink", () => {
  it("writes every record exactly once across a failure (p=2, checkpoints, restore)", async () => {
    const db = new MemoryDatabase();
    const r = await withEventJob(
      { events: 3000, keys: 7, parallelism: 2, throwAt: 1700 },
      (events) =>
        events
          .keyBy((e) => e.key)
          .sinkTo(new WriteAheadSink<Event>({ sendValues: (v, c, s, t) => db.sendValues(v, c, s, t) }))
          .uid("wal"),
      (env) => env.execute("wal-failure"),
    );
    assert.equal(r.restarts, 1);
    assert.deepEqual(
      [...db.rows].sort((a, b) => a - b),
      range(3000),
    );
    assert.ok(db.committed.size >= 4, `values were sent per checkpoint (${db.committed.size} transactions)`);
  });

  it("transaction ids name job, operator uid, run, subtask and checkpoint", async () => {
    const seen: WriteAheadTransaction<number>[] = [];
    await withEventJob(
      { events: 500, keys: 3, parallelism: 2, recordsPerSecond: 5000 },
      (events) =>
        events
          .map((e) => e.id)
          .sinkTo(
            new WriteAheadSink<number>({
              sendValues(values, checkpointId, subtask, transactionId) {
                seen.push({ values, checkpointId, subtask, transactionId });
              },
            }),
          )
          .uid("ids-sink"),
      (env) => env.execute("txn-ids"),
    );
    assert.ok(seen.length > 0);
    for (const t of seen) {
      const chk = t.checkpointId === Number.MAX_SAFE_INTEGER ? "final" : String(t.checkpointId);
      assert.match(t.transactionId, new RegExp(`^txn-ids/ids-sink/[0-9a-f-]{36}/${t.subtask}/${chk}$`));
    }
    assert.equal(new Set(seen.map((t) => t.transactionId)).size, seen.length, "ids are unique");
    assert.deepEqual(
      seen.flatMap((t) => t.values).sort((a, b) => a - b),
      range(500),
    );
  });

  it("the job finishes only after the final (slow, asynchronous) commit is durable", async () => {
    const rows: number[] = [];
    await withEventJob(
      { events: 200, keys: 3, parallelism: 2, checkpointInterval: 0 },
      (events) =>
        events.sinkTo(
          new WriteAheadSink<Event>({
            async sendValues(values) {
              await delay(150);
              for (const v of values) rows.push(v.id);
            },
          }),
        ),
      (env) => env.execute("slow-final"),
    );
    assert.equal(rows.length, 200);
  });

  it("a failing commit fails the job with the sender's error", async () => {
    await assert.rejects(
      withEventJob(
        { events: 100, keys: 3, parallelism: 1, checkpointInterval: 0, restarts: 0 },
        (events) =>
          events.sinkTo(
            new WriteAheadSink<Event>({
              async sendValues() {
                await delay(5);
                throw new Error("the external system said no");
              },
            }),
          ),
        (env) => env.execute("failing-commit"),
      ),
      /the external system said no/,
    );
  });

  it("refuses options without a sender", () => {
    assert.throws(() => new WriteAheadSink({} as never), /WriteAheadSink needs/);
  });
});
