// The errors of the command line: a usage mistake (exit 2) and a job that cannot be loaded or
// built (exit 1). Both carry a hint: what to do about it.

import { WeirError } from "../core/errors.ts";

/** A command-line mistake: exit code 2, one line on stderr. */
export class CliUsageError extends WeirError {
  constructor(
    message: string,
    /** What to do about it. */
    readonly hint: string,
  ) {
    super("CLI_USAGE", message);
  }
}

/** A job that could not be loaded or built: exit code 1, one line on stderr. */
export class JobLoadError extends WeirError {
  constructor(
    message: string,
    readonly hint: string,
    cause?: unknown,
  ) {
    super("INVALID_JOB", message, { cause });
  }
}

/** Messages are printed on one line: join the lines of a multi-line message. */
export function oneLine(message: string): string {
  const line = message.replace(/\s*\n\s*/g, " ").trim();
  return line.length > 400 ? `${line.slice(0, 397)}...` : line;
}
