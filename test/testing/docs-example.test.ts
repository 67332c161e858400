// The example of docs/testing.md runs as part of the suite (its tests register here), and the
// page's listings must be the example files, byte for byte: the documentation cannot rot.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import "../../examples/testing/click-sessions.test.ts";

const root = resolve(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(resolve(root, path), "utf8");

describe("docs/testing.md", () => {
  for (const file of ["examples/testing/click-sessions.ts", "examples/testing/click-sessions.test.ts"]) {
    it(`shows ${file} as it is`, () => {
      assert.ok(
        read("docs/testing.md").includes(`\`\`\`ts\n${read(file)}\`\`\``),
        `docs/testing.md must list ${file} unchanged in a ts code block; copy the file into the page`,
      );
    });
  }
});
