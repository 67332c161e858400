// The package's name is used consistently: every import of the package in the README, the docs,
// the examples, the tests and the sources names it as package.json does ("weir" on the npm
// registry is someone else's package), and every entry point imported is in the exports map.

import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  exports: Record<string, unknown>;
};

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else if (/\.(ts|mts|mjs|js|md)$/.test(name)) out.push(p);
  }
  return out;
}

const FILES = [
  join(ROOT, "README.md"),
  ...["docs", "examples", "src", "test", "bench"].flatMap((d) => filesUnder(join(ROOT, d))),
];

/** Bare specifiers of Weir's package (the old name or the new) in `from "..."` and `import("...")`. */
const IMPORT = /(?:from\s+|import\(\s*)["'](weir(?:-stream)?(?:\/[^"']*)?)["']/g;

describe("the package name", () => {
  it("is what the README, docs, examples, tests and sources import", () => {
    const wrong: string[] = [];
    let seen = 0;
    for (const file of FILES) {
      for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
        const specifier = m[1]!;
        seen++;
        const entry = specifier === PKG.name ? "." : `.${specifier.slice(PKG.name.length)}`;
        if (!specifier.startsWith(PKG.name) || !(entry in PKG.exports)) {
          wrong.push(`${relative(ROOT, file)}: "${specifier}"`);
        }
      }
    }
    assert.ok(seen > 10, `the examples and fixtures import the package (${seen} imports found)`);
    assert.deepEqual(wrong, [], `imports must name ${PKG.name} and an entry of its exports map`);
  });
});
