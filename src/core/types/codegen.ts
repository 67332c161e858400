// OBJECT and TUPLE types, whose serializers are generated JavaScript (new Function) per record shape:
// primitives are written inline into the output buffer, and decoding builds one object literal with a
// fixed key order, so every decoded record shares one hidden class (see feasibility.md §4).

import {
  type DataInputDeserializer,
  type DataOutputSerializer,
  SHORT_STRING_CHARS,
  writeVarIntAt,
} from "../data-io.ts";
import { InvalidArgumentError } from "../errors.ts";
import { INT_HINT, PrimitiveType } from "./primitives.ts";
import { MAX_INTERNED_BYTES, readInternedAscii } from "./string-intern.ts";
import {
  describeValue,
  mismatch,
  nameKey,
  propertySegment,
  TypeInformation,
  type TypeSerializer,
  ValueSerializationError,
  withinField,
} from "./type-info.ts";

/** One field of a record: how generated code reads it from the value, and how errors name it. */
interface Slot {
  /** JS expression reading the field from `r`, e.g. `r["price"]` or `r[2]`. */
  access: string;
  /** Path segment in error messages: `.price`, `[2]`. */
  segment: string;
  /** Key in the decoded object literal (OBJECT only). */
  literalKey: string;
  type: TypeInformation<any>;
}

type Compiled<T> = TypeSerializer<T>;

function kindOf(t: TypeInformation<any>): string {
  return t instanceof PrimitiveType ? t.kind : "other";
}

/** Generated code that makes room for `n` more bytes at `pos` (re-reading buffer and view after a grow). */
function grow(n: string): string {
  return `if (pos + ${n} > buf.length) { out.position = pos; out.ensure(${n}); buf = out.buffer; dv = out.dv; }`;
}

function writeFieldCode(i: number, s: Slot): string {
  const v = `v = ${s.access};`;
  switch (kindOf(s.type)) {
    case "number":
      return `${v}
  if (typeof v !== "number") fail(${i}, v, out, start);
  ${grow("8")}
  dv.setFloat64(pos, v, true); pos += 8;`;
    case "int":
      return `${v}
  if (!Number.isSafeInteger(v)) fail(${i}, v, out, start);
  ${grow("8")}
  pos = writeVarIntAt(buf, pos, v);`;
    case "boolean":
      return `${v}
  if (typeof v !== "boolean") fail(${i}, v, out, start);
  ${grow("1")}
  buf[pos++] = v ? 1 : 0;`;
    case "date":
      return `${v}
  if (!(v instanceof Date)) fail(${i}, v, out, start);
  ${grow("8")}
  dv.setFloat64(pos, v.getTime(), true); pos += 8;`;
    case "string":
      return `${v}
  if (typeof v !== "string") fail(${i}, v, out, start);
  L = v.length; n = -1;
  if (L < ${SHORT_STRING_CHARS}) {
    ${grow("1 + L")}
    for (n = 0; n < L; n++) { c = v.charCodeAt(n); if (c > 127) break; buf[pos + 1 + n] = c; }
    if (n === L) { buf[pos] = L; pos += 1 + L; }
  }
  if (n !== L) { out.position = pos; out.writeString(v); pos = out.position; buf = out.buffer; dv = out.dv; }`;
    default:
      return `${v}
  out.position = pos;
  try { S[${i}].write(v, out); } catch (e) { wrap(e, ${i}, out, start); }
  pos = out.position; buf = out.buffer; dv = out.dv;`;
  }
}

