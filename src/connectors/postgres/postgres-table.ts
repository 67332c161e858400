// How a sink's records become rows of one PostgreSQL table: the column mapping, the check of the
// configuration against the catalog (table, columns, the unique key an upsert needs), and batched
// INSERT statements (ON CONFLICT (key columns) DO UPDATE for upserts).

import type pg from "pg";
import { InvalidArgumentError } from "../../index.ts";
import { PostgresSinkError } from "./postgres-sink-error.ts";
import { type PostgresSession, quoteName } from "./postgres-session.ts";

/**
 * Which columns a record fills: column names (the record's properties of the same names), or
 * column name → a function of the record.
 */
export type ColumnMapping<T> = readonly string[] | Readonly<Record<string, (record: T) => unknown>>;

/** PostgreSQL takes at most 65535 parameters per statement. */
const MAX_PARAMETERS = 65_535;

export class TableMapping<T> {
  readonly columns: string[];
  private readonly extract: Array<(record: T) => unknown>;
  private readonly keyIndexes: number[];
  private readonly rowsPerStatement: number;
  private readonly sqlCache = new Map<number, string>();

  constructor(
    readonly owner: string,
    readonly table: string,
    mapping: ColumnMapping<T>,
    readonly keyColumns: readonly string[] | undefined,
    batchSize: number,
  ) {
    if (typeof table !== "string" || table.length === 0)
      throw new InvalidArgumentError(
        `${owner}: table must be a non-empty table name ("name" or "schema.name")`,
      );
    if (Array.isArray(mapping)) {
      this.columns = [...(mapping as string[])];
      this.extract = this.columns.map((c) => (r: T) => (r as Record<string, unknown>)[c]);
    } else if (typeof mapping === "object" && mapping !== null) {
      const entries = Object.entries(mapping as Record<string, (record: T) => unknown>);
      for (const [c, f] of entries)
        if (typeof f !== "function")
          throw new InvalidArgumentError(
            `${owner}: column "${c}" of table "${table}" must map to a function of the record`,
          );
      this.columns = entries.map(([c]) => c);
      this.extract = entries.map(([, f]) => f);
    } else {
      throw new InvalidArgumentError(
        `${owner}: columns must be column names or { column: (record) => value }`,
      );
    }
    if (this.columns.length === 0)
      throw new InvalidArgumentError(`${owner}: no columns given for table "${table}"`);
    if (new Set(this.columns).size !== this.columns.length)
      throw new InvalidArgumentError(
        `${owner}: a column of table "${table}" is listed twice: ${this.columns.join(", ")}`,
      );
    this.keyIndexes = [];
    if (keyColumns !== undefined) {
      if (keyColumns.length === 0)
        throw new InvalidArgumentError(
          `${owner}: keyColumns of table "${table}" must name at least one column`,
        );
      for (const k of keyColumns) {
        const i = this.columns.indexOf(k);
        if (i < 0)
          throw new InvalidArgumentError(
            `${owner}: key column "${k}" of table "${table}" is not among the mapped columns (${this.columns.join(", ")})`,
          );
        this.keyIndexes.push(i);
      }
    }
    if (!(Number.isInteger(batchSize) && batchSize > 0))
      throw new InvalidArgumentError(`${owner}: batchSize must be a positive integer, got ${batchSize}`);
    this.rowsPerStatement = Math.max(
      1,
      Math.min(batchSize, Math.floor(MAX_PARAMETERS / this.columns.length)),
    );
  }

  row(record: T): unknown[] {
    const out = new Array<unknown>(this.extract.length);
    for (let i = 0; i < out.length; i++) out[i] = this.extract[i]!(record) ?? null;
    return out;
  }

  /** The upsert key of a record (the key columns' values). */
  key(record: T): string {
    const row = this.row(record);
    return JSON.stringify(this.keyIndexes.map((i) => row[i]));
  }

  /** Check the table and columns against the catalog; an upsert also needs a unique key on keyColumns. */
  async validate(session: PostgresSession): Promise<void> {
    const where = `table "${this.table}"`;
    const rel = await session.query(
      `look up ${where}`,
      "SELECT c.oid, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
      [quoteName(this.table)],
    );
    if (rel.rowCount === 0) {
      throw new PostgresSinkError(
        "INVALID_ARGUMENT",
        `${this.owner}: ${where} does not exist (names are used exactly as written, case-sensitive); create it before the job runs`,
        { table: this.table },
      );
    }
    const oid = (rel.rows[0] as { oid: number }).oid;
    const cols = await session.query(
      `read the columns of ${where}`,
      "SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
      [oid],
    );
    const have = cols.rows.map((r: { attname: string }) => r.attname);
    for (const c of this.columns) {
      if (!have.includes(c)) {
        throw new PostgresSinkError(
          "INVALID_ARGUMENT",
          `${this.owner}: ${where} has no column "${c}" (its columns: ${have.join(", ")}); fix the column mapping or the table`,
          { table: this.table, column: c },
        );
      }
    }
    if (this.keyColumns === undefined) return;
    const idx = await session.query(
      `read the unique indexes of ${where}`,
      `SELECT array_agg(a.attname::text ORDER BY a.attname) AS cols
         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
        GROUP BY i.indexrelid`,
      [oid],
    );
    const want = [...this.keyColumns].sort().join(",");
    if (!idx.rows.some((r: { cols: string[] }) => [...r.cols].sort().join(",") === want)) {
      throw new PostgresSinkError(
        "INVALID_ARGUMENT",
        `${this.owner}: ${where} has no primary key or unique index on exactly (${this.keyColumns.join(", ")}), which INSERT ... ON CONFLICT needs; add one, e.g. ALTER TABLE ${quoteName(this.table)} ADD PRIMARY KEY (${this.keyColumns.map((k) => quoteName(k)).join(", ")})`,
        { table: this.table, column: this.keyColumns[0] },
      );
    }
  }

  private sql(rows: number): string {
    let s = this.sqlCache.get(rows);
    if (s !== undefined) return s;
    const n = this.columns.length;
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const ps: string[] = [];
      for (let c = 1; c <= n; c++) ps.push(`$${r * n + c}`);
      tuples.push(`(${ps.join(",")})`);
    }
    s = `INSERT INTO ${quoteName(this.table)} (${this.columns.map((c) => quoteName(c)).join(",")}) VALUES ${tuples.join(",")}`;
    if (this.keyColumns !== undefined) {
      const rest = this.columns.filter((c) => !this.keyColumns!.includes(c));
      const target = this.keyColumns.map((k) => quoteName(k)).join(",");
      s +=
        rest.length === 0
          ? ` ON CONFLICT (${target}) DO NOTHING`
          : ` ON CONFLICT (${target}) DO UPDATE SET ${rest.map((c) => `${quoteName(c)} = EXCLUDED.${quoteName(c)}`).join(", ")}`;
    }
    if (rows <= 16 || rows === this.rowsPerStatement) this.sqlCache.set(rows, s);
    return s;
  }

  /** Write the records with batched statements on `client` (inside the caller's transaction). */
  async write(
    session: PostgresSession,
    client: pg.Client,
    records: readonly T[],
    what: string,
  ): Promise<void> {
    for (let i = 0; i < records.length; i += this.rowsPerStatement) {
      const slice = records.slice(i, i + this.rowsPerStatement);
      const params: unknown[] = [];
      for (const r of slice) for (const v of this.row(r)) params.push(v);
      try {
        await client.query(this.sql(slice.length), params);
      } catch (e) {
        throw session.statementError(what, e);
      }
    }
  }
}
