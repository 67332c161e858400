// Plain-text tables for benchmark output: left-aligned text, right-aligned numbers.

export type Cell = string | number;

export function formatTable(header: string[], rows: Cell[][]): string {
  const text = rows.map((r) => r.map((c) => String(c)));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]?.length ?? 0)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => isNumberLike(r[i])));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...text.map(line)].join("\n");
}

function isNumberLike(c: Cell | undefined): boolean {
  return typeof c === "number" || (typeof c === "string" && /^[-+]?[\d.,]+[x%]?$|^[-–]$|^\[/.test(c));
}

/** 12_345_678 -> "12.35" (millions, 2 decimals below 100). */
export function millions(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const m = n / 1e6;
  return m >= 100 ? m.toFixed(0) : m >= 10 ? m.toFixed(1) : m.toFixed(2);
}

export function fixed(n: number | undefined, digits: number): string {
  return n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(digits);
}
