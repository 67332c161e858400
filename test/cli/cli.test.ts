// The `weir` command line, run as a user runs it: `node bin/weir.mjs ...` in a child process.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { FIXTURES, ROOT, assertOneLineError, spawnWeir, weir } from "./cli-harness.ts";

const scratch = mkdtempSync(join(tmpdir(), "weir-cli-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("weir run", () => {
  it("runs a bounded job and prints the summary", async () => {
    const r = await weir(["run", `${FIXTURES}/small-job.ts`, "-p", "2"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^Job 'small-job' finished in [\d.]+s · Sequence -> Double \(p=2\): 1,000 records · Sum -> Result \(p=2\): 1,000 records$/m,
    );
    assert.equal(r.stderr, "");
  });

  it("runs the wordcount example: final counts in files, top words in the accumulators", async () => {
    const out = join(scratch, "wordcount");
    const r = await weir(["run", "examples/wordcount.ts", "-p", "2", "--verbose"], { WEIR_OUTPUT: out });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Job 'wordcount' finished in /m);
    assert.match(r.stdout, /^ {2}top words: the \(\d+\), /m);
    assert.match(r.stdout, /^ {2}\[1\] Lines -> Tokenize {2}p=2/m, "--verbose prints the breakdown");
    const counts = readFileSync(join(out, "part-0.txt"), "utf8").trim().split("\n");
    const words = Number(/^ {2}words: ([\d,]+)$/m.exec(r.stdout)![1]!.replace(/,/g, ""));
    assert.equal(
      counts.reduce((s, l) => s + Number(l.split(" ")[1]), 0),
      words,
      "the final counts add up to the number of words",
    );
  });

  it("names the operator and subtask of a failing job, without a stack trace", async () => {
    const r = await weir(["run", `${FIXTURES}/failing-job.ts`, "-p", "2"]);
    assertOneLineError(
      r,
      1,
      "job 'failing-job' failed",
      "operator 'Explode'",
      "subtask ",
      "no answers allowed",
    );
    assert.match(r.stderr, /subtask [12]\/2/);
  });

  it("prints the stacks of a failing job with --verbose", async () => {
    const r = await weir(["run", `${FIXTURES}/failing-job.ts`, "-p", "1", "--verbose"]);
    assert.equal(r.code, 1);
    // --verbose first describes the job's memory, then the failure.
    assert.match(r.stderr, /^Job 'failing-job' memory \(state backend: heap\):/);
    assert.match(r.stderr, /^weir: job 'failing-job' failed: operator 'Explode'/m);
    assert.ok(r.stderr.includes("    at "), "a stack trace");
    assert.match(r.stderr, /Caused by \(user code\):\nError: no answers allowed\n {4}at .*failing-job\.ts/);
  });

  it("cancels an unbounded job on Ctrl-C (SIGINT) and exits 0", async () => {
    const run = spawnWeir(["run", `${FIXTURES}/unbounded-job.ts`, "-p", "2"]);
    try {
      await run.until((out) => /progress: [1-9]\d* records/.test(out));
      assert.match(run.stderr(), /press Ctrl-C to cancel it/);
      run.child.kill("SIGINT");
      const { code, signal } = await run.exited;
      assert.equal(signal, null, run.stderr());
      assert.equal(code, 0, run.stderr());
      assert.match(run.stdout(), /^Job 'unbounded-job' cancelled after [\d.]+s \(Ctrl-C\)$/m);
    } finally {
      run.child.kill("SIGKILL");
    }
  });
});

