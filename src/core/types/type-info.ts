// TypeInformation (a record type the engine can serialize) and the errors serializers raise for bad values.

import type { DataInputDeserializer, DataOutputSerializer } from "../data-io.ts";
import { SerializationError } from "../errors.ts";

/**
 * Writes and reads values of one type. Serializers are stateless and may be shared.
 * `write` throws SerializationError when a value does not fit the type; `out.position` is then
 * back where the value began (no partial record is left behind).
 */
export interface TypeSerializer<T> {
  write(value: T, out: DataOutputSerializer): void;
  read(input: DataInputDeserializer): T;
}

/** Describes a record type and creates its serializer, like Flink's TypeInformation. */
export abstract class TypeInformation<T> {
  /** Structural name, e.g. "OBJECT({word: STRING, count: NUMBER})"; equal names mean equal encodings. */
  abstract readonly name: string;
  abstract createSerializer(): TypeSerializer<T>;
  /** Phantom field carrying T for type inference; never set. */
  declare readonly __type?: T;

  toString(): string {
    return `Types.${this.name}`;
  }
}

export type TypeOf<TI> = TI extends TypeInformation<infer T> ? T : never;

const MAX_NAME_IN_MESSAGE = 160;

function shortName(typeName: string): string {
  const s = `Types.${typeName}`;
  return s.length > MAX_NAME_IN_MESSAGE ? `${s.slice(0, MAX_NAME_IN_MESSAGE - 3)}...` : s;
}

function shortPath(path: string): string {
  return path.length > 300 ? `${path.slice(0, 150)}...${path.slice(-150)}` : path;
}

/**
 * A value that does not fit its type. `path` locates it inside the record (".price", "[3].owner",
 * ".counts.get(\"x\")"); each enclosing serializer prefixes its part while the error propagates.
 */
export class ValueSerializationError extends SerializationError {
  path: string;
  /** Name of the outermost type that has seen this error so far. */
  typeName: string;
  readonly detail: string;
  readonly hint: string;

  constructor(typeName: string, detail: string, hint: string, path = "") {
    super("");
    this.typeName = typeName;
    this.detail = detail;
    this.hint = hint;
    this.path = path;
    this.message = this.format();
  }

  /** Records that this error happened at `segment` inside a value of type `typeName`. */
  within(segment: string, typeName: string): this {
    this.path = segment + this.path;
    this.typeName = typeName;
    this.message = this.format();
    return this;
  }

  private format(): string {
    let where: string;
    if (this.typeName === "GENERIC") where = `value${shortPath(this.path)}`;
    else if (this.path === "") where = `value of ${shortName(this.typeName)}`;
    else {
      const p = this.path.startsWith(".") ? this.path.slice(1) : this.path;
      where = `field '${shortPath(p)}' of ${shortName(this.typeName)}`;
    }
    return `${where}: ${this.detail}; ${this.hint}`;
  }
}

/** Adds a path segment to a value error thrown by a nested serializer; other errors pass unchanged. */
export function withinField(e: unknown, segment: string, typeName: string): unknown {
  if (e instanceof ValueSerializationError) return e.within(segment, typeName);
  return e;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The path segment of an object property: `.name`, or `["odd key"]`. */
export function propertySegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** A key as it appears in a type name: bare identifier or a JSON string. */
export function nameKey(key: string): string {
  return IDENTIFIER.test(key) ? key : JSON.stringify(key);
}

/** A short description of a value for error messages: `string "abc"`, `an instance of class Person`. */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case "string": {
      const s = v.length > 40 ? `${v.slice(0, 40)}...` : v;
      return `string ${JSON.stringify(s)}${v.length > 40 ? ` (${v.length} chars)` : ""}`;
    }
    case "number":
      return `number ${Object.is(v, -0) ? "-0" : String(v)}`;
    case "bigint":
      return `bigint ${String(v).slice(0, 40)}n`;
    case "boolean":
      return `boolean ${v}`;
    case "undefined":
      return "undefined";
    case "symbol":
      return `symbol ${String(v.description ?? "")}`;
    case "function":
      return `function ${v.name || "(anonymous)"}`;
    default:
      if (v === null) return "null";
      if (Array.isArray(v)) return `an array of length ${v.length}`;
      return describeObjectKind(v as object);
  }
}

/** "a plain object", "a Map", "an instance of class Person". */
export function describeObjectKind(v: object): string {
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) return "a plain object";
  const ctor = className(v);
  if (ctor === "Map" || ctor === "Set" || ctor === "Date" || ctor === "Uint8Array") return `a ${ctor}`;
  return `an instance of class ${ctor}`;
}

export function className(v: object): string {
  const proto = Object.getPrototypeOf(v);
  const ctor = proto?.constructor;
  return typeof ctor === "function" && ctor.name ? ctor.name : "(anonymous)";
}

/** Builds the error for a value that is not what type `typeName` expects. */
export function mismatch(
  typeName: string,
  expected: string,
  value: unknown,
  hint?: string,
): ValueSerializationError {
  if (value === undefined) {
    return new ValueSerializationError(
      typeName,
      `expected ${expected}, got undefined (the field is missing)`,
      hint ??
        "set the field before this operator, or declare it with Types.NULLABLE(...) if it may be absent",
    );
  }
  return new ValueSerializationError(
    typeName,
    `expected ${expected}, got ${describeValue(value)}`,
    hint ?? "declare the field's type correctly or convert the value before this operator",
  );
}
