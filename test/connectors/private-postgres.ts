// A private PostgreSQL 15 cluster for the CDC and XA tests: the shared server on 127.0.0.1:5432 has
// wal_level=replica and max_prepared_transactions=0, so these tests initdb a cluster in a temp
// directory (owned by the postgres user: initdb refuses to run as root) and start it with
// wal_level=logical and max_prepared_transactions=10 on a free port; stop() removes it.

import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { userInfo } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./redis-server.ts";

const BIN = process.env.WEIR_PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface PrivatePostgres {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** Run one statement on a shared admin connection. */
  sql(text: string, values?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

/** Run a command as the postgres user when we are root (initdb and pg_ctl refuse root). */
function asPostgres(cmd: string, args: string[]): void {
  const root = userInfo().uid === 0;
  const [file, argv] = root ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
  }
}

export async function startPrivatePostgres(
  settings: Record<string, string | number> = {},
): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), "weir-pg-"));
  chmodSync(dir, 0o700);
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const port = await freePort();
  asPostgres(join(BIN, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const opts = {
    wal_level: "logical",
    max_prepared_transactions: 10,
    max_replication_slots: 10,
    max_wal_senders: 10,
    fsync: "off",
    ...settings,
  };
  const o = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-k ${dir}`,
    ...Object.entries(opts).map(([k, v]) => `-c ${k}=${v}`),
  ].join(" ");
  asPostgres(join(BIN, "pg_ctl"), ["-D", data, "-o", o, "-l", join(dir, "log"), "-w", "-t", "60", "start"]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const admin = new pg.Client({ connectionString: url });
  admin.on("error", () => {});
  await admin.connect();
  return {
    port,
    url,
    sql: (text, values) => admin.query(text, values),
    async stop() {
      await admin.end().catch(() => {});
      try {
        asPostgres(join(BIN, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
