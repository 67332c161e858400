// Exactly-once end to end against a private PostgreSQL 15 cluster: PostgreSQL CDC (a table's
// snapshot, then a seeded script of inserts, updates and deletes) → per-user running totals in
// keyed state → PostgresXaSink appending one ledger row per change. A run whose stateful operator
// fails at seeded random moments (the seed is printed; WEIR_PG_SEED replays it) restores from
// its checkpoints each time — the source resumes at the checkpointed LSN, the sink commits the
// restored checkpoint's prepared transactions and rolls back the others — and its ledger must
// equal a failure-free run's. A second run executes the same pipeline (fixtures/pg-ledger-job.ts)
// on worker threads and kills worker threads at seeded moments once ledger rows are committed
// (the same seed draws them).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type ChangeRecord, PostgresCdcSource, PostgresXaSink } from "../../src/connectors/postgres/index.ts";
import {
  type KeyedProcessFunction,
  RestartStrategies,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from "../../src/index.ts";
import type { PgLedgerParams } from "./fixtures/pg-ledger-job.ts";
import { type PrivatePostgres, startPrivatePostgres } from "./private-postgres.ts";
import {
  assertEveryKillEndedItsAttempt,
  planKills,
  runWithWorkerKills,
  seededRandom,
} from "./worker-kills.ts";
import { prng as mulberry32 } from "../fixtures/helpers.ts";

const USERS = 7;
const INITIAL = 150;
const TRANSACTIONS = 120;
const FAILURES = 3;

const seed = Number(process.env.WEIR_PG_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`# postgres exactly-once seed ${seed} (replay with WEIR_PG_SEED=${seed})`);

const random = mulberry32(seed);
const pick = (n: number) => Math.floor(random() * n);

/** The change script: transactions of 1-4 statements on ids 0..(INITIAL + inserts). */
const script: string[][] = [];
{
  let next = INITIAL;
  for (let t = 0; t < TRANSACTIONS; t++) {
    const stmts: string[] = [];
    for (let k = 0, n = 1 + pick(4); k < n; k++) {
      const r = random();
      if (r < 0.4) stmts.push(`INSERT INTO $T VALUES (${next++}, 'u${pick(USERS)}', ${1 + pick(100)})`);
      else if (r < 0.8) stmts.push(`UPDATE $T SET amount = amount + ${1 + pick(9)} WHERE id = ${pick(next)}`);
      else stmts.push(`DELETE FROM $T WHERE id = ${pick(next)}`);
    }
    script.push(stmts);
  }
}

let pgc: PrivatePostgres;
let dir: string;
let expected: string[];

before(async () => {
  pgc = await startPrivatePostgres();
  dir = mkdtempSync(join(tmpdir(), "weir-pg-eo-"));
  expected = await run("clean", []);
  assert.ok(expected.length > INITIAL + TRANSACTIONS, `the failure-free run wrote ${expected.length} rows`);
});

after(async () => {
  await pgc?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface LedgerRow {
  usr: string;
  n: number;
  total: number;
  kind: string;
  id: number;
}

function spin(micros: number): void {
  const until = performance.now() + micros / 1000;
  while (performance.now() < until) {}
}

/** One run on its own source table, slot and ledger; the ledger's rows, sorted. */
async function run(name: string, failAt: number[]): Promise<string[]> {
  const { src, ledger, slot } = await createTables(name);
  let stop: string | undefined;
  const env = new StreamExecutionEnvironment({
    parallelism: 2,
    checkpointDirectory: mkdtempSync(join(dir, "cp-")),
  });
  env.enableCheckpointing(20);
  env.getCheckpointConfig().setTolerableCheckpointFailureNumber(100);
  env.setRestartStrategy(RestartStrategies.fixedDelay(failAt.length + 2, 50));
  // Both subtasks of "totals" share this function object, so the bookkeeping is per checkpoint id
  // (counting completions counted each checkpoint twice, once per subtask).
  const fresh = (attempt: number) => ({
    attempt,
    records: 0,
    afterFirst: new Set<number>(),
    restorable: false,
  });
  let current = fresh(-1);
  const snapshotted = new Set<number>();
  let injected = 0;
  const totals: KeyedProcessFunction<string, ChangeRecord, LedgerRow> & {
    initializeState(): void;
    snapshotState(c: { checkpointId: number }): void;
    notifyCheckpointComplete(checkpointId: number): void;
  } = {
    processElement(c, ctx, out) {
      const attempt = ctx.runtime.attemptNumber;
      if (current.attempt !== attempt) current = fresh(attempt);
      const n = ++current.records;
      // Fail only once a checkpoint taken after the source had its slot and snapshot completed:
      // a restart from one taken before makes a new snapshot (correct, but not comparable with
      // the clean run's). A checkpoint was taken after that if a record had been processed when
      // its first subtask snapshotted (all records follow an earlier barrier on every channel).
      if (attempt < failAt.length && n >= failAt[attempt]! && current.restorable)
        throw new Error(`injected failure ${++injected} at record ${n} of attempt ${attempt}`);
      spin(600);
      const total = ctx.runtime.getState(new ValueStateDescriptor<number>("total"));
      const count = ctx.runtime.getState(new ValueStateDescriptor<number>("count"));
      const sign = c.kind === "+I" || c.kind === "+U" ? 1 : -1;
      const t = (total.value() ?? 0) + sign * Number(c.row.amount);
      const k = (count.value() ?? 0) + 1;
      total.update(t);
      count.update(k);
      out.collect({ usr: String(c.row.usr), n: k, total: t, kind: c.kind, id: Number(c.row.id) });
    },
    initializeState() {},
    snapshotState({ checkpointId }) {
      if (snapshotted.has(checkpointId)) return;
      snapshotted.add(checkpointId);
      if (current.records > 0) current.afterFirst.add(checkpointId);
    },
    notifyCheckpointComplete(checkpointId) {
      if (current.afterFirst.has(checkpointId)) current.restorable = true;
    },
  };
  env
    .fromSource(
      new PostgresCdcSource({ connection: pgc.url, tables: [src], slot, stopAtLsn: () => stop }),
      "cdc",
    )
    .uid("cdc")
    .keyBy((c: ChangeRecord) => String(c.row.usr))
    .process<LedgerRow>(totals, "totals")
    .uid("totals")
    .sinkTo(
      new PostgresXaSink({
        connection: pgc.url,
        table: ledger,
        columns: ["usr", "n", "total", "kind", "id"],
      }),
    )
    .uid("ledger");
  const job = env.execute(`pg-eo-${name}`);
  stop = await runScript(src, slot);
  const r = await job;
  // An attempt may end before its failure is due (it needs two completed checkpoints first).
  console.log(`# run ${name}: ${injected} failures injected, ${r.restarts} restarts`);
  assert.equal(r.restarts, injected, `one restart per injected failure in run ${name} (seed ${seed})`);
  if (failAt.length > 0) assert.ok(injected >= 1, `at least one failure injected (seed ${seed})`);
  return ledgerContent(ledger);
}

/** The run's source table (with its INITIAL rows), ledger table and slot name. */
async function createTables(name: string): Promise<{ src: string; ledger: string; slot: string }> {
  const src = `src_${name}`;
  const ledger = `ledger_${name}`;
  const slot = `slot_${name}`;
  await pgc.sql(`CREATE TABLE ${src} (id int PRIMARY KEY, usr text NOT NULL, amount int NOT NULL)`);
  await pgc.sql(`ALTER TABLE ${src} REPLICA IDENTITY FULL`);
  const init = mulberry32(seed ^ 0x5eed);
  for (let i = 0; i < INITIAL; i++)
    await pgc.sql(`INSERT INTO ${src} VALUES ($1, $2, $3)`, [
      i,
      `u${Math.floor(init() * USERS)}`,
      1 + Math.floor(init() * 100),
    ]);
  await pgc.sql(`CREATE TABLE ${ledger} (usr text, n int, total int, kind text, id int)`);
  return { src, ledger, slot };
}

/** Once the job has created its slot: the change script's transactions; then the LSN after them. */
async function runScript(src: string, slot: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  while ((await pgc.sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [slot])).rowCount === 0) {
    if (Date.now() > deadline) throw new Error(`slot ${slot} not created within 60 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const stmts of script) {
    await pgc.sql("BEGIN");
    for (const s of stmts) await pgc.sql(s.replace("$T", src));
    await pgc.sql("COMMIT");
  }
  return (await pgc.sql("SELECT pg_current_wal_lsn()::text AS l")).rows[0].l;
}

async function ledgerContent(ledger: string): Promise<string[]> {
  const rows = await pgc.sql(`SELECT usr, n, total, kind, id FROM ${ledger}`);
  const left = await pgc.sql("SELECT gid FROM pg_prepared_xacts");
  assert.equal(left.rowCount, 0, "no prepared transaction is left behind");
  return rows.rows.map((x) => JSON.stringify(x)).sort();
}

describe("exactly-once PostgreSQL CDC → keyed state → PostgreSQL XA", () => {
  it("an operator failing at seeded random moments: the ledger equals the failure-free run's", async () => {
    const total = expected.length;
    // Each attempt fails within its first 1/(FAILURES + 1) of the records, so every attempt gets there.
    const failAt = Array.from({ length: FAILURES }, () => 10 + pick(Math.floor(total / (FAILURES + 1)) - 10));
    console.log(`# failures at records ${failAt.join(", ")} of attempts 0..${FAILURES - 1}`);
    const got = await run("faulty", failAt);
    assert.equal(got.length, expected.length, `no change lost or doubled (seed ${seed})`);
    assert.deepEqual(got, expected, `the ledger equals the failure-free run's (seed ${seed})`);
  });

  it("worker threads killed at seeded moments: the ledger equals the failure-free run's", async () => {
    const { src, ledger, slot } = await createTables("killed");
    // Kills wait for committed ledger rows: a checkpoint taken after the slot existed completed,
    // so a restore continues the slot (an earlier one would take a new snapshot, not comparable).
    const kills = planKills(seededRandom(seed ^ 0x6b11), 2, expected.length, 2);
    const stopFile = join(dir, "killed-stop-lsn");
    const params: PgLedgerParams = {
      url: pgc.url,
      source: src,
      ledger,
      slot,
      stopFile,
      checkpoints: mkdtempSync(join(dir, "cp-")),
      spinMicros: 600,
      restarts: 5,
    };
    const job = runWithWorkerKills({
      job: fileURLToPath(new URL("./fixtures/pg-ledger-job.ts", import.meta.url)),
      envVar: "WEIR_PG_JOB",
      params,
      parallelism: 2,
      kills,
      progress: async () => Number((await pgc.sql(`SELECT count(*) AS n FROM ${ledger}`)).rows[0].n),
    });
    writeFileSync(stopFile, await runScript(src, slot));
    const r = await job;
    console.log(
      `# kills ${kills.map((k) => `slot ${k.slot} after ${k.after} rows`).join(", ")}: ${r.killed} killed, ${r.restarts} restarts`,
    );
    assert.equal(r.status, "FINISHED", `seed ${seed}`);
    assertEveryKillEndedItsAttempt(r, `seed ${seed}`);
    const got = await ledgerContent(ledger);
    assert.equal(got.length, expected.length, `no change lost or doubled (seed ${seed})`);
    assert.deepEqual(got, expected, `the ledger equals the failure-free run's (seed ${seed})`);
  });
});
