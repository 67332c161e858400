// The reader of the PostgreSQL CDC source (one split = one slot). In the background it sets the
// slot up (cdc-slot.ts: slot, publication, snapshot) and streams pgoutput through
// pg-logical-replication into a bounded queue; pollNext emits snapshot rows, then changes, and
// tracks the position (last complete transaction, records emitted of the current one) that
// snapshotState puts in checkpoints. The slot is acknowledged only up to a completed checkpoint's
// position (notifyCheckpointComplete), and a resumed reader skips what it had emitted, by LSN.

import type { LogicalReplicationService, Pgoutput } from "pg-logical-replication";
import {
  InputStatus,
  type ReaderOutput,
  type SourceReader,
  type SourceReaderContext,
} from "../../../index.ts";
import { describeConnection } from "../postgres-session.ts";
import { prepareSlot, publicationOf, replicationConfig } from "./cdc-slot.ts";
import {
  type ChangeRecord,
  PostgresCdcError,
  type PostgresCdcSourceOptions,
  type PostgresCdcSplit,
  lsnString,
  lsnValue,
} from "./cdc-types.ts";

type QueueItem =
  | { kind: "change"; commitLsn: string; record: ChangeRecord }
  | { kind: "commit"; commitLsn: string; endLsn: string };

const PER_POLL = 256;

/** The optional peer, loaded when a reader starts streaming (so the entry point loads without it). */
async function loadDecoder(owner: string): Promise<typeof import("pg-logical-replication")> {
  try {
    return await import("pg-logical-replication");
  } catch (e) {
    throw new PostgresCdcError(
      "INVALID_ARGUMENT",
      `${owner}: cannot load the pgoutput decoder 'pg-logical-replication' (${(e as Error).message}); install it: npm install pg-logical-replication`,
      e,
    );
  }
}

/** The client writes LSNs zero-padded ("00000000/0154A000"); PostgreSQL writes "0/154A000". */
const normal = (lsn: string) => lsnString(lsnValue(lsn));

export class PostgresCdcReader implements SourceReader<ChangeRecord, PostgresCdcSplit> {
  private split: PostgresCdcSplit | undefined;
  private noMoreSplits = false;
  private readonly queue: QueueItem[] = [];
  private failure: unknown;
  private ended = false;
  private closed = false;
  private service: LogicalReplicationService | undefined;
  private wake: (() => void) | undefined;
  private paused = false;
  /** Position of each checkpoint taken, acknowledged to the slot when it completes. */
  private readonly pendingAcks = new Map<number, string>();
  private confirmed = "0/0";
  private pinger: ReturnType<typeof setInterval> | undefined;
  /** Records of the transaction being decoded (to skip a resumed partial transaction). */
  private txn: { commitLsn: string; commitTime: number; index: number; skip: boolean } | undefined;
  private readonly owner: string;

  constructor(
    private readonly options: PostgresCdcSourceOptions,
    private readonly ctx: SourceReaderContext,
  ) {
    this.owner = `PostgresCdcSource(slot "${options.slot}")`;
  }

  start(): void {
    this.ctx.sendSplitRequest();
  }

  addSplits(splits: PostgresCdcSplit[]): void {
    for (const s of splits) {
      if (this.split !== undefined)
        throw new PostgresCdcError("INVALID_ARGUMENT", `${this.owner}: the source has one split (one slot)`);
      this.split = structuredClone(s);
      this.run().catch((e) => this.fail(e));
    }
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.signal();
  }

