// The import direction between layers (DESIGN.md §2, docs/architecture.md "Layers"): a module
// may import its own layer and the layers below it, never one above; state and network are
// peers that do not import each other; connectors see only the package's public entry points.
// Every relative import under src/ is read, including `export … from` and dynamic `import()`.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";

const SRC = resolve(import.meta.dirname, "../../src");

/** Rank of each layer: a module may import only layers of a lower rank, or its own. */
const RANK: Record<string, number> = {
  core: 0,
  state: 1,
  network: 1,
  runtime: 2,
  checkpoint: 3,
  graph: 4,
  execution: 5,
  api: 6,
  testing: 7,
  entry: 7, // src/index.ts and the other public entry points at the top of src/
  connectors: 8,
  cluster: 9,
  nexmark: 10, // the Nexmark benchmark as an application (queries, job, runner), used by the CLI
  web: 10,
  // `weir run --rest-port` serves web's REST server: the commands sit on top of it.
  cli: 11,
};

/** Public entry points a connector may import (what a user of the package can import). */
const PUBLIC_ENTRIES = new Set(["index.ts", "testing/index.ts"]);

interface Import {
  from: string; // path of the importing file, relative to src/
  to: string; // path of the imported file, relative to src/
  specifier: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return name.endsWith(".ts") ? [path] : [];
    });
}

function relativeImports(): Import[] {
  const pattern = /(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  const out: Import[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(pattern)) {
      const specifier = m[1] ?? m[2] ?? "";
      if (!specifier.startsWith(".")) continue;
      const target = resolve(dirname(file), specifier);
      out.push({ from: toSrc(file), to: toSrc(target), specifier });
    }
  }
  return out;
}

function toSrc(path: string): string {
  return relative(SRC, path).split(sep).join("/");
}

/** The layer a file belongs to: its first folder under src/, or "entry" for files at the top. */
function layerOf(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? "entry" : path.slice(0, slash);
}

/** A connector's own folder: src/connectors/<name>/. */
function connectorOf(path: string): string | undefined {
  const parts = path.split("/");
  return parts[0] === "connectors" ? parts[1] : undefined;
}

function violation(imp: Import): string | undefined {
  const from = layerOf(imp.from);
  const to = layerOf(imp.to);
  const fromRank = RANK[from];
  const toRank = RANK[to];
  if (fromRank === undefined) return `${imp.from}: its folder src/${from}/ is not a layer of DESIGN.md §2`;
  if (toRank === undefined) return `${imp.from} imports ${imp.specifier}: not inside a layer`;
  if (from === "connectors") {
    if (connectorOf(imp.from) === connectorOf(imp.to)) return undefined;
    if (PUBLIC_ENTRIES.has(imp.to)) return undefined;
    return `${imp.from} imports ${imp.specifier}: a connector sees only the package's public entry points (${[...PUBLIC_ENTRIES].join(", ")})`;
  }
  if (from === to) return undefined;
  if (toRank > fromRank)
    return `${imp.from} (layer ${from}) imports ${imp.specifier} (layer ${to}, above it)`;
  if (toRank === fromRank)
    return `${imp.from} (layer ${from}) imports ${imp.specifier} (layer ${to}, a peer)`;
  return undefined;
}

describe("layers", () => {
  it("finds the imports it checks", () => {
    const imports = relativeImports();
    assert.ok(imports.length > 500, `only ${imports.length} relative imports found under src/`);
    assert.ok(imports.some((i) => layerOf(i.from) === "runtime" && layerOf(i.to) === "core"));
  });

  it("no module imports a layer above its own, a peer layer, or a connector's internals", () => {
    const problems = relativeImports()
      .map(violation)
      .filter((v): v is string => v !== undefined);
    assert.deepEqual(problems, [], `imports against the layer direction:\n${problems.join("\n")}`);
  });

  it("reports an upward import", () => {
    assert.match(
      violation({
        from: "state/heap.ts",
        to: "runtime/stream-task.ts",
        specifier: "../runtime/stream-task.ts",
      }) ?? "",
      /above it/,
    );
    assert.match(
      violation({ from: "state/x.ts", to: "network/buffer.ts", specifier: "../network/buffer.ts" }) ?? "",
      /a peer/,
    );
    assert.match(
      violation({
        from: "connectors/pg/a.ts",
        to: "runtime/outputs.ts",
        specifier: "../../runtime/outputs.ts",
      }) ?? "",
      /public entry points/,
    );
    assert.equal(violation({ from: "api/a.ts", to: "core/b.ts", specifier: "../core/b.ts" }), undefined);
  });
});
