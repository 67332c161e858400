// Ctrl-C with a --savepoint-dir that cannot be written: the stop fails as in Flink (nothing of the
// savepoint is committed), `weir run` cancels the job all the same, keeps its latest checkpoint,
// and says in one line why and how to resume.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { FIXTURES, ROOT, spawnWeir } from "./cli-harness.ts";

const scratch = mkdtempSync(join(tmpdir(), "weir-cli-savepoint-failure-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Resolves once `condition` holds, checked every 20 ms; fails after a generous deadline. */
async function waitFor(condition: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("weir run: a savepoint that cannot be taken", () => {
  it("cancels the job, keeps its latest checkpoint and names it for --from-savepoint", async () => {
    const file = join(scratch, "a-file");
    writeFileSync(file, "not a directory\n");
    const run = spawnWeir([
      "run",
      `${FIXTURES}/cancel-summary-job.ts`,
      "-p",
      "1",
      "--checkpoint-interval",
      "100",
      "--checkpoint-dir",
      join(scratch, "cp"),
      "--savepoint-dir",
      join(file, "savepoints"),
    ]);
    try {
      // Wait for a completed checkpoint: the one to resume from.
      await run.until((out) => /progress: [1-9]\d* records/.test(out));
      await waitFor(() =>
        readdirSync(join(scratch, "cp"), { recursive: true }).some((f) => String(f).endsWith("_metadata")),
      );
      run.child.kill("SIGINT");
      const { code } = await run.exited;
      assert.equal(code, 1, run.stderr());
      const last = run.stderr().trim().split("\n").at(-1)!;
      const m =
        /^weir: job 'cancel-summary-job' could not take a savepoint, and was cancelled instead: .+; nothing of the savepoint was committed; resume from the latest checkpoint with --from-savepoint (\S+)$/.exec(
          last,
        );
      assert.ok(m !== null, run.stderr());
      assert.ok(existsSync(join(resolve(ROOT, m[1]!), "_metadata")), `the checkpoint is kept: ${m[1]}`);
      assert.ok(!run.stderr().includes("    at "), "no stack trace");
    } finally {
      run.child.kill("SIGKILL");
    }
  });
});
