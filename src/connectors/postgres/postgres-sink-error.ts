// The error of the PostgreSQL sinks: a bad configuration (a table or column that is not there) or
// a statement that failed, naming the table, the column where known, and PostgreSQL's SQLSTATE.

import { WeirError } from "../../index.ts";

export class PostgresSinkError extends WeirError {
  readonly table: string;
  readonly column: string | undefined;
  /** PostgreSQL's SQLSTATE code of the failing statement, if it came from the server. */
  readonly sqlState: string | undefined;

  constructor(
    code: "INVALID_ARGUMENT" | "IO",
    message: string,
    where: { table: string; column?: string; sqlState?: string; cause?: unknown },
  ) {
    super(code, message, { cause: where.cause });
    this.table = where.table;
    this.column = where.column;
    this.sqlState = where.sqlState;
  }
}
