// PostgresCdcSource's reader against a private PostgreSQL 15 cluster (wal_level=logical): the
// initial snapshot then the changelog (+I, -U, +U, -D with table, LSN and commit time), a resume
// from a checkpoint taken inside a transaction (nothing lost or doubled), the slot acknowledged
// only when the checkpoint completes, a schema change refused naming the columns, and TOASTed
// unchanged columns reported absent, and a start at a given LSN (refused before the slot's
// confirmed position).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type ChangeRecord,
  PostgresCdcSource,
  type PostgresCdcSplit,
} from "../../src/connectors/postgres/index.ts";
import { InputStatus, type ReaderOutput, type SourceReader } from "../../src/index.ts";
import { type PrivatePostgres, startPrivatePostgres } from "./private-postgres.ts";

let pgc: PrivatePostgres;
before(async () => {
  pgc = await startPrivatePostgres();
});
after(async () => {
  await pgc?.stop();
});

type Reader = SourceReader<ChangeRecord, PostgresCdcSplit>;

function output(into: ChangeRecord[]): ReaderOutput<ChangeRecord> {
  const out: ReaderOutput<ChangeRecord> = {
    collect: (v) => into.push(v),
    createOutputForSplit: () => out,
    releaseOutputForSplit: () => {},
  };
  return out;
}

