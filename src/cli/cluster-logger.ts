// The log of a cluster process (`weir jobmanager`, `weir taskmanager`): each line to stderr as
// today ("<time> LEVEL message") and, with --log-file, as a structured JSON line (pino) to that
// file, which the REST API serves (/taskmanagers/:id/logs, /jobmanager/log). --log-level (default
// info) drops what is below it from both. Messages never carry the cluster token: the processes
// do not log it, and the options that hold it are not logged.

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import pino from "pino";
import { CliUsageError } from "./cli-errors.ts";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ClusterLogger {
  log(level: "INFO" | "WARN" | "ERROR", line: string): void;
}

export function clusterLogger(
  command: string,
  options: { file: string | undefined; level: string | undefined; name: string },
  stderr: (line: string) => void,
): ClusterLogger {
  const level = (options.level ?? "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new CliUsageError(
      `'weir ${command} --log-level ${options.level}' is not a level`,
      `use one of ${LOG_LEVELS.join(", ")}`,
    );
  }
  const threshold = LOG_LEVELS.indexOf(level as LogLevel);
  let file: pino.Logger | undefined;
  if (options.file !== undefined) {
    mkdirSync(dirname(options.file), { recursive: true });
    file = pino(
      {
        level,
        base: { pid: process.pid, name: options.name },
        formatters: { level: (label) => ({ level: label.toUpperCase() }) },
        timestamp: pino.stdTimeFunctions.isoTime,
      },
      // Written synchronously: a line logged is in the file (for the REST API, and before a crash).
      pino.destination({ dest: options.file, sync: true, mkdir: true }),
    );
  }
  return {
    log(lvl, line) {
      if (LOG_LEVELS.indexOf(lvl.toLowerCase() as LogLevel) < threshold) return;
      stderr(`${new Date().toISOString()} ${lvl} ${line}`);
      if (file === undefined) return;
      if (lvl === "ERROR") file.error(line);
      else if (lvl === "WARN") file.warn(line);
      else file.info(line);
    },
  };
}
