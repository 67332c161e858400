// A copy of a record with one field replaced, as `{ ...record, [field]: value }` makes it, but
// through a function generated per record shape (the keys in order): the built-in keyed
// aggregations (sum/min/max) emit such a copy for every record, and the generic spread with a
// computed key costs several times more than an object literal of a known shape.

const MAX_SHAPES = 8;

interface Shape {
  /** The record's own enumerable string keys, in order (what a spread copies). */
  readonly keys: readonly string[];
  readonly copy: (record: object, value: unknown) => object;
}

/**
 * Returns `(record, value) => copy`, equal to `{ ...record, [field]: value }` for records whose
 * for-in keys are their own keys (plain objects, class instances without enumerable inherited
 * properties) and that have no symbol keys when their shape is first seen. Others take the spread.
 */
export function fieldReplacer(field: string): (record: object, value: unknown) => object {
  const shapes: Shape[] = [];
  let last: Shape | undefined;
  const spread = (record: object, value: unknown): object => ({ ...record, [field]: value });

  const matches = (shape: Shape, record: object): boolean => {
    const keys = shape.keys;
    let i = 0;
    for (const k in record) if (k !== keys[i++]) return false;
    return i === keys.length;
  };

  return (record, value) => {
    if (last !== undefined && matches(last, record)) return last.copy(record, value);
    for (const s of shapes) {
      if (s !== last && matches(s, record)) {
        last = s;
        return s.copy(record, value);
      }
    }
    if (shapes.length >= MAX_SHAPES) return spread(record, value);
    const keys = Object.keys(record);
    const shape: Shape = { keys, copy: compile(keys, field) };
    if (!matches(shape, record) || Object.getOwnPropertySymbols(record).length > 0) {
      return spread(record, value);
    }
    shapes.push(shape);
    last = shape;
    return shape.copy(record, value);
  };
}

function compile(keys: readonly string[], field: string): (record: object, value: unknown) => object {
  // `"__proto__": v` in a literal would set the prototype; the computed form defines an own
  // property, as a spread does. Other keys stay literal (a literal of known keys is the fast path).
  const name = (k: string) => (k === "__proto__" ? `["__proto__"]` : JSON.stringify(k));
  const parts = keys.map((k) => `${name(k)}: ${k === field ? "v" : `r[${JSON.stringify(k)}]`}`);
  if (!keys.includes(field)) parts.push(`${name(field)}: v`);
  return new Function("r", "v", `return { ${parts.join(", ")} };`) as (
    record: object,
    value: unknown,
  ) => object;
}
