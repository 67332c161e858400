// The PostgreSQL CDC source's public shapes: its options, the changelog record it emits, the
// split (one replication slot) with its position as stored in checkpoints, LSN arithmetic, and
// the typed error naming slot, server and what to do.

import { WeirError } from "../../../index.ts";
import type { PostgresConnection } from "../postgres-session.ts";

export interface PostgresCdcSourceOptions {
  /** A connection string or node-postgres client options (the user needs the REPLICATION attribute). */
  connection: PostgresConnection;
  /** Tables captured ("name" or "schema.name"); the publication is created FOR these tables if missing. */
  tables: readonly string[];
  /** The logical replication slot (owned by the source: a job started without a checkpoint recreates it). */
  slot: string;
  /** The publication (default "<slot>_pub"). */
  publication?: string;
  /** "initial" (default): emit the tables' rows as of the slot's start, then stream; "never": stream only. */
  snapshot?: "initial" | "never";
  /**
   * Start (without a checkpoint) at the first transaction committed at or after this LSN, with no
   * snapshot. An existing slot of that name is kept and read from there; PostgreSQL cannot go back
   * before the slot's confirmed_flush_lsn (or a new slot's start), so an earlier LSN is refused.
   */
  startLsn?: string;
  /** A relation message with other columns than before: "fail" (default) or "follow" (emit the new shape). */
  schemaChanges?: "fail" | "follow";
  /**
   * Bounded reading: end once every transaction committed before this LSN is emitted. A function
   * is asked again as changes come (undefined: not known yet), e.g. a backfill that learns its end
   * later.
   */
  stopAtLsn?: string | (() => string | undefined);
  /** Changes buffered before the replication stream is paused (default 2000). */
  bufferSize?: number;
}

/** Flink's row kinds: insert, update-before, update-after, delete. */
export type ChangeKind = "+I" | "-U" | "+U" | "-D";

export interface ChangeRecord {
  kind: ChangeKind;
  /** "schema.table". */
  table: string;
  /**
   * The row: the new row for +I/+U; the old row for -U/-D (all columns with REPLICA IDENTITY FULL,
   * else only the replica identity's key columns).
   */
  row: Record<string, unknown>;
  /** The commit LSN of the transaction ("0/0" for rows of the initial snapshot). */
  lsn: string;
  /** The transaction's commit time, epoch ms (0 for rows of the initial snapshot). */
  commitTime: number;
  /** A row of the initial snapshot. */
  snapshot: boolean;
  /** Columns of a +U whose TOASTed value did not change and was not sent (absent from `row`). */
  unchangedToast?: string[];
}

/** Progress of the one split, as kept in checkpoints. */
export interface PostgresCdcSplit {
  /** The slot name. */
  id: string;
  /** "new": nothing read yet (create the slot); "snapshot": snapshot rows remain; "stream". */
  phase: "new" | "snapshot" | "stream";
  /** Snapshot rows not emitted yet (held in the checkpoint until they are). */
  snapshotRows: Array<{ table: string; row: Record<string, unknown> }>;
  /** Where streaming (re)starts: the end LSN of the last transaction emitted completely. */
  startLsn: string;
  /** The commit LSN of the last transaction emitted completely (transactions up to it are skipped). */
  lastCommitLsn: string;
  /** The transaction being emitted at the checkpoint: its records up to `emitted` are skipped on resume. */
  partial?: { commitLsn: string; emitted: number };
  /** Known columns per table, to tell a schema change. */
  columns: Record<string, string[]>;
}

export class PostgresCdcError extends WeirError {
  constructor(code: "INVALID_ARGUMENT" | "IO", message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}

/** An LSN "X/Y" as a bigint. */
export function lsnValue(lsn: string): bigint {
  const [hi, lo] = lsn.split("/");
  if (hi === undefined || lo === undefined)
    throw new PostgresCdcError("INVALID_ARGUMENT", `not an LSN: "${lsn}"`);
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

export function lsnString(v: bigint): string {
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}
