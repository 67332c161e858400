// How the embedded backend writes stored values as bytes, per state kind. The decoded form is
// exactly what the heap backend stores (so snapshots are interchangeable): the value itself, or
// a TtlValue {v, ts} under TTL; for list state an array of those; for map state one entry per
// user key (the snapshot regroups them into a JS Map). The value type is the descriptor's type,
// GENERIC when it gives none. Layout: [ts: f64 under TTL][value]; lists: [count: varuint][elements].

import type { DataInputDeserializer, DataOutputSerializer } from "../../core/data-io.ts";
import type { StateDescriptor } from "../../core/state.ts";
import { GENERIC } from "../../core/types/generic.ts";
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
