// Memory sizes as a user writes them ("256mb", "1g", "64 MiB", "1048576"), for the managed memory
// of the embedded state backend and the network buffer memory (Flink's taskmanager.memory.*).

import { InvalidArgumentError } from "../../core/errors.ts";

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 2 ** 10,
  kb: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mb: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gb: 2 ** 30,
  gib: 2 ** 30,
};

/** Bytes of a size such as "256mb", "1.5g", "64 MiB" or a plain byte count; `what` names the setting in errors. */
export function parseMemorySize(value: string | number, what: string): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return Math.floor(value);
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = m === null ? undefined : UNITS[m[2]!.toLowerCase()];
    if (m !== null && unit !== undefined) return Math.floor(Number(m[1]) * unit);
  }
  throw new InvalidArgumentError(
    `${what}: '${String(value)}' is not a memory size; write a number of bytes or one with a unit, e.g. 64mb, 256mb, 1gb`,
  );
}

/** "256 MiB", "1.5 GiB", "512 KiB": a size as `weir run --verbose` shows it. */
export function formatMemorySize(bytes: number): string {
  if (bytes >= 2 ** 30) return `${+(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${+(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 2 ** 10) return `${+(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} B`;
}
