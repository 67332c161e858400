// The check on a timer's time where user code registers it (process functions, triggers): a
// number of ms, ±Infinity allowed. NaN would break the order of the timer queue.

import { InvalidArgumentError } from "../../core/errors.ts";

/** Throws unless `time` is a number other than NaN; `where` names the operator. */
export function checkTimerTime(time: number, method: string, where: string): void {
  if (typeof time === "number" && !Number.isNaN(time)) return;
  throw new InvalidArgumentError(
    `${where}: ${method}() needs a time in ms, got ${typeof time === "number" ? "NaN" : `${typeof time} ${String(time)}`}; ctx.timestamp() is undefined for a record without a timestamp (assign timestamps with a WatermarkStrategy, or use processing time)`,
  );
}
