// Container types: ARRAY (length + elements), MAP (size + key/value pairs), NULLABLE (tag + value).

import type { DataInputDeserializer, DataOutputSerializer } from "../data-io.ts";
import { InvalidArgumentError } from "../errors.ts";
import { describeValue, mismatch, TypeInformation, type TypeSerializer, withinField } from "./type-info.ts";

export class ArrayType<E> extends TypeInformation<E[]> {
  readonly name: string;
  private serializer: TypeSerializer<E[]> | undefined;

  constructor(readonly element: TypeInformation<E>) {
    super();
    requireType(element, "Types.ARRAY: the element type");
    this.name = `ARRAY(${element.name})`;
  }

  createSerializer(): TypeSerializer<E[]> {
    if (this.serializer) return this.serializer;
    const name = this.name;
    const elem = this.element.createSerializer();
    const s: TypeSerializer<E[]> = {
      write(v: E[], out: DataOutputSerializer): void {
        if (!Array.isArray(v)) throw mismatch(name, "an array", v);
        const start = out.position;
        const n = v.length;
        let i = 0;
        try {
          out.writeVarUint(n);
          for (; i < n; i++) elem.write(v[i], out);
        } catch (e) {
          out.position = start;
          throw withinField(e, `[${i}]`, name);
        }
      },
      read(input: DataInputDeserializer): E[] {
        const n = input.readVarUint();
        // Each element takes at least one byte: refuse absurd lengths before allocating.
        if (n > input.remaining()) input.truncated(input.position, n, `${name} of length ${n}`);
        const arr = new Array<E>(n);
        for (let i = 0; i < n; i++) arr[i] = elem.read(input);
        return arr;
      },
    };
    this.serializer = s;
    return s;
  }
}

function mapKeyText(k: unknown, i: number): string {
  if (typeof k === "string") return JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}...` : k);
  if (typeof k === "number" || typeof k === "boolean") return String(k);
  return `<key #${i}>`;
}

export class MapType<K, V> extends TypeInformation<Map<K, V>> {
  readonly name: string;
  private serializer: TypeSerializer<Map<K, V>> | undefined;

  constructor(
    readonly key: TypeInformation<K>,
    readonly value: TypeInformation<V>,
  ) {
    super();
    requireType(key, "Types.MAP: the key type");
    requireType(value, "Types.MAP: the value type");
    this.name = `MAP(${key.name}, ${value.name})`;
  }

  createSerializer(): TypeSerializer<Map<K, V>> {
    if (this.serializer) return this.serializer;
    const name = this.name;
    const ks = this.key.createSerializer();
    const vs = this.value.createSerializer();
    const s: TypeSerializer<Map<K, V>> = {
      write(m: Map<K, V>, out: DataOutputSerializer): void {
        if (!(m instanceof Map)) throw mismatch(name, "a Map", m);
        const start = out.position;
        let i = 0;
        let inKey = true;
        let key: K | undefined;
        try {
          out.writeVarUint(m.size);
          for (const [k, v] of m) {
            key = k;
            inKey = true;
            ks.write(k, out);
            inKey = false;
            vs.write(v, out);
            i++;
          }
        } catch (e) {
          out.position = start;
          throw withinField(e, inKey ? `.keys()[${i}]` : `.get(${mapKeyText(key, i)})`, name);
        }
      },
      read(input: DataInputDeserializer): Map<K, V> {
        const n = input.readVarUint();
        if (n > input.remaining()) input.truncated(input.position, n, `${name} of size ${n}`);
        const m = new Map<K, V>();
        for (let i = 0; i < n; i++) {
          const k = ks.read(input);
          m.set(k, vs.read(input));
        }
        return m;
      },
    };
    this.serializer = s;
    return s;
  }
}

const TAG_NULL = 0;
const TAG_UNDEFINED = 1;
const TAG_VALUE = 2;

export class NullableType<T> extends TypeInformation<T | null | undefined> {
  readonly name: string;
  private serializer: TypeSerializer<T | null | undefined> | undefined;

  constructor(readonly inner: TypeInformation<T>) {
    super();
    requireType(inner, "Types.NULLABLE: the type");
    this.name = `NULLABLE(${inner.name})`;
  }

  createSerializer(): TypeSerializer<T | null | undefined> {
    if (this.serializer) return this.serializer;
    const name = this.name;
    const inner = this.inner.createSerializer();
    const s: TypeSerializer<T | null | undefined> = {
      write(v: T | null | undefined, out: DataOutputSerializer): void {
        if (v === null) out.writeU8(TAG_NULL);
        else if (v === undefined) out.writeU8(TAG_UNDEFINED);
        else {
          const start = out.position;
          out.writeU8(TAG_VALUE);
          try {
            inner.write(v, out);
          } catch (e) {
            out.position = start;
            throw withinField(e, "", name);
          }
        }
      },
      read(input: DataInputDeserializer): T | null | undefined {
        const pos = input.position;
        const tag = input.readU8();
        if (tag === TAG_VALUE) return inner.read(input);
        if (tag === TAG_NULL) return null;
        if (tag === TAG_UNDEFINED) return undefined;
        return input.corrupt(pos, `NULLABLE tag ${tag} is not 0, 1 or 2`);
      },
    };
    this.serializer = s;
    return s;
  }
}

/** A container's type argument must be a type (a misspelt `Types.X` is undefined). */
function requireType(t: unknown, what: string): void {
  if (!(t instanceof TypeInformation)) {
    throw new InvalidArgumentError(
      `${what} is ${describeValue(t)}, not a type; use Types.STRING, Types.NUMBER, ...`,
    );
  }
}
