// Deep copies of heap state values, for copy-on-write snapshots: after a snapshot, the first access
// to a key group copies its entries, so the task can change them while the snapshot still reads the
// originals. Plain data is copied (objects with their prototype and own enumerable fields, arrays,
// Maps, Sets, Dates, typed arrays); primitives, functions and frozen objects are shared as they are
// (they cannot change).

/** A copy of `value` that shares nothing mutable with it. */
export function copyStateValue<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  return copyObject(value as object) as T;
}

function copyObject(o: object): object {
  if (Array.isArray(o)) {
    const out = new Array(o.length);
    for (let i = 0; i < o.length; i++) out[i] = copyStateValue(o[i]);
    return out;
  }
  if (Object.isFrozen(o)) return o;
  if (o instanceof Map) {
    const out = new Map();
    for (const [k, v] of o) out.set(k, copyStateValue(v));
    return out;
  }
  if (o instanceof Set) {
    const out = new Set();
    for (const v of o) out.add(copyStateValue(v));
    return out;
  }
  if (o instanceof Date) return new Date(o.getTime());
  if (o instanceof DataView) return new DataView(o.buffer.slice(o.byteOffset, o.byteOffset + o.byteLength));
  if (ArrayBuffer.isView(o)) return (o as unknown as { slice(): object }).slice();
  const out = Object.create(Object.getPrototypeOf(o)) as Record<string, unknown>;
  for (const k of Object.keys(o)) out[k] = copyStateValue((o as Record<string, unknown>)[k]);
  return out;
}
