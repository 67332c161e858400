// The storage of one keyed state on the heap: per key group, a Map from key to value for the void
// namespace and, only once other namespaces (windows) are used, a Map from namespace to such a Map.
// Sharding per key group keeps every Map far below V8's 2^24-entry limit and lets a key-group
// range be snapshotted or restored alone. Also owns the current key/namespace (KeyContext) and the
// encoding of keys into Map keys.
//
// Snapshots are copy-on-write per key group: capture() hands the current Maps to a snapshot and
// marks their key groups shared; the first access to a shared key group afterwards replaces its
// Maps by copies (values copied with copyValue), so the snapshot keeps reading what was there at
// the barrier while the task goes on. Nothing else may keep a Map across such an access.

import { canonicalKey } from "../core/key-groups.ts";
import { InvalidArgumentError } from "../core/errors.ts";

/** The namespace of state that is not scoped to a window. */
export const VOID_NAMESPACE: unique symbol = Symbol("VOID_NAMESPACE");
/** A window (or other scope) reduced to a primitive by its operator; VOID_NAMESPACE when unscoped. */
export type Namespace = string | number | typeof VOID_NAMESPACE;

/** A Map key standing for a user key: primitives as they are, composite keys as escaped canonical text. */
export type MapKey = string | number | boolean | bigint;

/** What all state handles of one backend read at call time. */
export interface KeyContext {
  key: unknown;
  mapKey: MapKey;
  /** Key group minus the first key group of the backend's range. */
  keyGroupIndex: number;
  namespace: Namespace;
}

// Composite keys become "\0c" + canonical text; strings that start with "\0" become "\0s" + string.
// So a string key never collides with a composite key's text, and both can be decoded.
const ESC = "\u0000";

export function mapKeyOf(key: unknown): MapKey {
  switch (typeof key) {
    case "string":
      return key.length > 0 && key.charCodeAt(0) === 0 ? `${ESC}s${key}` : key;
    case "number":
    case "boolean":
    case "bigint":
      return key;
    default:
      return `${ESC}c${canonicalKey(key)}`;
  }
}

/** The user key back from its Map key (composite keys are rebuilt from their canonical text). */
export function keyOfMapKey(mapKey: MapKey): unknown {
  if (typeof mapKey !== "string" || mapKey.length === 0 || mapKey.charCodeAt(0) !== 0) return mapKey;
  if (mapKey[1] === "s") return mapKey.slice(2);
  return new CanonicalKeyParser(mapKey, 2).parse();
}

/** Parses canonicalKey's text form: JSON plus NaN, Infinity and bigints ("12n"). */
class CanonicalKeyParser {
  constructor(
    private readonly s: string,
    private i: number,
  ) {}
  parse(): unknown {
    const c = this.s[this.i];
    if (c === "[") {
      this.i++;
      const out: unknown[] = [];
      if (this.s[this.i] === "]") {
        this.i++;
        return out;
      }
      for (;;) {
        out.push(this.parse());
        if (this.s[this.i++] === "]") return out;
      }
    }
    if (c === "{") {
      this.i++;
      const out: Record<string, unknown> = {};
      if (this.s[this.i] === "}") {
        this.i++;
        return out;
      }
      for (;;) {
        const k = this.parseString();
        this.i++; // ':'
        out[k] = this.parse();
        if (this.s[this.i++] === "}") return out;
      }
    }
    if (c === '"') return this.parseString();
    let j = this.i;
    while (j < this.s.length && !",]}".includes(this.s[j]!)) j++;
    const tok = this.s.slice(this.i, j);
    this.i = j;
    if (tok === "true") return true;
    if (tok === "false") return false;
    if (tok.endsWith("n")) return BigInt(tok.slice(0, -1));
    return Number(tok);
  }
  private parseString(): string {
    let j = this.i + 1;
    while (this.s[j] !== '"') j += this.s[j] === "\\" ? 2 : 1;
    const str = JSON.parse(this.s.slice(this.i, j + 1)) as string;
    this.i = j + 1;
    return str;
  }
}

export function checkNamespace(ns: unknown): Namespace {
  if (typeof ns === "string" || typeof ns === "number" || ns === VOID_NAMESPACE) return ns;
  throw new InvalidArgumentError(
    `a state namespace must be a string, a number or VOID_NAMESPACE, got ${ns === null ? "null" : typeof ns}; convert the window into a primitive key (e.g. \`\${start}:\${end}\`)`,
  );
}

type KeyMap = Map<MapKey, unknown>;

/** The Maps of one state at a snapshot: read only, by the snapshot, while the task copies on write. */
export interface TableSnapshot {
  readonly voidGroups: ReadonlyArray<KeyMap | undefined>;
  readonly nsGroups: ReadonlyArray<Map<Namespace, KeyMap> | undefined> | undefined;
}

export class StateTable {
  /** Void-namespace state per key group (index = key group - range start). */
  readonly voidGroups: Array<KeyMap | undefined>;
  /** Namespaced state per key group; created on first use of a namespace. */
  nsGroups: Array<Map<Namespace, KeyMap> | undefined> | undefined = undefined;
  /** 1 where a live snapshot still reads the key group's Maps: copy them before the next access. */
  private readonly shared: Uint8Array;
  /** Copies one stored value (set by the state handle: its kind knows what is mutable). */
  copyValue: (stored: unknown) => unknown = (v) => v;

