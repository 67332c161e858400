// `weir run job.ts [weir options] -- [job arguments]`: the job's build function gets its arguments
// parsed (ParameterTool), the same in every worker thread; a missing or mistyped one is a clear error.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FIXTURES, assertOneLineError, weir } from "./cli-harness.ts";

const JOB = `${FIXTURES}/job-arguments.ts`;

describe("weir run: job arguments", () => {
  it("hands the arguments after -- to the build function of every worker, typed", async () => {
    const r = await weir([
      "run",
      JOB,
      "-p",
      "2",
      "--",
      "--greeting",
      "hello",
      "--times",
      "4",
      "--loud",
      "--ratio=-0.5",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const greetings = r.stdout
      .split("\n")
      .filter((l) => /^[12]> /.test(l))
      .map((l) => l.slice(3))
      .sort();
    assert.deepEqual(greetings, ["HELLO -0.5", "HELLO -1", "HELLO -1.5", "HELLO -2"]);
    // Both worker threads ran subtasks built with the arguments.
    assert.match(r.stdout, /^1> HELLO/m);
    assert.match(r.stdout, /^2> HELLO/m);
  });

  it("an option after -- belongs to the job, not to weir", async () => {
    const r = await weir(["run", JOB, "-p", "1", "--", "--greeting", "hi", "-p", "7"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^hi 1$/m);
    assert.match(r.stdout, /^hi 2$/m);
    assert.match(r.stdout, /\(p=1\)/);
  });

  it("a missing required argument is a one-line error naming it", async () => {
    const r = await weir(["run", JOB, "-p", "1"]);
    assertOneLineError(r, 1, "job argument --greeting is required", "-- --greeting <value>");
  });

  it("an argument of the wrong type is a one-line error naming it and its value", async () => {
    const r = await weir(["run", JOB, "-p", "1", "--", "--greeting", "hi", "--times", "many"]);
    assertOneLineError(r, 1, "job argument --times must be a whole number, got 'many'");
  });

  it("a job argument without a name is a one-line error", async () => {
    const r = await weir(["run", JOB, "-p", "1", "--", "hello"]);
    assertOneLineError(r, 1, "job argument 'hello' has no name");
  });
});
