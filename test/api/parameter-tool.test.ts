// ParameterTool: job arguments parsed from the command line and read typed, as Flink's.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JobArgumentError, ParameterTool } from "../../src/index.ts";

describe("ParameterTool", () => {
  const p = ParameterTool.fromArgs([
    "--input",
    "in.txt",
    "-count",
    "10",
    "--verbose",
    "--offset",
    "-5",
    "--ratio=0.25",
    "--empty=",
    "--off",
    "no",
  ]);

  it("parses --name value, -name value, --name=value, flags and negative numbers", () => {
    assert.deepEqual(p.toMap(), {
      input: "in.txt",
      count: "10",
      verbose: "true",
      offset: "-5",
      ratio: "0.25",
      empty: "",
      off: "no",
    });
    assert.equal(p.size, 7);
    assert.ok(p.has("verbose"));
    assert.ok(!p.has("output"));
  });

  it("reads values typed, with defaults for absent ones", () => {
    assert.equal(p.get("input"), "in.txt");
    assert.equal(p.get("output"), undefined);
    assert.equal(p.get("output", "out/"), "out/");
    assert.equal(p.getInt("count"), 10);
    assert.equal(p.getLong("offset"), -5);
    assert.equal(p.getInt("missing", 3), 3);
    assert.equal(p.getNumber("ratio"), 0.25);
    assert.equal(p.getDouble("count"), 10);
    assert.equal(p.getBoolean("verbose"), true);
    assert.equal(p.getBoolean("off"), false);
    assert.equal(p.getBoolean("missing", true), true);
    assert.equal(p.getRequired("input"), "in.txt");
    assert.equal(p.required("input"), "in.txt");
  });

  it("errors name the argument and say what to give", () => {
    const error = (f: () => unknown, ...fragments: string[]) => {
      assert.throws(f, (e: unknown) => {
        assert.ok(e instanceof JobArgumentError, String(e));
        for (const s of fragments) assert.ok(e.message.includes(s), `'${s}' in: ${e.message}`);
        return true;
      });
    };
    error(() => p.getRequired("output"), "job argument --output is required", "-- --output <value>");
    error(() => p.getInt("ratio"), "--ratio must be a whole number, got '0.25'");
    error(() => p.getInt("missing"), "--missing is required (a whole number)");
    error(() => p.getNumber("input"), "--input must be a number, got 'in.txt'");
    error(() => p.getBoolean("input"), "--input must be true or false");
    error(() => ParameterTool.fromArgs(["in.txt"]), "job argument 'in.txt' has no name");
    error(() => ParameterTool.fromArgs(["--"]), "job argument '--' has no name");
  });

  it("fromMap keeps numbers and booleans as their text", () => {
    const m = ParameterTool.fromMap({ n: 3, flag: false, name: "x" });
    assert.equal(m.getInt("n"), 3);
    assert.equal(m.getBoolean("flag"), false);
    assert.deepEqual(m.names(), ["n", "flag", "name"]);
  });
});
