// User functions come as plain functions or as objects with open/close: normalize to a callable
// plus the object whose lifecycle the operator drives.

import { InvalidArgumentError } from "../core/errors.ts";
import type { RichFunction } from "../core/functions.ts";
import { copyStateValue } from "../state/copy.ts";

export function normalize<F extends (...args: any[]) => any>(
  f: unknown,
  method: string,
  what: string,
): [F, RichFunction | undefined] {
  if (typeof f === "function") return [f as F, undefined];
  if (typeof f === "object" && f !== null && typeof (f as Record<string, unknown>)[method] === "function") {
    const obj = f as Record<string, (...args: unknown[]) => unknown> & RichFunction;
    return [((...args: unknown[]) => obj[method]!(...args)) as F, obj];
  }
  throw new InvalidArgumentError(
    `${what} needs a function or an object with a ${method}() method, got ${f === null ? "null" : typeof f}`,
  );
}

export function requireMethods(f: unknown, methods: string[], what: string): void {
  if (
    typeof f !== "object" ||
    f === null ||
    methods.some((m) => typeof (f as Record<string, unknown>)[m] !== "function")
  ) {
    throw new InvalidArgumentError(
      `${what} needs an object with ${methods.map((m) => `${m}()`).join(" and ")}`,
    );
  }
}

/**
 * A copy of a user function object for one parallel instance and attempt: as Flink gives every
 * subtask its own deserialized copy, its fields belong to one subtask. Fields holding arrays,
 * Maps and Sets (`private seen = new Set()`) are copied, so that subtasks, and an attempt after a
 * restart, do not share them; other objects (clients, shared registries) and plain functions are
 * shared.
 */
export function instanceOf<F>(fn: F): F {
  if (typeof fn !== "object" || fn === null) return fn;
  const copy = Object.assign(Object.create(Object.getPrototypeOf(fn) as object), fn) as Record<
    string,
    unknown
  >;
  for (const k of Object.keys(copy)) {
    const v = copy[k];
    if (Array.isArray(v) || v instanceof Map || v instanceof Set) copy[k] = copyStateValue(v);
  }
  return copy as F;
}
