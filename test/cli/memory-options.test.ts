// `weir run --managed-memory / --network-memory / --task-heap-memory`: the sizes reach the engine
// and `--verbose` shows the memory model; with the embedded backend the worker threads' V8 heap is
// limited to their managed memory plus the task heap; a job needing more network memory than
// given is refused before it starts; a size that is not one is a one-line usage error.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FIXTURES, assertOneLineError, weir } from "./cli-harness.ts";

const JOB = `${FIXTURES}/counting-job-bounded.ts`;

describe("weir run: memory options", () => {
  it("--verbose shows managed and network memory as configured", async () => {
    const r = await weir([
      "run",
      JOB,
      "-p",
      "2",
      "--state-backend",
      "embedded",
      "--managed-memory",
      "64mb",
      "--network-memory",
      "32mb",
      "--verbose",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /managed memory: 64 MiB, the embedded state backend: 2 keyed subtask\(s\), 32 MiB each/,
    );
    assert.match(r.stderr, /network memory: 32 MiB, the job needs [\d.]+ [KM]iB \(\d+ buffers of 32 KiB\)/);
    assert.match(
      r.stderr,
      /worker heap: limited to 160 MiB per worker thread \(managed memory of its slot 32 MiB \+ task heap 128 MiB\)/,
    );
  });

  it("embedded backend: each worker thread runs with the heap limit the memory model gives", async () => {
    const r = await weir([
      "run",
      `${FIXTURES}/heap-limit-job.ts`,
      "--state-backend",
      "embedded",
      "--managed-memory",
      "64mb",
      "--task-heap-memory",
      "96mb",
      "--verbose",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /worker heap: limited to 128 MiB per worker thread/);
    const oldGeneration = Number(/worker old generation limit: (\d+) MiB/.exec(r.stdout)?.[1]);
    assert.equal(oldGeneration, 128, r.stdout);
    // V8's whole limit adds the young generation (its size differs between Node versions: ~+64 MiB
    // on Node 20, +192 MiB on Node 24), far under Node's default of gigabytes.
    const limit = Number(/worker heap limit: (\d+) MiB/.exec(r.stdout)?.[1]);
    assert.ok(limit >= 128 && limit < 512, `worker heap limit ${limit} MiB:\n${r.stdout}`);
  });

  it("heap backend: the worker threads keep Node's heap limit", async () => {
    const r = await weir(["run", `${FIXTURES}/heap-limit-job.ts`, "--managed-memory", "64mb"]);
    assert.equal(r.code, 0, r.stderr);
    const limit = Number(/worker heap limit: (\d+) MiB/.exec(r.stdout)?.[1]);
    assert.ok(limit > 512, `worker heap limit ${limit} MiB:\n${r.stdout}`);
  });

  it("the heap backend: managed memory is shown as unused", async () => {
    const r = await weir(["run", JOB, "-p", "1", "--verbose"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /managed memory: 256 MiB, unused: the heap state backend/);
    assert.match(r.stderr, /network memory: as needed: /);
    assert.match(r.stderr, /worker heap: Node's default limit/);
  });

  it("refuses a job that needs more network memory than given", async () => {
    const r = await weir(["run", JOB, "-p", "2", "--network-memory", "64kb"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /insufficient network memory: the job needs \d+ network buffers/);
    assert.match(r.stderr, /--network-memory \d+mb/);
  });

  it("a size that is not one is a usage error", async () => {
    assertOneLineError(
      await weir(["run", JOB, "--managed-memory", "lots"]),
      2,
      "--managed-memory",
      "'lots'",
      "256mb",
    );
  });
});
