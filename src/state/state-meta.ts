// What a checkpoint records of each keyed state beside its entries — kind, declared types, TTL —
// and what a restore does when the job now declares the state otherwise: read it as it is,
// migrate every restored value once (fields added or removed, TTL turned on or off), or refuse
// with one StateMigrationError that names the state and the change (Flink's serializer
// compatibility: compatible as is, compatible after migration, incompatible).

import {
  type MapStateDescriptor,
  type StateDescriptor,
  type StateKind,
  StateMigrationError,
} from "../core/state.ts";
import { ObjectType, TupleType } from "../core/types/codegen.ts";
import { ArrayType, MapType, NullableType } from "../core/types/containers.ts";
import { GENERIC } from "../core/types/generic.ts";
import type { TypeInformation } from "../core/types/type-info.ts";
import type { TtlValue } from "./ttl.ts";

/**
 * A declared type as plain data (it goes into checkpoints): a primitive's or GENERIC's name, or
 * the structure of a container type. A type of another class is kept by its structural name.
 */
export type TypeShape =
  | string
  | { object: Array<[string, TypeShape]> }
  | { tuple: TypeShape[] }
  | { array: TypeShape }
  | { map: [TypeShape, TypeShape] }
  | { nullable: TypeShape };

/** One keyed state as a checkpoint records it. */
export interface StateMetaInfo {
  kind: StateKind;
  /** The stored value's type (list: an element's; map: a value's; aggregating: the accumulator's). */
  type?: TypeShape;
  /** Map state: the user key's type. */
  keyType?: TypeShape;
  ttl: boolean;
}

export function shapeOf(t: TypeInformation<unknown>): TypeShape {
  if (t instanceof ObjectType) return { object: t.fields.map(([k, f]) => [k, shapeOf(f)]) };
  if (t instanceof TupleType) return { tuple: t.elements.map(shapeOf) };
  if (t instanceof ArrayType) return { array: shapeOf(t.element) };
  if (t instanceof MapType) return { map: [shapeOf(t.key), shapeOf(t.value)] };
  if (t instanceof NullableType) return { nullable: shapeOf(t.inner) };
  return t.name;
}

export function metaOf(d: StateDescriptor<unknown>): StateMetaInfo {
  const meta: StateMetaInfo = { kind: d.kind, ttl: d.ttlConfig !== undefined };
  if (d.type !== undefined) meta.type = shapeOf(d.type);
  const keyType = keyTypeOf(d);
  if (keyType !== undefined) meta.keyType = shapeOf(keyType);
  return meta;
}

/** A map state's user key type (undefined for other kinds). */
function keyTypeOf(d: StateDescriptor<unknown>): TypeInformation<unknown> | undefined {
  return (d as Partial<MapStateDescriptor<unknown, unknown>>).keyType;
}

/** A type written the way users declare it, for messages. */
function typeText(s: TypeShape): string {
  if (typeof s === "string") return `Types.${s}`;
  if ("object" in s) return `Types.OBJECT({${s.object.map(([k, f]) => `${k}: ${typeText(f)}`).join(", ")}})`;
  if ("tuple" in s) return `Types.TUPLE(${s.tuple.map(typeText).join(", ")})`;
  if ("array" in s) return `Types.ARRAY(${typeText(s.array)})`;
  if ("map" in s) return `Types.MAP(${typeText(s.map[0])}, ${typeText(s.map[1])})`;
  return `Types.NULLABLE(${typeText(s.nullable)})`;
}

function sameShape(a: TypeShape, b: TypeShape): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Thrown inside valueMigration; the caller turns it into a StateMigrationError. */
class Incompatible {
  constructor(readonly reason: string) {}
}

type Migrate = (value: unknown) => unknown;

function at(path: string): string {
  return path === "" ? "the value" : `field '${path}'`;
}

/**
 * How a value written as `old` becomes a value of `now`: null when it already is one (no work per
 * value), else the function that rewrites it. Throws Incompatible when no rule applies.
 */
