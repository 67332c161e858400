// One connection of a sink subtask to PostgreSQL (node-postgres Client): connected on first use,
// replaced after the server dropped it, with statements and transactions that fail with errors
// naming the sink, the table and the server.

import pg from "pg";
import { PostgresSinkError } from "./postgres-sink-error.ts";

/** A connection string ("postgres://user@host:5432/db") or node-postgres client options. */
export type PostgresConnection = string | pg.ClientConfig;

export function describeConnection(c: PostgresConnection): string {
  // host:port/database only: a connection string may carry a password in its user info or in its
  // query (?password=...), and neither may reach an error or a log.
  if (typeof c === "string") {
    try {
      const u = new URL(c);
      const db = u.pathname.length > 1 ? decodeURIComponent(u.pathname) : "/(default database)";
      return `${u.hostname || "localhost"}:${u.port || 5432}${db}`;
    } catch {
      return "(a connection string that is not a URL)";
    }
  }
  return `${c.host ?? "localhost"}:${c.port ?? 5432}/${c.database ?? "(default database)"}`;
}

/** Quote an identifier ("schema.table" is split at the dot; names are used exactly as written). */
export function quoteName(name: string): string {
  return name
    .split(".")
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join(".");
}

interface PgError {
  code?: string;
  column?: string;
  detail?: string;
  message?: string;
}

export class PostgresSession {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;

  constructor(
    private readonly connection: PostgresConnection,
    /** e.g. "PostgresUpsertSink(table counts)", the start of every error message. */
    private readonly owner: string,
    private readonly table: string,
  ) {}

  private config(): pg.ClientConfig {
    const base: pg.ClientConfig =
      typeof this.connection === "string" ? { connectionString: this.connection } : { ...this.connection };
    base.connectionTimeoutMillis ??= 10_000;
    base.application_name ??= "weir";
    return base;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client(this.config());
    // A dropped connection is reported here; without a listener it would crash the process.
    client.on("error", () => {
      if (this.client === client) this.client = undefined;
    });
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => {});
      throw new PostgresSinkError(
        "IO",
        `${this.owner}: cannot connect to PostgreSQL at ${describeConnection(this.connection)}: ${(e as Error).message}; check that the server runs and the connection settings`,
        { table: this.table, sqlState: (e as PgError).code, cause: e },
      );
    }
    this.client = client;
    return client;
  }

  async get(): Promise<pg.Client> {
    if (this.client !== undefined) return this.client;
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Run one statement; `what` says what it does ("upsert into table counts"). */
  async query(what: string, text: string, values?: unknown[]): Promise<pg.QueryResult> {
    const client = await this.get();
    try {
      return await client.query(text, values);
    } catch (e) {
      throw this.statementError(what, e);
    }
  }

  /** Run `body` in one transaction; rolled back when it throws. */
  async transaction<R>(what: string, body: (client: pg.Client) => Promise<R>): Promise<R> {
    const client = await this.get();
    try {
      await client.query("BEGIN");
    } catch (e) {
      throw this.statementError(what, e);
    }
    try {
      const r = await body(client);
      await client.query("COMMIT");
      return r;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e instanceof PostgresSinkError ? e : this.statementError(what, e);
    }
  }

  statementError(what: string, e: unknown): PostgresSinkError {
    const pe = e as PgError;
    const state = pe.code !== undefined ? ` (SQLSTATE ${pe.code})` : "";
    const detail = pe.detail !== undefined ? `; ${pe.detail}` : "";
    const column = pe.column !== undefined ? ` column "${pe.column}"` : "";
    return new PostgresSinkError(
      "IO",
      `${this.owner}: ${what} failed${column ? ` at${column}` : ""}: ${pe.message ?? String(e)}${detail}${state}`,
      { table: this.table, column: pe.column, sqlState: pe.code, cause: e },
    );
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }
}
