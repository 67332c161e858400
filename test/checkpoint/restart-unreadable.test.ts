// A restart whose latest completed checkpoint cannot be read (its `_metadata` is gone: removed by
// hand, a disk fault) fails the job with that reason, naming the checkpoint, and the process exits
// by itself: before the fix, the checkpoint coordinator's periodic timer outlived the failed job
// and kept the process (in CI: the test runner) alive forever. Runs the job in a child process.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const dir = mkdtempSync(join(tmpdir(), "weir-unreadable-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const JOB = fileURLToPath(new URL("./fixtures/unreadable-restart-job.ts", import.meta.url));

describe("a restart that cannot read its checkpoint", () => {
  it("fails the job, naming the checkpoint, and the process exits by itself", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", JOB, dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (out += b));
    const code = await new Promise<number | string | null>((resolve) => {
      const deadline = setTimeout(() => {
        child.kill("SIGKILL");
        resolve("still running after the job failed");
      }, 60_000);
      child.on("exit", (c) => {
        clearTimeout(deadline);
        resolve(c);
      });
    });
    assert.match(out, /FAILED: .*chk-\d+.*_metadata/s, out);
    assert.equal(code, 0, `the process exits once the job failed: ${out}`);
  });
});
