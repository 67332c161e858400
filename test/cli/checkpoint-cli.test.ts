// `weir run` with checkpoints, state backends, savepoints and restarts, run as a user runs it:
// a checkpointed run reports its checkpoints; Ctrl-C with --savepoint-dir writes a savepoint that
// --from-savepoint resumes (keyed counts continue); every bad value is one line, no stack.

import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { FIXTURES, ROOT, assertOneLineError, spawnWeir, weir } from "./cli-harness.ts";
import { PER_KEY } from "./fixtures/counting-job-bounded.ts";
import { KEYS } from "./fixtures/keyed-counter.ts";

const scratch = mkdtempSync(join(tmpdir(), "weir-cp-cli-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const small = `${FIXTURES}/small-job.ts`;
const bounded = `${FIXTURES}/counting-job-bounded.ts`;

/** The final count of every key, from the accumulator line "final counts: k0=400, k1=400, ...". */
function finalCounts(stdout: string): number[] {
  const line = /^ {2}final counts: (.*)$/m.exec(stdout)?.[1];
  assert.ok(line !== undefined, `a final counts line in:\n${stdout}`);
  const counts = new Map(line.split(", ").map((kv) => [kv.split("=")[0]!, Number(kv.split("=")[1])]));
  return Array.from({ length: KEYS }, (_, k) => counts.get(`k${k}`) ?? 0);
}

describe("weir run with checkpoints", { concurrency: 2 }, () => {
  for (const [backend, mode] of [
    ["heap", "at-least-once"],
    ["embedded", "exactly-once"],
  ] as const) {
    it(`a checkpointed run (${backend}, ${mode}) completes and reports its checkpoints`, async () => {
      const r = await weir([
        "run",
        bounded,
        "-p",
        "2",
        "--checkpoint-interval",
        "50",
        "--checkpointing-mode",
        mode,
        "--checkpoint-dir",
        join(scratch, `cp-${backend}`),
        "--state-backend",
        backend,
        ...(backend === "embedded" ? ["--state-dir", join(scratch, "state")] : []),
        "--restart-strategy",
        "fixed-delay:2:100",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const summary = /^Job 'counting-job-bounded' finished in .* · (\d+) checkpoints? · 0 restarts$/m.exec(
        r.stdout,
      );
      assert.ok(summary !== null, `a summary with checkpoints and restarts:\n${r.stdout}`);
      assert.ok(Number(summary[1]) >= 1, `at least one checkpoint completed:\n${r.stdout}`);
      assert.deepEqual(finalCounts(r.stdout), new Array(KEYS).fill(PER_KEY));
    });
  }

  it("a run without checkpoints keeps the old summary", async () => {
    const r = await weir([
      "run",
      small,
      "-p",
      "1",
      "--restart-strategy",
      "none",
      "--state-backend",
      "embedded",
    ]);
    assert.equal(r.code, 0, r.stderr);
    // One segment per task chain (at p=1 the keyBy edge is chained: one), and no checkpoints.
    assert.match(r.stdout, /^Job 'small-job' finished in [\d.]+s( · [^·]+ records)+$/m);
    assert.doesNotMatch(r.stdout, /checkpoint|restart/);
  });
});

describe("Ctrl-C with --savepoint-dir, then --from-savepoint", { concurrency: 4 }, () => {
  const savepoints = join(scratch, "savepoints");
  let savepoint = "";

  before(async () => {
    const run = spawnWeir([
      "run",
      `${FIXTURES}/counting-job.ts`,
      "-p",
      "2",
      "--checkpoint-interval",
      "50",
      "--checkpoint-dir",
      join(scratch, "cp-unbounded"),
      "--savepoint-dir",
      savepoints,
    ]);
    try {
      await run.until((out) => /progress: [1-9]\d{2,} records/.test(out));
      assert.match(run.stderr(), /press Ctrl-C to stop it with a savepoint in /);
      run.child.kill("SIGINT");
      const { code, signal } = await run.exited;
      assert.equal(signal, null, run.stderr());
      assert.equal(code, 0, run.stderr());
      const m = /^Job 'counting-job' stopped with savepoint at (.+)$/m.exec(run.stdout());
      assert.ok(m !== null, `the savepoint path is printed:\n${run.stdout()}`);
      savepoint = resolve(ROOT, m[1]!);
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("writes a self-contained savepoint in the directory given", () => {
    assert.ok(existsSync(join(savepoint, "_metadata")), savepoint);
    assert.equal(relative(savepoints, savepoint).startsWith(".."), false, "inside --savepoint-dir");
    assert.match(savepoint, /savepoint-[0-9a-f]{8}-\d+$/);
  });

  it("a bounded variant restores from it at another parallelism: the keyed counts continue", async () => {
    const r = await weir([
      "run",
      bounded,
      "-p",
      "3",
      "--from-savepoint",
      savepoint,
      "--allow-non-restored-state",
    ]);
    assert.equal(r.code, 0, r.stderr);
    // What each key had counted at the savepoint: the first records of one reader, in turn.
    const before = finalCounts(r.stdout).map((n) => n - PER_KEY);
    assert.ok(before[0]! >= 1, `the counts went on from the savepoint's: ${before}`);
    for (let k = 1; k < KEYS; k++) {
      assert.ok(
        before[k]! <= before[k - 1]! && before[k]! >= before[0]! - 1,
        `a prefix of k0..k4: ${before}`,
      );
    }
    // Ctrl-C came after the sink had seen 100 records, so the savepoint counted at least those.
    assert.ok(before.reduce((a, b) => a + b, 0) >= 100, `the savepoint's counts: ${before}`);
  });

  it("refuses state of an operator the job no longer has, unless --allow-non-restored-state", async () => {
    const r = await weir(["run", bounded, "-p", "2", "--from-savepoint", savepoint]);
    assertOneLineError(r, 1, "uid 'events'", "--allow-non-restored-state");
  });

  it("names the savepoint inside a directory given instead of it", async () => {
    const r = await weir(["run", bounded, "--from-savepoint", savepoints]);
    assertOneLineError(
      r,
      2,
      "has no _metadata",
      `did you mean '${join(savepoints, savepoint.replace(/^.*\//, ""))}'`,
    );
  });

  it("names a corrupt or missing file of the savepoint (exit 1)", async () => {
    const copy = (name: string) => {
      const to = join(scratch, name);
      cpSync(savepoint, to, { recursive: true });
      return to;
    };
    const stateFile = (dir: string) => {
      const chk = readdirSync(dir).find((f) => f.startsWith("chk-"))!;
      // Vertex 2 is the keyed counter; its state is restored whatever the parallelism.
      return join(dir, chk, "2-0.state");
    };
    const badMetadata = copy("bad-metadata");
    writeFileSync(join(badMetadata, "_metadata"), "{ not json");
    const badState = copy("bad-state");
    const bytes = readFileSync(stateFile(badState));
    // The last byte is the end of the key-group index's trailer (state file format 3).
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(stateFile(badState), bytes);
    const missing = copy("missing-state");
    rmSync(stateFile(missing));
    const restore = (dir: string) =>
      weir(["run", bounded, "-p", "2", "--from-savepoint", dir, "--allow-non-restored-state"]);
    const [m, s, x] = await Promise.all([restore(badMetadata), restore(badState), restore(missing)]);
    assertOneLineError(m, 1, join(badMetadata, "_metadata"), "is corrupt");
    assertOneLineError(s, 1, stateFile(badState), "is truncated or corrupt");
    assertOneLineError(x, 1, stateFile(missing), "is missing");
  });
});

describe("bad values: one line on stderr, exit 2, no stack trace", { concurrency: 4 }, () => {
  const aFile = small;
  const cases: Array<[string, string[], string[]]> = [
    ["a zero checkpoint interval", ["--checkpoint-interval", "0"], ["--checkpoint-interval", "'0'"]],
    ["a checkpoint interval in words", ["--checkpoint-interval", "often"], ["positive integer", "'often'"]],
    [
      "an unknown checkpointing mode",
      ["--checkpointing-mode", "exactly-twice"],
      ["exactly-once or at-least-once"],
    ],
    [
      "a checkpointing mode without an interval",
      ["--checkpointing-mode", "at-least-once"],
      ["--checkpointing-mode goes with --checkpoint-interval"],
    ],
    ["a checkpoint directory that is a file", ["--checkpoint-dir", aFile], ["must be a directory", aFile]],
    ["a checkpoint directory without checkpoints", ["--checkpoint-dir", "cp"], ["does not checkpoint"]],
    ["an unknown state backend", ["--state-backend", "rocksdb"], ["heap or embedded", "'rocksdb'"]],
    [
      "a state directory for the heap backend",
      ["--state-backend", "heap", "--state-dir", "st"],
      ["--state-dir", "heap"],
    ],
    ["a state directory without the embedded backend", ["--state-dir", "st"], ["--state-backend embedded"]],
    [
      "a missing savepoint",
      ["--from-savepoint", "no/such/savepoint"],
      ["'no/such/savepoint' not found", "chk-N"],
    ],
    ["a savepoint that is a file", ["--from-savepoint", aFile], ["is a file", "savepoint"]],
    ["a directory that is not a savepoint", ["--from-savepoint", FIXTURES], ["has no _metadata", "chk-N"]],
    [
      "--allow-non-restored-state without a savepoint",
      ["--allow-non-restored-state"],
      ["goes with --from-savepoint"],
    ],
    [
      "an unknown restart strategy",
      ["--restart-strategy", "sometimes"],
      ["none, fixed-delay", "'sometimes'"],
    ],
    [
      "a fixed delay without its delay",
      ["--restart-strategy", "fixed-delay:3"],
      ["fixed-delay:<attempts>:<delayMs>"],
    ],
    [
      "a fixed delay of bad attempts",
      ["--restart-strategy", "fixed-delay:x:100"],
      ["<attempts>", "'unlimited'"],
    ],
    ["a failure rate of zero", ["--restart-strategy", "failure-rate:0:1000:10"], ["<max>", "integer >= 1"]],
    ["an exponential delay going down", ["--restart-strategy", "exponential:5000:100"], ["<maxMs>"]],
    ["none with a value", ["--restart-strategy", "none:1"], ["none is written none"]],
    ["a savepoint directory without checkpoints", ["--savepoint-dir", "sp"], ["needs checkpointing"]],
    [
      "a savepoint directory that is a file",
      ["--checkpoint-interval", "100", "--savepoint-dir", aFile],
      ["must be a directory"],
    ],
    ["a missing value", ["--from-savepoint"], ["--from-savepoint", "needs a value"]],
  ];
  for (const [what, args, fragments] of cases) {
    it(`${what}: weir run small-job.ts ${args.join(" ")}`, async () => {
      assertOneLineError(await weir(["run", small, ...args]), 2, ...fragments);
    });
  }

  it("weir run --help documents the options and the restart strategies", async () => {
    const r = await weir(["run", "--help"]);
    assert.equal(r.code, 0);
    for (const o of [
      "--checkpoint-interval ms",
      "--checkpointing-mode mode",
      "--checkpoint-dir dir",
      "--state-backend name",
      "--state-dir dir",
      "--savepoint-dir dir",
      "--from-savepoint path",
      "--allow-non-restored-state",
      "--restart-strategy spec",
      "fixed-delay:<attempts>:<delayMs>",
      "failure-rate:<max>:<intervalMs>:<delayMs>",
    ]) {
      assert.ok(r.stdout.includes(o), o);
    }
  });
});