function readFieldCode(i: number, s: Slot): string {
  const f = `f${i}`;
  switch (kindOf(s.type)) {
    case "number":
      return `if (pos + 8 > end) input.truncated(pos, 8, D[${i}]);
  const ${f} = dv.getFloat64(pos, true); pos += 8;`;
    case "date":
      return `if (pos + 8 > end) input.truncated(pos, 8, D[${i}]);
  const ${f} = new Date(dv.getFloat64(pos, true)); pos += 8;`;
    case "int":
      return `let ${f};
  if (pos < end && (c = buf[pos]) < 128) { ${f} = (c >>> 1) ^ -(c & 1); pos++; }
  else { input.position = pos; ${f} = input.readVarInt(); pos = input.position; }`;
    case "boolean":
      return `if (pos >= end) input.truncated(pos, 1, D[${i}]);
  c = buf[pos];
  if (c > 1) input.corrupt(pos, "boolean byte " + c + " of " + D[${i}] + " is neither 0 nor 1");
  const ${f} = c === 1; pos++;`;
    case "string":
      return `let ${f};
  n = pos < end ? buf[pos] : 255;
  if (n <= ${MAX_INTERNED_BYTES} && pos + 1 + n <= end && (s = intern(buf, pos + 1, n)) !== undefined) {
    ${f} = s; pos += 1 + n;
  } else { input.position = pos; ${f} = input.readString(); pos = input.position; }`;
    default:
      return `input.position = pos; const ${f} = S[${i}].read(input); pos = input.position;`;
  }
}

interface Shape {
  name: string;
  slots: Slot[];
  /** OBJECT: the generated code that checks the value is an object; TUPLE: an array of the right length. */
  rootCheck: string;
  /** Decoded value: an object literal or an array literal. */
  build: string;
  /** Extra prologue (strict field count check). */
  prologue: string;
}

function compile<T>(shape: Shape, extraFields: (r: any) => void): Compiled<T> {
  const { name, slots } = shape;
  const serializers = slots.map((s) => s.type.createSerializer());
  const descriptions = slots.map(
    (s) =>
      `field '${s.segment.startsWith(".") ? s.segment.slice(1) : s.segment}' (${s.type.name}) of Types.${name}`,
  );

  function fail(i: number, v: unknown, out: DataOutputSerializer, start: number): never {
    out.position = start;
    const t = slots[i].type as PrimitiveType<unknown>;
    const hint = t.kind === "int" && typeof v === "number" ? INT_HINT : undefined;
    throw mismatch(t.name, t.expected, v, hint).within(slots[i].segment, name);
  }
  function wrap(e: unknown, i: number, out: DataOutputSerializer, start: number): never {
    out.position = start;
    throw withinField(e, slots[i].segment, name);
  }
  function failRoot(v: unknown, expected: string): never {
    throw new ValueSerializationError(
      name,
      `expected ${expected}, got ${describeValue(v)}`,
      "the records of this stream must match its declared type; fix the operator that produces them " +
        "or declare the right type with .returns(...)",
    );
  }

  const writeSource = `"use strict";
return function write(r, out) {
  ${shape.rootCheck}
  ${shape.prologue}
  const start = out.position;
  let buf = out.buffer, dv = out.dv, pos = start, v, L, n, c;
  ${slots.map((s, i) => writeFieldCode(i, s)).join("\n  ")}
  out.position = pos;
};`;
  const readSource = `"use strict";
return function read(input) {
  const buf = input.buf, dv = input.dv, end = input.end;
  let pos = input.position, n, i, c, s;
  ${slots.map((s, i) => readFieldCode(i, s)).join("\n  ")}
  input.position = pos;
  return ${shape.build};
};`;

  const write = new Function("S", "fail", "wrap", "failRoot", "extraFields", "writeVarIntAt", writeSource)(
    serializers,
    fail,
    wrap,
    failRoot,
    extraFields,
    writeVarIntAt,
  ) as (r: T, out: DataOutputSerializer) => void;
  const read = new Function("S", "D", "intern", readSource)(serializers, descriptions, readInternedAscii) as (
    input: DataInputDeserializer,
  ) => T;
  return { write, read };
}

export interface ObjectTypeOptions {
  /**
   * true (default): a value with fields the type does not declare is an error (costs a `for...in`
   * count per record, ~4% of the encode time of a 7-field record). false: undeclared fields are
   * silently not serialized (use it to project records on purpose).
   */
  strict?: boolean;
}

