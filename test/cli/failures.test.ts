// `weir run` never hides a failure: each failed attempt is a line on stderr as it happens (operator,
// uid, subtask, the cause's first line, attempt, delay), a repeated failure is called out, the
// summary repeats the last cause, and Ctrl-C or SIGTERM stop a job that is restarting at once.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { FIXTURES, type LiveRun, spawnWeir, weir } from "./cli-harness.ts";

const scratch = mkdtempSync(join(tmpdir(), "weir-cli-failures-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const FAILING = `${FIXTURES}/failing-sink-job.ts`;
const RESTART_LINE =
  /^weir: job 'failing-sink-job' failed \(attempt (\d+)\): operator 'Refusing sink' \(uid refusing-sink\), subtask 1\/1: Error: the sink refuses every record(?: \(the same failure (\d+) times in a row\))?; restarting in ([\d.]+)s \((.+)\)$/gm;

/** Resolves with the exit of `run`, or fails when it has not exited `ms` after the call. */
async function exitWithin(
  run: LiveRun,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms later; stderr:\n${run.stderr()}`)), ms);
  });
  try {
    return await Promise.race([run.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("weir run: failures and restarts", () => {
  it("prints every failed attempt as it happens, with exponential backoff by default, and calls out a repeated failure", async () => {
    const run = spawnWeir([
      "run",
      FAILING,
      "-p",
      "1",
      "--checkpoint-interval",
      "200",
      "--checkpoint-dir",
      join(scratch, "cp1"),
    ]);
    try {
      await run.until((err) => err.includes("the same failure 3 times in a row"), "stderr");
      const lines = [...run.stderr().matchAll(RESTART_LINE)];
      assert.ok(lines.length >= 3, run.stderr());
      assert.deepEqual(
        lines.slice(0, 3).map((m) => [m[1], m[2]]),
        [
          ["1", undefined],
          ["2", "2"],
          ["3", "3"],
        ],
      );
      // The default of a checkpointing job (as in Flink 1.19): 1 s, then x1.5 per failure, +-10%.
      const delays = lines.slice(0, 3).map((m) => Number(m[3]));
      assert.ok(delays[0]! >= 0.85 && delays[0]! <= 1.15, `first delay ~1 s: ${delays}`);
      assert.ok(delays[2]! >= 2.25 * 0.85 && delays[2]! <= 2.25 * 1.15, `third delay ~2.25 s: ${delays}`);
      assert.match(lines[0]![4]!, /^exponential backoff: x1.5 per failure, up to 60.0s$/);
      assert.ok(!run.stderr().includes("second line of the cause"), "the cause's first line only");
      assert.ok(!run.stderr().includes("    at "), "no stack trace");
      run.child.kill("SIGINT");
      const { code } = await run.exited;
      assert.equal(code, 0, run.stderr());
      assert.match(run.stdout(), /^Job 'failing-sink-job' cancelled after [\d.]+s \(Ctrl-C\)$/m);
      assert.match(
        run.stdout(),
        /^Last failure \(attempt \d+, the same failure \d+ times in a row\): operator 'Refusing sink' \(uid refusing-sink\), subtask 1\/1: Error: the sink refuses every record$/m,
      );
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("with --verbose, each failed attempt's line is followed by the user code's stack", async () => {
    const r = await weir([
      "run",
      FAILING,
      "-p",
      "1",
      "--verbose",
      "--checkpoint-interval",
      "200",
      "--checkpoint-dir",
      join(scratch, "cp-verbose"),
      "--restart-strategy",
      "fixed-delay:1:10",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /restarting in 0.01s \(fixed delay, at most 1 restart\)\nCaused by:\nError: the sink refuses every record\nsecond line of the cause\n {4}at .*failing-sink-job\.ts/,
    );
  });

  it("a job that runs out of restarts says how often the same failure happened, and exits 1", async () => {
    const r = await weir([
      "run",
      FAILING,
      "-p",
      "1",
      "--checkpoint-interval",
      "200",
      "--checkpoint-dir",
      join(scratch, "cp2"),
      "--restart-strategy",
      "fixed-delay:2:50",
    ]);
    assert.equal(r.code, 1, r.stderr);
    const restarts = [...r.stderr.matchAll(RESTART_LINE)];
    assert.equal(restarts.length, 2, r.stderr);
    assert.match(restarts[1]![4]!, /^fixed delay, at most 2 restarts$/);
    const last = r.stderr.trim().split("\n").at(-1)!;
    assert.match(
      last,
      /^weir: job 'failing-sink-job' failed: operator 'Refusing sink' \(uid refusing-sink\), subtask 1\/1: Error: the sink refuses every record/,
    );
    assert.match(last, /\(after 2 restarts\) \(the same failure 3 times in a row\);/);
  });

  it("the summary after a one-off failure names its cause, and says its counts are of the last attempt", async () => {
    const marker = join(scratch, "failed-once");
    const r = await weir([
      "run",
      `${FIXTURES}/fail-once-job.ts`,
      "--checkpoint-interval",
      "100",
      "--checkpoint-dir",
      join(scratch, "cp3"),
      "--restart-strategy",
      "fixed-delay:3:10",
      "--",
      "--marker",
      marker,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(marker));
    assert.match(
      r.stderr,
      /^weir: job 'fail-once-job' failed \(attempt 1\): operator 'Flaky' \(uid flaky\), subtask 1\/1: Error: failing once, on purpose; restarting in 0.01s \(fixed delay, at most 3 restarts\)$/m,
    );
    assert.match(
      r.stdout,
      /^Job 'fail-once-job' finished in .* · 1 restart \(records and accumulators counted since the last restart\)$/m,
    );
    assert.match(
      r.stdout,
      /^Last failure \(attempt 1\): operator 'Flaky' \(uid flaky\), subtask 1\/1: Error: failing once, on purpose$/m,
    );
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} while the job waits to restart stops it at once, not after the delay`, async () => {
      // The first restart would come a minute after the failure.
      const run = spawnWeir([
        "run",
        FAILING,
        "-p",
        "1",
        "--checkpoint-interval",
        "200",
        "--checkpoint-dir",
        join(scratch, `cp-${signal}`),
        "--restart-strategy",
        "exponential:60000:60000",
      ]);
      try {
        await run.until((err) => /failed \(attempt 1\).*restarting in/.test(err), "stderr");
        run.child.kill(signal);
        // Generous for a loaded machine, and far below the restart delay.
        const { code, signal: killed } = await exitWithin(run, 20_000);
        assert.equal(killed, null, run.stderr());
        assert.equal(code, 0, run.stderr());
        const how = signal === "SIGINT" ? "Ctrl-C" : "SIGTERM";
        assert.match(run.stderr(), new RegExp(`^weir: cancelling job 'failing-sink-job' \\(${how};`, "m"));
        assert.match(
          run.stdout(),
          new RegExp(`^Job 'failing-sink-job' cancelled after [\\d.]+s \\(${how}\\)$`, "m"),
        );
        assert.match(run.stdout(), /^Counted until it stopped: nothing \(it was waiting to restart\)$/m);
        assert.equal([...run.stderr().matchAll(RESTART_LINE)].length, 1, "no restart after the signal");
      } finally {
        run.child.kill("SIGKILL");
      }
    });
  }

  it("Ctrl-C in a quick restart loop ends the run: no hang after 'cancelled'", async () => {
    // Restarts 100 ms apart: the signal lands while an attempt starts, runs or fails.
    const run = spawnWeir([
      "run",
      FAILING,
      "-p",
      "2",
      "--checkpoint-interval",
      "100",
      "--checkpoint-dir",
      join(scratch, "cp-loop"),
      "--restart-strategy",
      "fixed-delay:unlimited:100",
    ]);
    try {
      await run.until((err) => err.includes("failed (attempt 3)"), "stderr");
      run.child.kill("SIGINT");
      const { code } = await exitWithin(run, 20_000);
      assert.equal(code, 0, run.stderr());
      assert.match(run.stdout(), /^Job 'failing-sink-job' cancelled after [\d.]+s \(Ctrl-C\)$/m);
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("Ctrl-C with --savepoint-dir while the job waits to restart cancels it at once: no savepoint to wait for", async () => {
    const run = spawnWeir([
      "run",
      FAILING,
      "-p",
      "1",
      "--checkpoint-interval",
      "200",
      "--checkpoint-dir",
      join(scratch, "cp-savepoint"),
      "--savepoint-dir",
      join(scratch, "savepoints"),
      "--restart-strategy",
      "exponential:60000:60000",
    ]);
    try {
      await run.until((err) => /failed \(attempt 1\).*restarting in/.test(err), "stderr");
      run.child.kill("SIGINT");
      const { code } = await exitWithin(run, 20_000);
      assert.equal(code, 1, run.stderr());
      assert.match(
        run.stderr(),
        /is waiting to restart after a failure, so no savepoint can be taken now; cancelling it/,
      );
      const last = run.stderr().trim().split("\n").at(-1)!;
      assert.match(
        last,
        /^weir: job 'failing-sink-job' could not take a savepoint, and was cancelled instead: the job was waiting to restart after a failure; nothing of the savepoint was committed/,
      );
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("SIGTERM while the job is loaded and built exits 143 with a line saying so", async () => {
    const run = spawnWeir(["run", `${FIXTURES}/slow-build-job.ts`, "-p", "1", "--", "--hold-first", "60000"]);
    try {
      await run.until((err) => err.includes("build 1: holding"), "stderr");
      run.child.kill("SIGTERM");
      const { code } = await exitWithin(run, 20_000);
      assert.equal(code, 143, run.stderr());
      assert.match(run.stderr(), /^weir: interrupted \(SIGTERM\) before the job started$/m);
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("SIGTERM while the workers start is acted on once they have: the job is cancelled", async () => {
    const run = spawnWeir(["run", `${FIXTURES}/slow-build-job.ts`, "-p", "1", "--", "--hold-second", "3000"]);
    try {
      await run.until((err) => err.includes("build 2: holding"), "stderr");
      run.child.kill("SIGTERM");
      const { code } = await exitWithin(run, 30_000);
      assert.equal(code, 0, run.stderr());
      assert.match(run.stderr(), /^weir: cancelling job 'slow-build-job' \(SIGTERM;/m);
      assert.match(run.stdout(), /^Job 'slow-build-job' cancelled after [\d.]+s \(SIGTERM\)$/m);
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("a second Ctrl-C exits at once (130) while the first one waits for a stuck job to stop", async () => {
    const run = spawnWeir(["run", `${FIXTURES}/stuck-job.ts`, "-p", "1"]);
    try {
      await run.until((out) => out.includes("stuck now"));
      run.child.kill("SIGINT");
      await run.until((err) => err.includes("cancelling job 'stuck-job'"), "stderr");
      run.child.kill("SIGINT");
      const { code } = await run.exited;
      assert.equal(code, 130, run.stderr());
      assert.match(run.stderr(), /^weir: interrupted again; exiting without waiting for the job to stop$/m);
    } finally {
      run.child.kill("SIGKILL");
    }
  });
});
