// What `weir run` prints reaches its reader whole: print() output of every worker thread exactly
// once through a slow pipe, nothing but quiet when the reader goes away (`| head -1`), and the
// counts and accumulators of a job stopped by Ctrl-C or with a savepoint.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { FIXTURES, spawnWeir, weirPiped } from "./cli-harness.ts";

const scratch = mkdtempSync(join(tmpdir(), "weir-cli-output-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("weir run: output", () => {
  it("print() loses and duplicates no line: 200,000 records at p=4 through a pipe read late", async () => {
    const count = 200_000;
    // The reader sleeps before it reads: the pipe fills and the job's writes wait for it.
    const r = await weirPiped(["run", `${FIXTURES}/print-many.ts`, "-p", "4"], "(sleep 3; cat)");
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    const seen = new Uint8Array(count + 1);
    let records = 0;
    for (const line of lines) {
      const m = /^([1-4])> (\d+)$/.exec(line);
      if (m === null) continue;
      records++;
      const n = Number(m[2]);
      assert.ok(n >= 1 && n <= count, `a number in range: ${line}`);
      assert.equal(seen[n], 0, `printed once: ${n}`);
      seen[n] = 1;
    }
    assert.equal(records, count, `every record printed (${records} of ${count})`);
    assert.match(r.stdout, /^Job 'print-many' finished in .* \(p=4\): 200,000 records$/m);
    assert.equal(r.stderr, "");
  });

  for (const hold of [false, true]) {
    const what = hold ? "a sink that prints when it is closed" : "print()";
    it(`${what} loses no line when another thread fails the job: its operators are closed first`, async () => {
      const args = ["run", `${FIXTURES}/print-then-fail.ts`, "-p", "2", ...(hold ? ["--", "--hold"] : [])];
      const r = await weirPiped(args, "cat");
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^weir: job 'print-then-fail' failed: operator 'Fail at the end'/m);
      const numbers = r.stdout
        .split("\n")
        .filter((l) => /^[12]> \d+$/.test(l))
        .map((l) => Number(l.slice(3)));
      assert.equal(numbers.length, 20_000, `every line once (${numbers.length} of 20,000)`);
      assert.equal(new Set(numbers).size, 20_000, "no line twice");
    });
  }

  it("a closed stdout (`| head -1`) ends the run quietly, exit 0", async () => {
    const r = await weirPiped(["run", `${FIXTURES}/unbounded-job.ts`, "-p", "1"], "head -1");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^progress: \d+ records\n$/);
    const lines = r.stderr.split("\n").filter((l) => l.length > 0);
    assert.deepEqual(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /its source is unbounded/);
    assert.ok(!r.stderr.includes("EPIPE"), r.stderr);
  });

  it("a reader that stops after a while ends the run quietly too: the job waits for stdout meanwhile", async () => {
    // 5,000,000 lines are far more than stdout may hold queued (8 MiB per worker): the job is
    // still running, held back by the reader, when the reader goes away.
    const r = await weirPiped(
      ["run", `${FIXTURES}/print-many.ts`, "-p", "2", "--", "--count", "5000000"],
      "(sleep 3; head -c 100 > /dev/null)",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
  });

  it("Ctrl-C prints what the job counted and its accumulators", async () => {
    const run = spawnWeir(["run", `${FIXTURES}/cancel-summary-job.ts`, "-p", "1"]);
    try {
      await run.until((out) => /progress: [1-9]\d{2,} records/.test(out));
      run.child.kill("SIGINT");
      const { code } = await run.exited;
      assert.equal(code, 0, run.stderr());
      const out = run.stdout();
      assert.match(out, /^Job 'cancel-summary-job' cancelled after [\d.]+s \(Ctrl-C\)$/m);
      const counted =
        /^Counted until it stopped: Numbers -> Count -> Progress \(p=1\): ([\d,]+) records$/m.exec(out);
      assert.ok(counted !== null, out);
      const seen = /^ {2}numbers seen: ([\d,]+)$/m.exec(out);
      assert.ok(seen !== null, `the accumulators:\n${out}`);
      assert.match(out, /^Accumulator results:$/m);
      const n = (s: string) => Number(s.replace(/,/g, ""));
      assert.ok(n(counted[1]!) >= 100, out);
      assert.equal(n(seen[1]!), n(counted[1]!), "the counter counted what the source read");
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("SIGTERM with --savepoint-dir stops with a savepoint and prints the counts and accumulators", async () => {
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
      join(scratch, "savepoints"),
    ]);
    try {
      await run.until((out) => /progress: [1-9]\d{2,} records/.test(out));
      run.child.kill("SIGTERM");
      const { code, signal } = await run.exited;
      assert.equal(signal, null, run.stderr());
      assert.equal(code, 0, run.stderr());
      assert.match(
        run.stderr(),
        /^weir: taking a savepoint of job 'cancel-summary-job' in .*\(SIGTERM; SIGTERM again exits at once\)$/m,
      );
      const out = run.stdout();
      assert.match(out, /^Job 'cancel-summary-job' stopped with savepoint at .*savepoint-[0-9a-f]{8}-\d+$/m);
      assert.match(
        out,
        /^Counted until it stopped: Numbers -> Count -> Progress \(p=1\): [\d,]+ records · \d+ checkpoints? · 0 restarts$/m,
      );
      assert.match(out, /^ {2}numbers seen: [\d,]+$/m);
    } finally {
      run.child.kill("SIGKILL");
    }
  });
});
