// A field of a record named for minBy/maxBy: a property name, or a function reading the value.

import { InvalidArgumentError } from "../core/errors.ts";

/** A field of T, or a function reading a number from T. */
export type FieldRef<T> = (keyof T & string) | ((value: T) => number);

export function fieldGetter<T>(field: FieldRef<T>, what: string): (v: T) => number {
  if (typeof field === "function") return field;
  if (typeof field === "string") return (v) => (v as Record<string, number>)[field]!;
  throw new InvalidArgumentError(`${what} needs a field name or a function`);
}

/** The reduce of minBy/maxBy: the whole record with the smallest/largest value, the first on ties. */
export function byReducer<T>(field: FieldRef<T>, largest: boolean, what: string): (a: T, b: T) => T {
  const get = fieldGetter(field, what);
  return largest ? (a, b) => (get(b) > get(a) ? b : a) : (a, b) => (get(b) < get(a) ? b : a);
}
