// The process harness of the cluster tests (test/cluster/process-cluster.ts) keeps what a child
// prints whole: a character of several bytes split between two reads of the pipe stays one
// character (a word count's words have them, and a test compares them).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startCommand } from "./process-cluster.ts";

describe("the process harness", () => {
  it("keeps multi-byte characters whole across reads of stdout and stderr", async () => {
    // An odd number of bytes first, so that reads of the pipe end inside a two-byte 'é'.
    const text = `a${"é".repeat(200_000)}`;
    const write = `const t = "a" + "é".repeat(200000); process.stdout.write(t); process.stderr.write(t);`;
    const p = startCommand([process.execPath, "-e", write], {});
    assert.equal(await p.exited, 0);
    assert.ok(p.out() === text, "stdout kept whole");
    assert.ok(p.err() === text, "stderr kept whole");
  });
});