/** Poll until `n` records have come (or the reader fails); deadline 30 s. */
async function take(reader: Reader, got: ChangeRecord[], n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  const out = output(got);
  while (got.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${got.length} of ${n} records within 30 s`);
    const s = reader.pollNext(out);
    if (s === InputStatus.END_OF_INPUT) return;
    if (s === InputStatus.NOTHING_AVAILABLE)
      await Promise.race([reader.isAvailable(), new Promise((r) => setTimeout(r, 200))]);
  }
}

function newReader(table: string, slot: string, split?: PostgresCdcSplit, extra = {}): Reader {
  const source = new PostgresCdcSource({ connection: pgc.url, tables: [table], slot, ...extra });
  const reader = source.createReader({ sendSplitRequest() {} } as never);
  const initial: PostgresCdcSplit = split ?? {
    id: slot,
    phase: "new",
    snapshotRows: [],
    startLsn: "0/0",
    lastCommitLsn: "0/0",
    columns: {},
  };
  reader.start();
  reader.addSplits([initial]);
  return reader;
}

const brief = (r: ChangeRecord) => `${r.kind} ${JSON.stringify(r.row)}`;

describe("PostgresCdcSource (private PostgreSQL, pgoutput)", () => {
  it("emits the snapshot, then inserts, updates (before and after) and deletes", async () => {
    await pgc.sql("CREATE TABLE cdc_a (id int PRIMARY KEY, name text)");
    await pgc.sql("ALTER TABLE cdc_a REPLICA IDENTITY FULL");
    await pgc.sql("INSERT INTO cdc_a VALUES (1, 'one'), (2, 'two'), (3, 'three')");
    const reader = newReader("cdc_a", "slot_a");
    const got: ChangeRecord[] = [];
    await take(reader, got, 3);
    assert.deepEqual(got.map(brief).sort(), [
      '+I {"id":1,"name":"one"}',
      '+I {"id":2,"name":"two"}',
      '+I {"id":3,"name":"three"}',
    ]);
    assert.ok(got.every((r) => r.snapshot && r.table === "public.cdc_a"));
    await pgc.sql("INSERT INTO cdc_a VALUES (4, 'four')");
    await pgc.sql("UPDATE cdc_a SET name = 'TWO' WHERE id = 2");
    await pgc.sql("DELETE FROM cdc_a WHERE id = 3");
    await take(reader, got, 7);
    const changes = got.slice(3);
    assert.deepEqual(changes.map(brief), [
      '+I {"id":4,"name":"four"}',
      '-U {"id":2,"name":"two"}',
      '+U {"id":2,"name":"TWO"}',
      '-D {"id":3,"name":"three"}',
    ]);
    for (const c of changes) {
      assert.equal(c.snapshot, false);
      assert.match(c.lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
      assert.ok(Math.abs(c.commitTime - Date.now()) < 60_000, `commit time ${c.commitTime}`);
    }
    await reader.close();
  });

  it("resumes from a checkpoint inside a transaction with nothing lost or doubled; acks on completion", async () => {
    await pgc.sql("CREATE TABLE cdc_b (id int PRIMARY KEY)");
    const reader = newReader("cdc_b", "slot_b", undefined, { bufferSize: 5 });
    const got: ChangeRecord[] = [];
    await take(reader, got, 0);
    // Wait for the slot (the reader creates it in the background).
    for (let i = 0; i < 150; i++) {
      if ((await pgc.sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'slot_b'")).rowCount) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await pgc.sql("INSERT INTO cdc_b SELECT generate_series(1, 20)");
    await pgc.sql("INSERT INTO cdc_b SELECT generate_series(21, 40)");
    await take(reader, got, 27); // inside the second transaction
    const [state] = reader.snapshotState!(1);
    const slotLsn = async () =>
      (
        await pgc.sql(
          "SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = 'slot_b'",
        )
      ).rows[0].l as string;
    const before = await slotLsn();
    await reader.close(); // a crash: checkpoint 1 never completed, the slot was not acknowledged
    assert.equal(await slotLsn(), before);
    assert.equal(state!.partial?.emitted, got.length - 20);
    const emitted = got.map((r) => r.row.id);
    assert.ok(got.length > 20 && got.length < 40, `stopped inside the second transaction (${got.length})`);
    const resumed = newReader("cdc_b", "slot_b", state);
    const rest: ChangeRecord[] = [];
    await take(resumed, rest, 40 - got.length);
    await pgc.sql("INSERT INTO cdc_b VALUES (41)");
    await take(resumed, rest, 41 - got.length);
    assert.deepEqual(
      [...emitted, ...rest.map((r) => r.row.id)],
      Array.from({ length: 41 }, (_, i) => i + 1),
    );
    const [at2] = resumed.snapshotState!(2);
    resumed.notifyCheckpointComplete!(2);
    for (let i = 0; i < 100 && (await slotLsn()) !== at2!.startLsn; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(await slotLsn(), at2!.startLsn, "the slot is confirmed up to the completed checkpoint");
    await resumed.close();
  });

  it("refuses a schema change naming the table and both column lists", async () => {
    await pgc.sql("CREATE TABLE cdc_c (id int PRIMARY KEY)");
    const reader = newReader("cdc_c", "slot_c", undefined, { snapshot: "never" });
    const got: ChangeRecord[] = [];
    for (let i = 0; i < 150; i++) {
      if ((await pgc.sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'slot_c'")).rowCount) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await pgc.sql("ALTER TABLE cdc_c ADD COLUMN extra text");
    await pgc.sql("INSERT INTO cdc_c VALUES (1, 'x')");
    await assert.rejects(take(reader, got, 1), (e: Error) => {
      assert.match(e.message, /columns of table public\.cdc_c changed from \(id\) to \(id, extra\)/);
      assert.match(e.message, /schemaChanges: "follow"/);
      return true;
    });
    await reader.close();
  });

  it("reports TOASTed unchanged columns as absent and names them", async () => {
    await pgc.sql("CREATE TABLE cdc_d (id int PRIMARY KEY, n int, big text)");
    await pgc.sql("ALTER TABLE cdc_d ALTER COLUMN big SET STORAGE EXTERNAL");
    const reader = newReader("cdc_d", "slot_d", undefined, { snapshot: "never" });
    for (let i = 0; i < 150; i++) {
      if ((await pgc.sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'slot_d'")).rowCount) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await pgc.sql("INSERT INTO cdc_d VALUES (1, 0, repeat('x', 10000))");
    await pgc.sql("UPDATE cdc_d SET n = 1 WHERE id = 1");
    const got: ChangeRecord[] = [];
    await take(reader, got, 3);
    const after = got[2]!;
    assert.equal(after.kind, "+U");
    assert.deepEqual(after.row, { id: 1, n: 1 });
    assert.deepEqual(after.unchangedToast, ["big"]);
    assert.equal((got[0]!.row.big as string).length, 10000);
    await reader.close();
  });

  it("starts at a given LSN on an existing slot, and refuses one before the slot's confirmed position", async () => {
    await pgc.sql("CREATE TABLE cdc_e (id int PRIMARY KEY)");
    // pgoutput needs the publication to exist where decoding starts: made before the slot.
    await pgc.sql("CREATE PUBLICATION slot_e_pub FOR TABLE cdc_e");
    await pgc.sql("SELECT pg_create_logical_replication_slot('slot_e', 'pgoutput')");
    await pgc.sql("INSERT INTO cdc_e VALUES (1)");
    const from = (await pgc.sql("SELECT pg_current_wal_lsn()::text AS l")).rows[0].l as string;
    await pgc.sql("INSERT INTO cdc_e VALUES (2)");
    await pgc.sql("INSERT INTO cdc_e VALUES (3)");
    const reader = newReader("cdc_e", "slot_e", undefined, { startLsn: from });
    const got: ChangeRecord[] = [];
    await take(reader, got, 2);
    assert.deepEqual(
      got.map(brief),
      ['+I {"id":2}', '+I {"id":3}'],
      "the transactions committed after the LSN",
    );
    assert.ok(got.every((r) => !r.snapshot));
    await reader.close();

    // The slot moves on; PostgreSQL cannot replay what lies before its confirmed position. (The
    // server releases the slot a moment after the reader's connection closed.)
    for (let i = 0; i < 300; i++) {
      const r = await pgc.sql("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'slot_e'");
      if (r.rows[0].active_pid === null) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    await pgc.sql("SELECT pg_replication_slot_advance('slot_e', pg_current_wal_lsn())");
    const confirmed = (
      await pgc.sql(
        "SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = 'slot_e'",
      )
    ).rows[0].l as string;
    const refused = newReader("cdc_e", "slot_e", undefined, { startLsn: from });
    await assert.rejects(take(refused, [], 1), (e: Error) => {
      assert.match(e.message, new RegExp(`startLsn ${from} is before ${confirmed}`));
      assert.match(e.message, /slot "slot_e"/);
      assert.match(e.message, /cannot replay changes before it/);
      return true;
    });
    await refused.close();

    // A new slot starts now: an older LSN is refused and no slot is left behind.
    const fresh = newReader("cdc_e", "slot_f", undefined, { startLsn: "0/1", publication: "slot_e_pub" });
    await assert.rejects(take(fresh, [], 1), /startLsn 0\/1 is before/);
    await fresh.close();
    assert.equal(
      (await pgc.sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'slot_f'")).rowCount,
      0,
    );
  });

  it("refuses startLsn that is not an LSN, or together with snapshot: initial", () => {
    const opts = { connection: "postgres://u:secret@127.0.0.1:1/x", tables: ["t"], slot: "s" };
    assert.throws(() => new PostgresCdcSource({ ...opts, startLsn: "16B3748" }), /startLsn must be an LSN/);
    assert.throws(
      () => new PostgresCdcSource({ ...opts, startLsn: "0/1", snapshot: "initial" }),
      /startLsn starts without a snapshot/,
    );
  });
});
