// Memory sizes as a user writes them (src/state/embedded/memory-size.ts): the managed memory of the
// embedded backend and the network memory are configured with these, and `weir run --verbose`
// prints them back. Every unit, the boundaries where the printed unit changes, and the refusals.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import { formatMemorySize, parseMemorySize } from "../../src/state/embedded/memory-size.ts";

const KIB = 2 ** 10;
const MIB = 2 ** 20;
const GIB = 2 ** 30;

describe("parseMemorySize", () => {
  it("reads every unit, case-insensitive, with or without spaces", () => {
    const cases: Array<[string, number]> = [
      ["1048576", MIB],
      ["0", 0],
      ["12b", 12],
      ["12 B", 12],
      ["3k", 3 * KIB],
      ["3kb", 3 * KIB],
      ["3 KiB", 3 * KIB],
      ["256m", 256 * MIB],
      ["256mb", 256 * MIB],
      ["64 MiB", 64 * MIB],
      ["2g", 2 * GIB],
      ["2GB", 2 * GIB],
      ["2 gib", 2 * GIB],
      ["  8mb  ", 8 * MIB],
    ];
    for (const [text, bytes] of cases) assert.equal(parseMemorySize(text, "x"), bytes, text);
  });

  it("takes fractions of a unit, rounded down to whole bytes", () => {
    assert.equal(parseMemorySize("1.5g", "x"), 1.5 * GIB);
    assert.equal(parseMemorySize("0.5k", "x"), 512);
    assert.equal(parseMemorySize("1.0001k", "x"), 1024);
    assert.equal(parseMemorySize("2.9", "x"), 2);
  });

  it("takes a number of bytes, 0 included, rounded down", () => {
    assert.equal(parseMemorySize(0, "x"), 0);
    assert.equal(parseMemorySize(4096, "x"), 4096);
    assert.equal(parseMemorySize(10.7, "x"), 10);
    // numbers whose text is in exponent form are still numbers of bytes
    assert.equal(parseMemorySize(1e-7, "x"), 0);
    assert.equal(parseMemorySize(2 ** 70, "x"), 2 ** 70);
  });

  it("refuses negative, non-finite and unreadable sizes, naming the setting", () => {
    for (const bad of [-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => parseMemorySize(bad, "state.managed-memory"),
        (e: unknown) =>
          e instanceof InvalidArgumentError &&
          /^state\.managed-memory: '.*' is not a memory size/.test(e.message),
        String(bad),
      );
    }
    for (const bad of ["", "mb", "-1mb", "1 tb", "1.mb", "12 m b", "1e3", "ten"]) {
      assert.throws(
        () => parseMemorySize(bad, "network.memory"),
        (e: unknown) =>
          e instanceof InvalidArgumentError && e.message.includes(`'${bad}' is not a memory size`),
        bad,
      );
    }
  });
});

describe("formatMemorySize", () => {
  it("prints bytes below 1 KiB, then KiB, MiB and GiB from exactly one of each", () => {
    assert.equal(formatMemorySize(0), "0 B");
    assert.equal(formatMemorySize(KIB - 1), "1023 B");
    assert.equal(formatMemorySize(KIB), "1 KiB");
    assert.equal(formatMemorySize(MIB - 1), "1024 KiB");
    assert.equal(formatMemorySize(MIB), "1 MiB");
    assert.equal(formatMemorySize(GIB - 1), "1024 MiB");
    assert.equal(formatMemorySize(GIB), "1 GiB");
  });

  it("keeps one decimal below a GiB and two above, without trailing zeros", () => {
    assert.equal(formatMemorySize(1536), "1.5 KiB");
    assert.equal(formatMemorySize(256 * MIB), "256 MiB");
    assert.equal(formatMemorySize(1.25 * MIB), "1.3 MiB");
    assert.equal(formatMemorySize(1.5 * GIB), "1.5 GiB");
    assert.equal(formatMemorySize(1.125 * GIB), "1.13 GiB");
    assert.equal(formatMemorySize(3 * GIB), "3 GiB");
  });
});
