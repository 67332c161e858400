// Accumulators as subtasks report them, and their merge into the job's values: counters add up,
// max accumulators take the largest, list accumulators concatenate, any other accumulator's
// values are listed one per subtask. Used for a job's result and for its live values (REST).

import { type Accumulator, Counter, ListAccumulator, MaxAccumulator } from "../core/functions.ts";

export interface AccumulatorReport {
  name: string;
  kind: "counter" | "max" | "list" | "custom";
  value: unknown;
}

/** A subtask's accumulators as plain data (they cross threads). */
export function reportAccumulators(
  accumulators: ReadonlyMap<string, Accumulator<unknown>>,
): AccumulatorReport[] {
  const out: AccumulatorReport[] = [];
  for (const [name, acc] of accumulators) {
    const kind =
      acc instanceof Counter
        ? "counter"
        : acc instanceof MaxAccumulator
          ? "max"
          : acc instanceof ListAccumulator
            ? "list"
            : "custom";
    out.push({ name, kind, value: acc.getLocalValue() });
  }
  return out;
}

/** The job's value of each accumulator, from every subtask's report. */
export function mergeAccumulators(all: readonly AccumulatorReport[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const custom: Record<string, unknown[]> = {};
  for (const a of all) {
    const prev = out[a.name];
    switch (a.kind) {
      case "counter":
        out[a.name] = ((prev as number | undefined) ?? 0) + (a.value as number);
        break;
      case "max":
        out[a.name] = Math.max((prev as number | undefined) ?? Number.NEGATIVE_INFINITY, a.value as number);
        break;
      case "list":
        out[a.name] = [...((prev as unknown[] | undefined) ?? []), ...(a.value as unknown[])];
        break;
      case "custom":
        (custom[a.name] ??= []).push(a.value);
        out[a.name] = custom[a.name];
        break;
    }
  }
  return out;
}
