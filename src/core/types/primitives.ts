// The primitive types: STRING, NUMBER, INT, BOOLEAN, BIGINT, DATE, BYTES (and the bigint codec GENERIC reuses).

import type { DataInputDeserializer, DataOutputSerializer } from "../data-io.ts";
import { mismatch, TypeInformation, type TypeSerializer } from "./type-info.ts";

/** Primitive kinds the OBJECT/TUPLE code generator writes inline instead of calling a serializer. */
export type PrimitiveKind = "string" | "number" | "int" | "boolean" | "bigint" | "date" | "bytes";

/** A primitive type; `expected` is how error messages describe the values it takes. */
export class PrimitiveType<T> extends TypeInformation<T> {
  readonly name: string;
  readonly kind: PrimitiveKind;
  readonly expected: string;
  private readonly serializer: TypeSerializer<T>;

  constructor(name: string, kind: PrimitiveKind, expected: string, serializer: TypeSerializer<T>) {
    super();
    this.name = name;
    this.kind = kind;
    this.expected = expected;
    this.serializer = serializer;
  }

  createSerializer(): TypeSerializer<T> {
    return this.serializer;
  }
}

export const INT_HINT =
  "use Types.NUMBER for fractional or very large values, or round the value before this operator";

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

export function writeBigIntValue(v: bigint, out: DataOutputSerializer): void {
  if (v >= -MAX_SAFE_BIG && v <= MAX_SAFE_BIG) {
    out.writeU8(0);
    out.writeVarInt(Number(v));
  } else {
    out.writeU8(v < 0n ? 2 : 1);
    out.writeString((v < 0n ? -v : v).toString(16));
  }
}

export function readBigIntValue(input: DataInputDeserializer): bigint {
  const pos = input.position;
  const tag = input.readU8();
  if (tag === 0) return BigInt(input.readVarInt());
  if (tag !== 1 && tag !== 2) return input.corrupt(pos, `unknown bigint tag ${tag}`);
  const hex = input.readString();
  if (!/^[0-9a-f]+$/.test(hex)) return input.corrupt(pos, "bigint digits are not hexadecimal");
  const m = BigInt(`0x${hex}`);
  return tag === 2 ? -m : m;
}

const stringSerializer: TypeSerializer<string> = {
  write(v, out) {
    if (typeof v !== "string") throw mismatch("STRING", "a string", v);
    out.writeString(v);
  },
  read: (input) => input.readString(),
};

const numberSerializer: TypeSerializer<number> = {
  write(v, out) {
    if (typeof v !== "number") throw mismatch("NUMBER", "a number", v);
    out.writeF64(v);
  },
  read: (input) => input.readF64(),
};

const intSerializer: TypeSerializer<number> = {
  write(v, out) {
    if (!Number.isSafeInteger(v))
      throw mismatch("INT", "a safe integer", v, typeof v === "number" ? INT_HINT : undefined);
    out.writeVarInt(v);
  },
  read: (input) => input.readVarInt(),
};

const booleanSerializer: TypeSerializer<boolean> = {
  write(v, out) {
    if (typeof v !== "boolean") throw mismatch("BOOLEAN", "a boolean", v);
    out.writeBoolean(v);
  },
  read: (input) => input.readBoolean(),
};

const bigintSerializer: TypeSerializer<bigint> = {
  write(v, out) {
    if (typeof v !== "bigint") throw mismatch("BIGINT", "a bigint", v);
    const start = out.position;
    try {
      writeBigIntValue(v, out);
    } catch (e) {
      out.position = start;
      throw e;
    }
  },
  read: readBigIntValue,
};

const dateSerializer: TypeSerializer<Date> = {
  write(v, out) {
    if (!(v instanceof Date)) throw mismatch("DATE", "a Date", v);
    out.writeF64(v.getTime()); // an invalid Date (NaN) stays invalid
  },
  read: (input) => new Date(input.readF64()),
};

const bytesSerializer: TypeSerializer<Uint8Array> = {
  write(v, out) {
    if (!(v instanceof Uint8Array)) throw mismatch("BYTES", "a Uint8Array", v);
    out.writeVarUint(v.length);
    out.writeBytes(v);
  },
  read: (input) => input.readBytes(input.readVarUint()),
};

export const STRING = new PrimitiveType<string>("STRING", "string", "a string", stringSerializer);
export const NUMBER = new PrimitiveType<number>("NUMBER", "number", "a number", numberSerializer);
export const INT = new PrimitiveType<number>("INT", "int", "a safe integer", intSerializer);
export const BOOLEAN = new PrimitiveType<boolean>("BOOLEAN", "boolean", "a boolean", booleanSerializer);
export const BIGINT = new PrimitiveType<bigint>("BIGINT", "bigint", "a bigint", bigintSerializer);
export const DATE = new PrimitiveType<Date>("DATE", "date", "a Date", dateSerializer);
export const BYTES = new PrimitiveType<Uint8Array>("BYTES", "bytes", "a Uint8Array", bytesSerializer);