describe("README", () => {
  it("shows the set-up commands, and its example job runs as shown", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    assert.ok(readme.includes("npm install && npm run demo"));
    assert.ok(readme.includes("npm install && npm test"));
    const code = /```ts\n(import \{ defineJob \} from "weir-stream";[\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(code !== undefined, "the README has a job example");
    // Inside the package (out/ is ignored by git), so that "weir-stream" resolves as it does for the reader.
    const file = join(ROOT, "out", `readme-example-${process.pid}.ts`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, code);
    try {
      const r = await weir(["run", file, "-p", "2"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^[12]> \{"word":"the","count":250\}$/m);
      assert.match(r.stdout, /^Job 'wordcount' finished in .* Tokenize \(p=2\): \d+ records/m);
    } finally {
      rmSync(file, { force: true });
    }
  });
});

describe("weir plan", () => {
  it("prints the chained job graph as text", async () => {
    const r = await weir(["plan", `${FIXTURES}/small-job.ts`, "-p", "3"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Job 'small-job'$/m);
    assert.match(r.stdout, /\[1\] Sequence -> Double {2}\(parallelism 3/);
    assert.match(r.stdout, /\[2\] Sum -> Result {2}\(parallelism 3/);
    assert.match(r.stdout, /<- \[1\] HASH/);
  });

  it("prints DOT with --dot, JSON with --json", async () => {
    const [dot, json] = await Promise.all([
      weir(["plan", "examples/generated-data.ts", "--dot", "-p", "2"]),
      weir(["plan", "examples/wordcount.ts", "--json", "-p", "2"]),
    ]);
    assert.equal(dot.code, 0, dot.stderr);
    assert.match(dot.stdout, /^digraph "generated-data" \{$/m);
    assert.match(dot.stdout, /v1 -> v2 \[label="HASH"\];/);
    assert.equal(json.code, 0, json.stderr);
    const plan = JSON.parse(json.stdout) as { jobName: string; vertices: Array<{ parallelism: number }> };
    assert.equal(plan.jobName, "wordcount");
    assert.deepEqual(
      plan.vertices.map((v) => v.parallelism),
      [2, 2, 2, 1],
    );
  });
});

describe("bad input: one line on stderr, a non-zero exit, no stack trace", { concurrency: 4 }, () => {
  const small = `${FIXTURES}/small-job.ts`;
  const cases: Array<[string, string[], number, string[]]> = [
    ["an unknown command", ["frob"], 2, ["unknown command 'frob'", "weir --help"]],
    ["a misspelled command", ["rnu"], 2, ["unknown command 'rnu'", "did you mean 'weir run'"]],
    ["an unknown option", ["run", small, "--frob"], 2, ["unknown option '--frob'", "weir run --help"]],
    ["a missing option value", ["run", small, "-p"], 2, ["-p/--parallelism", "needs a value"]],
    ["a value before the next option", ["plan", small, "-p", "--dot"], 2, ["needs a value"]],
    ["a zero parallelism", ["run", small, "-p", "0"], 2, ["positive integer", "'0'"]],
    ["a fractional parallelism", ["run", small, "--parallelism=1.5"], 2, ["positive integer", "'1.5'"]],
    ["a non-numeric parallelism", ["plan", small, "-p", "many"], 2, ["positive integer", "'many'"]],
    ["a bad buffer timeout", ["run", small, "--buffer-timeout", "-3"], 2, ["--buffer-timeout", "'-3'"]],
    ["a flag with a value", ["run", small, "--verbose=yes"], 2, ["--verbose", "takes no value"]],
    ["no job file", ["run"], 2, ["needs a job file"]],
    ["two job files", ["plan", small, small], 2, ["unexpected argument"]],
    ["a missing job file", ["run", "no/such/job.ts"], 2, ["'no/such/job.ts' not found", "check the path"]],
    ["a directory", ["run", FIXTURES], 2, ["is not a file"]],
    [
      "a module without a job",
      ["run", `${FIXTURES}/no-job.ts`],
      1,
      ["no-job.ts' has no default export", "export default defineJob"],
    ],
    ["a job without a sink", ["run", `${FIXTURES}/no-sink.ts`], 1, ["invalid job", "has no sink", "add one"]],
    [
      "a build function that throws",
      ["plan", `${FIXTURES}/broken-build.ts`],
      1,
      ["build function", "setParallelism() of 'Map' must be a positive integer"],
    ],
  ];
  for (const [what, args, code, fragments] of cases) {
    it(`${what}: weir ${args.join(" ")}`, async () => {
      assertOneLineError(await weir(args), code, ...fragments);
    });
  }

  it("a module that does not compile", async () => {
    const file = join(scratch, "broken.ts");
    writeFileSync(file, "export default const = ;\n");
    const r = await weir(["run", file]);
    assertOneLineError(r, 1, "cannot load job module", "broken.ts");
    const verbose = await weir(["run", file, "--verbose"]);
    assert.equal(verbose.code, 1);
    assert.ok(verbose.stderr.includes("    at "), "--verbose prints the stack");
  });
});

describe("help and version", { concurrency: 4 }, () => {
  it("weir --help lists the commands", async () => {
    const r = await weir(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: weir <command> \[options\]$/m);
    for (const c of ["run", "plan", "nexmark"]) assert.match(r.stdout, new RegExp(`^ {2}${c} `, "m"));
  });

  it("weir run --help and weir plan --help list their options", async () => {
    const [run, plan] = await Promise.all([weir(["run", "--help"]), weir(["plan", "-h"])]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: weir run <job\.ts\|job\.js> \[options\] \[-- job arguments\]$/m);
    for (const o of ["-p, --parallelism N", "--buffer-timeout ms", "--max-parallelism N", "--verbose"]) {
      assert.ok(run.stdout.includes(o), o);
    }
    assert.equal(plan.code, 0);
    assert.ok(plan.stdout.includes("--dot"));
  });

  it("weir --version prints the package version", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    const r = await weir(["--version"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `weir ${pkg.version}\n`);
  });
});