function valueMigration(old: TypeShape, now: TypeInformation<unknown>, path: string): Migrate | null {
  const shape = shapeOf(now);
  if (sameShape(old, shape) || now === GENERIC || old === "GENERIC") return null;
  if (old === "INT" && shape === "NUMBER") return null; // every safe integer is a number
  if (now instanceof NullableType) {
    const inner = valueMigration(
      typeof old === "object" && "nullable" in old ? old.nullable : old,
      now.inner,
      path,
    );
    return inner === null ? null : (v) => (v === null || v === undefined ? v : inner(v));
  }
  if (typeof old === "object" && "nullable" in old) {
    throw new Incompatible(
      `${at(path)} was ${typeText(old)} and is now ${typeText(shape)}: restored values may be null; keep it Types.NULLABLE`,
    );
  }
  if (now instanceof ObjectType && typeof old === "object" && "object" in old)
    return objectMigration(old.object, now, path);
  if (now instanceof ArrayType && typeof old === "object" && "array" in old) {
    const each = valueMigration(old.array, now.element, `${path}[]`);
    return each === null ? null : (v) => (Array.isArray(v) ? v.map(each) : v);
  }
  if (
    now instanceof TupleType &&
    typeof old === "object" &&
    "tuple" in old &&
    old.tuple.length === now.elements.length
  ) {
    const each = now.elements.map((t, i) => valueMigration(old.tuple[i], t, `${path}[${i}]`));
    if (each.every((m) => m === null)) return null;
    return (v) =>
      Array.isArray(v) ? v.map((x, i) => (each[i] === null || each[i] === undefined ? x : each[i]!(x))) : v;
  }
  if (now instanceof MapType && typeof old === "object" && "map" in old) {
    if (!readsAsIs(old.map[0], now.key)) {
      throw new Incompatible(
        `${at(path)}: the keys of a Types.MAP cannot be migrated (${typeText(old.map[0])} to ${typeText(shapeOf(now.key))})`,
      );
    }
    const each = valueMigration(old.map[1], now.value, `${path}.get()`);
    return each === null
      ? null
      : (v) => (v instanceof Map ? new Map([...v].map(([k, x]) => [k, each(x)])) : v);
  }
  throw new Incompatible(
    `${at(path)} was written as ${typeText(old)} and cannot be read as ${typeText(shape)}`,
  );
}

/**
 * Flink's rule for records (POJO schema evolution): a field removed is dropped; a field added
 * gets null, so it must be NULLABLE (or GENERIC: left out); a field kept migrates by its type.
 */
function objectMigration(
  old: Array<[string, TypeShape]>,
  now: ObjectType<unknown>,
  path: string,
): Migrate | null {
  const before = new Map(old);
  let changed = old.length !== now.fields.length;
  const plan: Array<[string, Migrate | null | "null"]> = [];
  for (const [name, t] of now.fields) {
    const fieldPath = path === "" ? name : `${path}.${name}`;
    const was = before.get(name);
    if (was === undefined) {
      changed = true;
      if (t instanceof NullableType) plan.push([name, "null"]);
      else if (t !== GENERIC) {
        throw new Incompatible(
          `field '${fieldPath}' (${typeText(shapeOf(t))}) is new: restored values do not have it; declare it Types.NULLABLE(${typeText(shapeOf(t))}) (restored values get null)`,
        );
      }
      continue;
    }
    const m = valueMigration(was, t, fieldPath);
    if (m !== null) changed = true;
    plan.push([name, m]);
  }
  if (!changed) return null;
  return (v) => {
    if (typeof v !== "object" || v === null) return v;
    const from = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [name, m] of plan) {
      if (m === "null") out[name] = null;
      // A kept field absent from a value (it was NULLABLE or GENERIC) stays absent.
      else if (name in from) out[name] = m === null ? from[name] : m(from[name]);
    }
    return out;
  };
}

function readsAsIs(old: TypeShape, now: TypeInformation<unknown>): boolean {
  try {
    return valueMigration(old, now, "") === null;
  } catch (e) {
    if (e instanceof Incompatible) return false;
    throw e;
  }
}

/**
 * Checks that the state `d` registers under can read what a checkpoint holds of `old`, and returns
 * how each stored value (the heap form: TtlValue-wrapped under TTL, an array for list state, a Map
 * for map state) becomes one of `d`: null when nothing needs to change. `now` is the TTL clock (a
 * value that gains TTL counts from the restore). Throws StateMigrationError.
 */
export function planStateRestore(
  old: StateMetaInfo,
  d: StateDescriptor<unknown>,
  now: () => number,
): ((stored: unknown) => unknown) | null {
  const fail = (what: string) => {
    throw new StateMigrationError(
      `state '${d.name}' cannot be restored: ${what}; restore from a checkpoint or savepoint the job's current state declarations can read, or give the changed state a new name (the restored one is then not read)`,
    );
  };
  if (old.kind !== d.kind)
    fail(`it was written as ${old.kind} state and is now registered as ${d.kind} state`);
  const keyType = keyTypeOf(d);
  if (old.keyType !== undefined && keyType !== undefined && !readsAsIs(old.keyType, keyType)) {
    fail(
      `its map keys were ${typeText(old.keyType)} and are now ${typeText(shapeOf(keyType))}; map keys cannot be migrated`,
    );
  }
  let each: Migrate | null = null;
  try {
    if (old.type !== undefined && d.type !== undefined) each = valueMigration(old.type, d.type, "");
  } catch (e) {
    if (e instanceof Incompatible) fail(e.reason);
    throw e;
  }
  const ttl = d.ttlConfig !== undefined;
  if (each === null && old.ttl === ttl) return null;
  const unwrap = old.ttl ? (s: unknown) => (s as TtlValue<unknown>).v : (s: unknown) => s;
  const convert = each ?? ((v: unknown) => v);
  // A value that keeps TTL keeps its last access; one that gains TTL counts from the restore.
  const one: Migrate = !ttl
    ? (s) => convert(unwrap(s))
    : old.ttl
      ? (s) => ({ v: convert((s as TtlValue<unknown>).v), ts: (s as TtlValue<unknown>).ts })
      : (s) => ({ v: convert(s), ts: now() });
  switch (d.kind) {
    case "list":
      return (stored) => (stored as unknown[]).map(one);
    case "map":
      return (stored) => new Map([...(stored as Map<unknown, unknown>)].map(([k, v]) => [k, one(v)]));
    default:
      return one;
  }
}