  private fail(e: unknown): void {
    if (this.closed) return;
    this.failure ??= e;
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async run(): Promise<void> {
    // Prepared on a copy: until the slot (and snapshot) are there, checkpoints hold the "new"
    // split, and a restore from them creates the slot again (nothing was emitted from it yet).
    const split = structuredClone(this.split!);
    await prepareSlot(this.options, split, this.owner);
    if (this.closed) return;
    this.split = split;
    this.confirmed = split.startLsn;
    this.signal();
    const bounded = this.options.stopAtLsn !== undefined;
    const stopAt = (): bigint | undefined => {
      const s = this.options.stopAtLsn;
      const lsn = typeof s === "function" ? s() : s;
      return lsn === undefined ? undefined : lsnValue(lsn);
    };
    const first = stopAt();
    if (first !== undefined && lsnValue(split.startLsn) >= first) {
      this.ended = true;
      this.signal();
      return;
    }
    const { LogicalReplicationService, PgoutputPlugin } = await loadDecoder(this.owner);
    const service = new LogicalReplicationService(replicationConfig(this.options.connection), {
      acknowledge: { auto: false, timeoutSeconds: 0 },
      // No flow control: with it, data messages are decoded asynchronously while keepalives are
      // not, and a keepalive past stopAtLsn would end the reading before data queued ahead of it.
      // Backpressure pauses the socket instead (pauseStream).
      flowControl: { enabled: false },
    });
    this.service = service;
    service.on("error", (e: Error) => this.fail(this.ioError("the replication stream failed", e)));
    service.on("data", (_lsn: string, msg: Pgoutput.Message) => {
      this.decode(msg, stopAt);
      if (this.queue.length > (this.options.bufferSize ?? 2000)) this.pauseStream(true);
    });
    service.on("heartbeat", (lsn: string, _ts: number, respond: boolean) => {
      const end = stopAt();
      if (end !== undefined && lsnValue(lsn) >= end && this.txn === undefined) this.finishAt();
      if (respond) void this.ack(this.confirmed, false);
    });
    if (bounded) this.pinger = setInterval(() => void this.ack(this.confirmed, true), 100);
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publicationOf(this.options)] });
    await service.subscribe(plugin, split.id, split.startLsn);
  }

  /** Stop (or resume) reading the replication socket: what the client's own flow control does. */
  private pauseStream(pause: boolean): void {
    const conn = (
      this.service as unknown as { _connection?: { stream?: { pause?(): void; resume?(): void } } }
    )?._connection;
    if (pause) conn?.stream?.pause?.();
    else conn?.stream?.resume?.();
    this.paused = pause;
  }

  private finishAt(): void {
    this.queue.push({ kind: "commit", commitLsn: "end", endLsn: "end" });
    this.signal();
  }

  private ioError(what: string, e: unknown): PostgresCdcError {
    return new PostgresCdcError(
      "IO",
      `${this.owner}: ${what} (PostgreSQL at ${describeConnection(this.options.connection)}): ${(e as Error)?.message ?? String(e)}; the job restarts per its restart strategy and resumes from its checkpoint`,
      e,
    );
  }

  /** One pgoutput message into the queue (skipping what a resumed reader emitted before). */
  private decode(msg: Pgoutput.Message, stopAtLsn: () => bigint | undefined): void {
    const split = this.split!;
    switch (msg.tag) {
      case "begin": {
        const commitLsn = normal(msg.commitLsn ?? "0/0");
        const stopAt = stopAtLsn();
        if (stopAt !== undefined && lsnValue(commitLsn) >= stopAt) {
          this.finishAt();
          this.txn = { commitLsn, commitTime: 0, index: 0, skip: true };
          return;
        }
        const done = lsnValue(commitLsn) <= lsnValue(split.lastCommitLsn);
        this.txn = {
          commitLsn,
          commitTime: Number(BigInt(msg.commitTime as bigint) / 1000n),
          index: 0,
          skip: done,
        };
        return;
      }
      case "commit": {
        const t = this.txn;
        this.txn = undefined;
        if (t === undefined || t.skip) return;
        this.queue.push({
          kind: "commit",
          commitLsn: t.commitLsn,
          endLsn: normal(msg.commitEndLsn ?? t.commitLsn),
        });
        this.signal();
        return;
      }
      case "relation":
        this.checkSchema(msg);
        return;
      case "insert":
        this.push(msg.relation, "+I", msg.new);
        return;
      case "update": {
        const keyCols = msg.relation.keyColumns;
        const before = msg.old ?? msg.key ?? Object.fromEntries(keyCols.map((k) => [k, msg.new[k]]));
        this.push(msg.relation, "-U", before);
        this.push(msg.relation, "+U", msg.new);
        return;
      }
      case "delete":
        this.push(msg.relation, "-D", msg.old ?? msg.key ?? {});
        return;
      default:
        return; // type, origin, message, truncate: not part of the changelog
    }
  }

  private checkSchema(rel: Pgoutput.MessageRelation): void {
    const split = this.split!;
    const table = `${rel.schema}.${rel.name}`;
    const now = rel.columns.map((c) => c.name);
    const before = split.columns[table];
    if (
      before !== undefined &&
      before.join(",") !== now.join(",") &&
      this.options.schemaChanges !== "follow"
    ) {
      this.fail(
        new PostgresCdcError(
          "INVALID_ARGUMENT",
          `${this.owner}: the columns of table ${table} changed from (${before.join(", ")}) to (${now.join(", ")}) at LSN ${this.txn?.commitLsn ?? "?"}; the changelog's record shape would change. Update the job for the new columns and start it with schemaChanges: "follow", or start it without a checkpoint (a new snapshot)`,
        ),
      );
      return;
    }
    split.columns[table] = now;
  }

  private push(
    rel: Pgoutput.MessageRelation,
    kind: ChangeRecord["kind"],
    tuple: Record<string, unknown>,
  ): void {
    const t = this.txn;
    if (t === undefined || t.skip) return;
    const index = t.index++;
    const partial = this.split!.partial;
    if (partial !== undefined && partial.commitLsn === t.commitLsn && index < partial.emitted) return;
    const row: Record<string, unknown> = {};
    let unchanged: string[] | undefined;
    for (const k of Object.keys(tuple)) {
      if (tuple[k] === undefined) (unchanged ??= []).push(k);
      else row[k] = tuple[k];
    }
    const record: ChangeRecord = {
      kind,
      table: `${rel.schema}.${rel.name}`,
      row,
      lsn: t.commitLsn,
      commitTime: t.commitTime,
      snapshot: false,
    };
    if (unchanged !== undefined) record.unchangedToast = unchanged;
    this.queue.push({ kind: "change", commitLsn: t.commitLsn, record });
    this.signal();
  }

  pollNext(output: ReaderOutput<ChangeRecord>): InputStatus {
    if (this.failure !== undefined) throw this.failure;
    const split = this.split;
    if (split === undefined)
      return this.noMoreSplits ? InputStatus.END_OF_INPUT : InputStatus.NOTHING_AVAILABLE;
    let n = 0;
    const perPoll = Math.min(PER_POLL, this.options.bufferSize ?? PER_POLL);
    while (split.snapshotRows.length > 0 && n++ < perPoll) {
      const { table, row } = split.snapshotRows.shift()!;
      output.collect({ kind: "+I", table, row, lsn: "0/0", commitTime: 0, snapshot: true }, 0);
    }
    if (split.snapshotRows.length > 0) return InputStatus.MORE_AVAILABLE;
    if (split.phase === "snapshot") split.phase = "stream";
    while (this.queue.length > 0 && n++ < perPoll) {
      const item = this.queue.shift()!;
      if (item.kind === "commit") {
        if (item.commitLsn === "end") {
          this.ended = true;
          this.queue.length = 0;
          break;
        }
        split.lastCommitLsn = item.commitLsn;
        split.startLsn = item.endLsn;
        split.partial = undefined;
        continue;
      }
      const p = split.partial;
      split.partial = {
        commitLsn: item.commitLsn,
        emitted: p?.commitLsn === item.commitLsn ? p.emitted + 1 : 1,
      };
      output.collect(item.record, item.record.commitTime);
    }
    if (this.paused && this.queue.length < (this.options.bufferSize ?? 2000) / 2) this.pauseStream(false);
    if (this.ended && this.queue.length === 0) return InputStatus.END_OF_INPUT;
    return this.queue.length > 0 ? InputStatus.MORE_AVAILABLE : InputStatus.NOTHING_AVAILABLE;
  }

  isAvailable(): Promise<void> {
    if (this.failure !== undefined || this.ended || this.queue.length > 0) return Promise.resolve();
    if (this.split !== undefined && this.split.phase !== "new" && this.split.snapshotRows.length > 0)
      return Promise.resolve();
    return new Promise((r) => {
      this.wake = r;
    });
  }

  snapshotState(checkpointId: number): PostgresCdcSplit[] {
    if (this.split === undefined) return [];
    this.pendingAcks.set(checkpointId, this.split.startLsn);
    return [structuredClone(this.split)];
  }

  /** The slot may let go of WAL up to this checkpoint's position (never before it completed). */
  notifyCheckpointComplete(checkpointId: number): void {
    let lsn: string | undefined;
    for (const [id, l] of this.pendingAcks) {
      if (id > checkpointId) continue;
      lsn = l;
      this.pendingAcks.delete(id);
    }
    if (lsn === undefined || lsnValue(lsn) <= lsnValue(this.confirmed)) return;
    this.confirmed = lsn;
    void this.ack(lsn, false);
  }

  private async ack(lsn: string, ping: boolean): Promise<void> {
    // The client reports lsn + 1 as flushed: report the position itself.
    const v = lsnValue(lsn);
    await this.service?.acknowledge(lsnString(v > 0n ? v - 1n : 0n), ping).catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pinger !== undefined) clearInterval(this.pinger);
    await this.service?.destroy().catch(() => {});
  }
}
