// `weir run`'s live status line off a terminal (a pipe, as in CI): plain lines on stderr, never
// on stdout, every $WEIR_STATUS_INTERVAL_MS; none with --quiet.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { FIXTURES, spawnWeir } from "./cli-harness.ts";

const scratch = mkdtempSync(join(tmpdir(), "weir-cli-status-"));
// A short interval, so that the test waits seconds, not tens of seconds, for the first line.
const FAST = { WEIR_STATUS_INTERVAL_MS: "100" };
after(() => rmSync(scratch, { recursive: true, force: true }));

const STATUS =
  /^weir: \d+(h\d\dm|m\d\ds|s) \| in ([\d,.]+)\/s \| out ([\d,.]+)\/s \| (no watermark|watermark [^|]+) \| checkpoint (\d+) \(\d+s ago\) \| restarts 0 \| (no backpressure|backpressured: .+)$/m;

describe("weir run: status line off a terminal", () => {
  it("prints plain status lines on stderr while an unbounded job runs; stdout keeps only the job's output", async () => {
    const run = spawnWeir(
      [
        "run",
        `${FIXTURES}/unbounded-job.ts`,
        "-p",
        "1",
        "--checkpoint-interval",
        "100",
        "--checkpoint-dir",
        join(scratch, "cp"),
      ],
      FAST,
    );
    try {
      // A line that shows records flowing and a completed checkpoint.
      await run.until((err) => {
        const lines = err.split("\n").map((l) => STATUS.exec(l));
        return lines.some((m) => m !== null && Number(m[2]!.replace(/,/g, "")) > 0 && Number(m[5]) >= 1);
      }, "stderr");
      run.child.kill("SIGINT");
      const { code } = await run.exited;
      assert.equal(code, 0, run.stderr());
      const err = run.stderr();
      assert.ok(!err.includes("\r") && !err.includes("\x1b"), `no terminal controls off a terminal:\n${err}`);
      for (const line of err.split("\n").filter((l) => l.length > 0)) {
        assert.ok(
          STATUS.test(line) ||
            /its source is unbounded|cancelling job/.test(line) ||
            /^weir: \d+s \| starting tasks/.test(line),
          `a status line or one of the run's own: ${line}`,
        );
      }
      const out = run
        .stdout()
        .split("\n")
        .filter((l) => l.length > 0);
      assert.ok(out.length > 0);
      for (const line of out) {
        assert.ok(
          /^progress: \d+ records$/.test(line) ||
            /^Job 'unbounded-job' cancelled after/.test(line) ||
            /^Counted until it stopped: /.test(line),
          `only the job's records and the summary on stdout: ${line}`,
        );
      }
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("--quiet prints no status line", async () => {
    const run = spawnWeir(["run", `${FIXTURES}/unbounded-job.ts`, "-p", "1", "--quiet"], FAST);
    try {
      // 2,000 records take the generator (2,000/s) a second: ten status intervals.
      await run.until((out) => /progress: [2-9]\d{3,} records/.test(out));
      run.child.kill("SIGINT");
      const { code } = await run.exited;
      assert.equal(code, 0, run.stderr());
      assert.ok(!/\| restarts /.test(run.stderr()), `no status line:\n${run.stderr()}`);
      assert.match(run.stderr(), /its source is unbounded/);
    } finally {
      run.child.kill("SIGKILL");
    }
  });
});