/**
 * The states' records of a checkpoint, by key-group range: [first key group, last, records]. Each
 * old subtask writes its own (its states registered there and those restored there and not
 * registered yet), so a restore at another parallelism knows each key group's.
 */
export type StateMetaRanges = Array<[number, number, Record<string, StateMetaInfo>]>;

/**
 * What a restore recorded of each state, per key group of one backend's range, until the state
 * registers: its registration is then checked and its restored entries migrated (planStateRestore).
 * Key groups from different old subtasks may hold entries written under different declarations (a
 * subtask whose state never registered before the checkpoint still wrote the older one).
 */
export class RestoredStateMeta {
  private readonly byGroup: Array<Record<string, StateMetaInfo> | undefined>;
  private restored = false;
  /** plansFor's answers by state name (a registered state's key groups may be restored after it). */
  private readonly plans = new Map<string, ((keyGroupIndex: number) => Migrate | null) | null>();

  constructor(
    private readonly start: number,
    private readonly end: number,
  ) {
    this.byGroup = new Array(Math.max(0, end - start + 1)).fill(undefined);
  }

  restore(parts: StateMetaRanges): void {
    this.plans.clear();
    for (const [from, to, states] of parts) {
      for (let g = Math.max(from, this.start); g <= Math.min(to, this.end); g++) {
        this.byGroup[g - this.start] = states;
        this.restored = true;
      }
    }
  }

  /** A backend's stateMetaInfo(): its registered states' records over what was restored for others. */
  snapshotOf(
    states: ReadonlyMap<string, { readonly descriptor: StateDescriptor<unknown> }>,
  ): StateMetaRanges {
    const registered: Record<string, StateMetaInfo> = {};
    for (const [name, st] of states) registered[name] = metaOf(st.descriptor);
    return this.snapshot(registered);
  }

  /**
   * A backend's restoreStateMetaInfo(): takes the records and checks the states registered already
   * (throws StateMigrationError), whose key groups are still to come.
   */
  restoreChecked(
    parts: StateMetaRanges,
    states: ReadonlyMap<string, { readonly descriptor: StateDescriptor<unknown> }>,
    now: () => number,
  ): void {
    this.restore(parts);
    for (const st of states.values()) this.plansFor(st.descriptor, now);
  }

  /** The records a checkpoint of the backend writes: `registered` over what was restored for other names. */
  snapshot(registered: Record<string, StateMetaInfo>): StateMetaRanges {
    const out: StateMetaRanges = [];
    if (!this.restored) {
      if (Object.keys(registered).length > 0) out.push([this.start, this.end, registered]);
      return out;
    }
    let from = this.start;
    for (let g = this.start; g <= this.end; g++) {
      const here = this.byGroup[g - this.start];
      if (g < this.end && this.byGroup[g + 1 - this.start] === here) continue;
      const merged: Record<string, StateMetaInfo> = { ...here, ...registered };
      if (Object.keys(merged).length > 0) out.push([from, g, merged]);
      from = g + 1;
    }
    return out;
  }

  /**
   * For `d` registering: checks every key group's record of its name (throws StateMigrationError)
   * and returns, by key group index, how a restored stored value becomes one of `d`; null when no
   * key group needs a change.
   */
  plansFor(
    d: StateDescriptor<unknown>,
    now: () => number,
  ): ((keyGroupIndex: number) => Migrate | null) | null {
    if (!this.restored) return null;
    const known = this.plans.get(d.name);
    if (known !== undefined || this.plans.has(d.name)) return known ?? null;
    const plans = this.findPlans(d, now);
    this.plans.set(d.name, plans);
    return plans;
  }

  private findPlans(
    d: StateDescriptor<unknown>,
    now: () => number,
  ): ((keyGroupIndex: number) => Migrate | null) | null {
    const byRecord = new Map<StateMetaInfo, Migrate | null>();
    const byText = new Map<string, Migrate | null>();
    let any = false;
    for (const states of this.byGroup) {
      const m = states?.[d.name];
      if (m === undefined || byRecord.has(m)) continue;
      const text = JSON.stringify(m);
      let plan = byText.get(text);
      if (plan === undefined && !byText.has(text)) {
        plan = planStateRestore(m, d, now);
        byText.set(text, plan);
      }
      byRecord.set(m, plan ?? null);
      if (plan) any = true;
    }
    if (!any) return null;
    return (i) => {
      const m = this.byGroup[i]?.[d.name];
      return m === undefined ? null : (byRecord.get(m) ?? null);
    };
  }
}
