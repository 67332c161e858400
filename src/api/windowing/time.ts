// Durations for window sizes, slides, gaps and lateness: plain milliseconds, with helpers.

import { InvalidArgumentError } from "../../core/errors.ts";

export const Time = {
  milliseconds: (n: number): number => n,
  seconds: (n: number): number => n * 1000,
  minutes: (n: number): number => n * 60_000,
  hours: (n: number): number => n * 3_600_000,
  days: (n: number): number => n * 86_400_000,
} as const;

/** A finite number of ms > 0 (or >= 0 when `allowZero`). */
export function checkDuration(ms: number, what: string, allowZero = false): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) {
    throw new InvalidArgumentError(
      `${what} must be a finite number of milliseconds ${allowZero ? ">= 0" : "> 0"}, got ${String(ms)} (use Time.seconds(10) or 10_000)`,
    );
  }
  return ms;
}