export class ObjectType<T> extends TypeInformation<T> {
  readonly name: string;
  readonly fields: ReadonlyArray<readonly [string, TypeInformation<any>]>;
  readonly strict: boolean;
  private serializer: TypeSerializer<T> | undefined;

  constructor(fields: Record<string, TypeInformation<any>>, options: ObjectTypeOptions = {}) {
    super();
    this.fields = Object.entries(fields);
    this.strict = options.strict !== false;
    for (const [k, t] of this.fields) {
      if (!(t instanceof TypeInformation)) {
        throw new InvalidArgumentError(
          `Types.OBJECT: field ${JSON.stringify(k)} is ${describeValue(t)}, not a type; use Types.STRING, Types.NUMBER, ...`,
        );
      }
    }
    const inner = this.fields.map(([k, t]) => `${nameKey(k)}: ${t.name}`).join(", ");
    this.name = `OBJECT({${inner}})`; // strictness does not change the encoding
  }

  createSerializer(): TypeSerializer<T> {
    if (this.serializer) return this.serializer;
    const name = this.name;
    const slots: Slot[] = this.fields.map(([k, t]) => ({
      access: `r[${JSON.stringify(k)}]`,
      segment: propertySegment(k),
      // A plain "__proto__" key in a literal would set the prototype; the computed form defines a property.
      literalKey: k === "__proto__" ? `["__proto__"]` : JSON.stringify(k),
      type: t,
    }));
    let prologue = "";
    const declared = new Set(this.fields.map(([k]) => k));
    if (this.strict) {
      const optional = this.fields
        .filter(([, t]) => t.name.startsWith("NULLABLE(") || t.name === "GENERIC") // may be absent
        .map(([k]) => `if (!(${JSON.stringify(k)} in r)) expected--;`)
        .join(" ");
      prologue = `let count = 0, expected = ${slots.length};
  for (const key in r) count++;
  ${optional}
  if (count !== expected) extraFields(r);`;
    }
    const extraFields = (r: object): void => {
      const extra = Object.keys(r).filter((k) => !declared.has(k));
      if (extra.length === 0) return;
      throw new ValueSerializationError(
        name,
        `the value has field(s) ${extra
          .slice(0, 5)
          .map((k) => JSON.stringify(k))
          .join(", ")}${extra.length > 5 ? ", ..." : ""} that the type does not declare`,
        "declare them in Types.OBJECT({...}), or remove them before this operator",
      );
    };
    this.serializer = compile<T>(
      {
        name,
        slots,
        rootCheck: `if (typeof r !== "object" || r === null) failRoot(r, "an object");`,
        prologue,
        build: `{ ${slots.map((s, i) => `${s.literalKey}: f${i}`).join(", ")} }`,
      },
      extraFields,
    );
    return this.serializer;
  }
}

export class TupleType<T> extends TypeInformation<T> {
  readonly name: string;
  readonly elements: ReadonlyArray<TypeInformation<any>>;
  private serializer: TypeSerializer<T> | undefined;

  constructor(elements: TypeInformation<any>[]) {
    super();
    elements.forEach((t, i) => {
      if (!(t instanceof TypeInformation)) {
        throw new InvalidArgumentError(`Types.TUPLE: element ${i} is ${describeValue(t)}, not a type`);
      }
    });
    this.elements = [...elements];
    this.name = `TUPLE(${elements.map((t) => t.name).join(", ")})`;
  }

  createSerializer(): TypeSerializer<T> {
    if (this.serializer) return this.serializer;
    const n = this.elements.length;
    const slots: Slot[] = this.elements.map((t, i) => ({
      access: `r[${i}]`,
      segment: `[${i}]`,
      literalKey: String(i),
      type: t,
    }));
    this.serializer = compile<T>(
      {
        name: this.name,
        slots,
        rootCheck: `if (!Array.isArray(r) || r.length !== ${n}) failRoot(r, "an array of ${n} element(s)");`,
        prologue: "",
        build: `[${slots.map((_, i) => `f${i}`).join(", ")}]`,
      },
      () => {},
    );
    return this.serializer;
  }
}