  constructor(
    readonly name: string,
    private readonly numKeyGroups: number,
    private readonly ctx: KeyContext,
  ) {
    this.voidGroups = new Array(numKeyGroups);
    this.shared = new Uint8Array(numKeyGroups);
  }

  /** The Map of the current key group and namespace, if it exists. */
  current(): KeyMap | undefined {
    const ctx = this.ctx;
    const i = ctx.keyGroupIndex;
    if (this.shared[i] !== 0) this.unshare(i);
    return ctx.namespace === VOID_NAMESPACE ? this.voidGroups[i] : this.nsGroups?.[i]?.get(ctx.namespace);
  }

  /** The Map of the current key group and namespace, created when missing. */
  currentOrCreate(): KeyMap {
    const ctx = this.ctx;
    const i = ctx.keyGroupIndex;
    if (ctx.namespace === VOID_NAMESPACE) {
      if (this.shared[i] !== 0) this.unshare(i);
      const m = this.voidGroups[i];
      if (m !== undefined) return m;
      return (this.voidGroups[i] = new Map());
    }
    return this.mapOrCreate(i, ctx.namespace);
  }

  mapOf(keyGroupIndex: number, ns: Namespace): KeyMap | undefined {
    if (this.shared[keyGroupIndex] !== 0) this.unshare(keyGroupIndex);
    if (ns === VOID_NAMESPACE) return this.voidGroups[keyGroupIndex];
    return this.nsGroups?.[keyGroupIndex]?.get(ns);
  }

  mapOrCreate(keyGroupIndex: number, ns: Namespace): KeyMap {
    if (this.shared[keyGroupIndex] !== 0) this.unshare(keyGroupIndex);
    if (ns === VOID_NAMESPACE) return (this.voidGroups[keyGroupIndex] ??= new Map());
    const groups = (this.nsGroups ??= new Array(this.numKeyGroups));
    const byNs = (groups[keyGroupIndex] ??= new Map());
    let m = byNs.get(ns);
    if (m === undefined) byNs.set(ns, (m = new Map()));
    return m;
  }

  /** Removes the current key's entry in namespace `ns` (dropping the namespace's Map when empty). */
  delete(keyGroupIndex: number, ns: Namespace, mapKey: MapKey): boolean {
    const m = this.mapOf(keyGroupIndex, ns);
    if (m === undefined || !m.delete(mapKey)) return false;
    if (m.size === 0 && ns !== VOID_NAMESPACE) this.nsGroups![keyGroupIndex]!.delete(ns);
    return true;
  }

  /** Drops a namespace Map that became empty (void-namespace Maps stay: one per key group). */
  dropIfEmpty(keyGroupIndex: number, ns: Namespace, m: KeyMap): void {
    if (m.size === 0 && ns !== VOID_NAMESPACE) this.nsGroups?.[keyGroupIndex]?.delete(ns);
  }

  size(): number {
    let n = 0;
    for (const m of this.voidGroups) n += m?.size ?? 0;
    for (const byNs of this.nsGroups ?? []) for (const m of byNs?.values() ?? []) n += m.size;
    return n;
  }

  /**
   * For a snapshot: the Maps as they are now, whose key groups become shared (copied on their next
   * access). Cheap: two array copies, whatever the number of entries.
   */
  capture(): TableSnapshot {
    const ns = this.nsGroups;
    for (let i = 0; i < this.numKeyGroups; i++) {
      if (this.voidGroups[i] !== undefined || ns?.[i] !== undefined) this.shared[i] = 1;
    }
    return { voidGroups: this.voidGroups.slice(), nsGroups: ns?.slice() };
  }

  /** No snapshot reads this table's captured Maps any more: stop copying on access. */
  releaseShared(): void {
    this.shared.fill(0);
  }

  /** Replaces a shared key group's Maps (and the values in them) by copies the task may change. */
  private unshare(i: number): void {
    this.shared[i] = 0;
    const v = this.voidGroups[i];
    if (v !== undefined) this.voidGroups[i] = this.copyMap(v);
    const byNs = this.nsGroups?.[i];
    if (byNs !== undefined) {
      const copy = new Map<Namespace, KeyMap>();
      for (const [ns, m] of byNs) copy.set(ns, this.copyMap(m));
      this.nsGroups![i] = copy;
    }
  }

  private copyMap(m: KeyMap): KeyMap {
    const out = new Map(m);
    const copy = this.copyValue;
    for (const [k, v] of out) if (typeof v === "object" && v !== null) out.set(k, copy(v));
    return out;
  }

  /** Every (namespace, Map) of one key group: the unit a snapshot writes and a restore reads. */
  *namespacesOf(keyGroupIndex: number): Generator<[Namespace, KeyMap]> {
    if (this.shared[keyGroupIndex] !== 0) this.unshare(keyGroupIndex);
    const v = this.voidGroups[keyGroupIndex];
    if (v !== undefined && v.size > 0) yield [VOID_NAMESPACE, v];
    const byNs = this.nsGroups?.[keyGroupIndex];
    if (byNs !== undefined) for (const e of byNs) yield e;
  }

  /** Every stored entry, key group by key group (live: deleting the visited entry is safe). */
  *entries(): Generator<[number, Namespace, KeyMap, MapKey]> {
    for (let i = 0; i < this.numKeyGroups; i++) {
      for (const [ns, m] of this.namespacesOf(i)) for (const k of m.keys()) yield [i, ns, m, k];
    }
  }
}
