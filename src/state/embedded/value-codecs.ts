// How the embedded backend writes stored values as bytes, per state kind. The decoded form is
// exactly what the heap backend stores (so snapshots are interchangeable): the value itself, or
// a TtlValue {v, ts} under TTL; for list state an array of those; for map state one entry per
// user key (the snapshot regroups them into a JS Map). The value type is the descriptor's type,
// GENERIC when it gives none. Layout: [ts: f64 under TTL][value]; lists: [count: varuint][elements].

import { type DataInputDeserializer, DataOutputSerializer } from "../../core/data-io.ts";
import type { StateDescriptor } from "../../core/state.ts";
import { GENERIC } from "../../core/types/generic.ts";
import { PrimitiveType } from "../../core/types/primitives.ts";
import type { TypeSerializer } from "../../core/types/type-info.ts";
import type { TtlValue } from "../ttl.ts";

export interface ValueCodec {
  encode(value: unknown, out: DataOutputSerializer): void;
  decode(input: DataInputDeserializer): unknown;
}

class PlainCodec implements ValueCodec {
  constructor(private readonly s: TypeSerializer<unknown>) {}
  encode(value: unknown, out: DataOutputSerializer): void {
    this.s.write(value, out);
  }
  decode(input: DataInputDeserializer): unknown {
    return this.s.read(input);
  }
}

class TtlCodec implements ValueCodec {
  constructor(private readonly s: TypeSerializer<unknown>) {}
  encode(value: unknown, out: DataOutputSerializer): void {
    const tv = value as TtlValue<unknown>;
    out.writeF64(tv.ts);
    this.s.write(tv.v, out);
  }
  decode(input: DataInputDeserializer): unknown {
    const ts = input.readF64();
    return { v: this.s.read(input), ts };
  }
}

class ListCodec implements ValueCodec {
  constructor(private readonly element: ValueCodec) {}
  encode(value: unknown, out: DataOutputSerializer): void {
    const list = value as unknown[];
    out.writeVarUint(list.length);
    for (const e of list) this.element.encode(e, out);
  }
  decode(input: DataInputDeserializer): unknown {
    const n = input.readVarUint();
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.element.decode(input);
    return out;
  }
}

/** The codec of one stored value of a state (for map state: of one user-key entry). */
export function codecFor(descriptor: StateDescriptor<unknown>, ttl: boolean): ValueCodec {
  const s = (descriptor.type ?? GENERIC).createSerializer() as TypeSerializer<unknown>;
  const single = ttl ? new TtlCodec(s) : new PlainCodec(s);
  return descriptor.kind === "list" ? new ListCodec(single) : single;
}

/** For entries restored before their state registered: the heap form as one GENERIC value. */
export const RAW_CODEC: ValueCodec = new PlainCodec(GENERIC.createSerializer());

/** Primitive kinds whose values GENERIC decodes to exactly what their own serializer would. */
const GENERIC_EXACT_KINDS: ReadonlySet<string> = new Set(["string", "number", "boolean", "bigint"]);

/**
 * Writes values in the raw form (RAW_CODEC) after checking them with the state's own codec, so a
 * value of the wrong type fails as it would in the state's own encoding.
 */
class CheckedRawCodec implements ValueCodec {
  private readonly scratch = new DataOutputSerializer(64);
  constructor(private readonly own: ValueCodec) {}
  encode(value: unknown, out: DataOutputSerializer): void {
    this.scratch.clear();
    this.own.encode(value, this.scratch);
    RAW_CODEC.encode(value, out);
  }
  decode(input: DataInputDeserializer): unknown {
    return RAW_CODEC.decode(input);
  }
}

/**
 * The codec a state keeps when it registers after entries were restored for it in raw form, so
 * that they stay as written (each restored entry is written to the store once): entries in raw
 * form decode to the same heap values as in the state's own encoding when its type is GENERIC
 * (or none) or a primitive GENERIC round-trips exactly (string, number, boolean, bigint). Undefined
 * when the raw entries must be rewritten: map state (one raw entry per key holds every user key),
 * other types (a POJO or a Date type decodes to other objects than GENERIC does).
 */
export function restoredCodecFor(descriptor: StateDescriptor<unknown>, ttl: boolean): ValueCodec | undefined {
  if (descriptor.kind === "map") return undefined;
  const type = descriptor.type;
  if (type === undefined || type === GENERIC) return RAW_CODEC;
  if (type instanceof PrimitiveType && GENERIC_EXACT_KINDS.has(type.kind)) {
    return new CheckedRawCodec(codecFor(descriptor, ttl));
  }
  return undefined;
}
