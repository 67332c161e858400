// The `Types` catalogue users declare record types with, and type inference from a sample record.

import { ArrayType, MapType, NullableType } from "./containers.ts";
import { ObjectType, type ObjectTypeOptions, TupleType } from "./codegen.ts";
import { GENERIC } from "./generic.ts";
import { BIGINT, BOOLEAN, BYTES, DATE, INT, NUMBER, STRING } from "./primitives.ts";
import type { TypeInformation, TypeOf } from "./type-info.ts";

export const Types = {
  /** Any string (UTF-8 on the wire; lone surrogates become U+FFFD). */
  STRING: STRING as TypeInformation<string>,
  /** Any JS number, NaN, ±Infinity and -0 included (8 bytes). */
  NUMBER: NUMBER as TypeInformation<number>,
  /** A safe integer (|v| < 2^53), zigzag varint (1 byte below 64); fractions are an error, -0 reads as 0. */
  INT: INT as TypeInformation<number>,
  BOOLEAN: BOOLEAN as TypeInformation<boolean>,
  BIGINT: BIGINT as TypeInformation<bigint>,
  /** A Date (its time value; an invalid Date stays invalid). */
  DATE: DATE as TypeInformation<Date>,
  /** A Uint8Array (a Buffer is accepted); reads back as a plain Uint8Array copy. */
  BYTES: BYTES as TypeInformation<Uint8Array>,
  /**
   * A record with these fields, in this order. A field the type does not declare is an error (pass
   * `{ strict: false }` to drop such fields instead); a missing field is an error unless NULLABLE/GENERIC.
   */
  OBJECT<F extends Record<string, TypeInformation<any>>>(
    fields: F,
    options?: ObjectTypeOptions,
  ): TypeInformation<{ [K in keyof F]: TypeOf<F[K]> }> {
    return new ObjectType<{ [K in keyof F]: TypeOf<F[K]> }>(fields, options);
  },
  /** A fixed-length array with one type per position. */
  TUPLE<T extends TypeInformation<any>[]>(...elems: T): TypeInformation<{ [K in keyof T]: TypeOf<T[K]> }> {
    return new TupleType<{ [K in keyof T]: TypeOf<T[K]> }>(elems);
  },
  ARRAY<E>(elem: TypeInformation<E>): TypeInformation<E[]> {
    return new ArrayType(elem);
  },
  MAP<K, V>(key: TypeInformation<K>, value: TypeInformation<V>): TypeInformation<Map<K, V>> {
    return new MapType(key, value);
  },
  /** The value, null or undefined (the difference between null and undefined is kept). */
  NULLABLE<T>(t: TypeInformation<T>): TypeInformation<T | null | undefined> {
    return new NullableType(t);
  },
  /** Any JSON-like value (plus bigint, Date, Uint8Array, Map, Set, undefined); self-describing, slower. */
  GENERIC,
};

function isFlatPlainObject(v: object): v is Record<string, string | number | boolean> {
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(v);
  if (keys.length === 0) return false;
  for (const k of keys) {
    const t = typeof (v as Record<string, unknown>)[k];
    if (t !== "string" && t !== "number" && t !== "boolean") return false;
  }
  return true;
}

/**
 * A type for records like `sample`: STRING, NUMBER, BOOLEAN, BIGINT for primitives, an OBJECT
 * for a flat plain object of strings/numbers/booleans (a later record with other fields is an
 * error, never silently truncated), GENERIC for anything else.
 */
export function inferTypeInfo(sample: unknown): TypeInformation<unknown> {
  switch (typeof sample) {
    case "string":
      return STRING as TypeInformation<unknown>;
    case "number":
      return NUMBER as TypeInformation<unknown>;
    case "boolean":
      return BOOLEAN as TypeInformation<unknown>;
    case "bigint":
      return BIGINT as TypeInformation<unknown>;
  }
  if (typeof sample === "object" && sample !== null && !Array.isArray(sample) && isFlatPlainObject(sample)) {
    const fields: Record<string, TypeInformation<any>> = {};
    for (const [k, v] of Object.entries(sample)) {
      fields[k] = typeof v === "string" ? STRING : typeof v === "number" ? NUMBER : BOOLEAN;
    }
    return new ObjectType<unknown>(fields);
  }
  return GENERIC;
}
