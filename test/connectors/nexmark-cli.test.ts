// Tests of `weir nexmark` (src/cli/nexmark-command.ts): generate, then run over the file or the
// generator on worker threads (same results), and clear errors for unknown queries and bad options.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { nexmarkCommand } from "../../src/cli/nexmark-command.ts";
import { eventToJson, generateRange, nexmarkConfig } from "../../src/connectors/nexmark/index.ts";

const dir = mkdtempSync(join(tmpdir(), "weir-nexmark-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await nexmarkCommand(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

function sortedLines(path: string): string[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .sort();
}

describe("weir nexmark generate / run", () => {
  const events = join(dir, "events.jsonl");

  it("generate writes one JSON object per line, the generator's events", async () => {
    const r = await cli("generate", "--events", "20000", "--seed", "5", "--out", events);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /wrote 20,000 Nexmark events \(seed 5\)/);
    const expected = [...generateRange(nexmarkConfig({ numEvents: 20_000, seed: 5 }), 0, 20_000)].map(
      eventToJson,
    );
    assert.deepEqual(readFileSync(events, "utf8").split("\n").slice(0, -1), expected);
  });

  it("run --input gives the same results as run --events with the same seed (q21, p=2), and reports throughput", async () => {
    const fromFile = join(dir, "q21-file.jsonl");
    const fromGenerator = join(dir, "q21-gen.jsonl");
    const a = await cli("run", "--query", "q21", "--input", events, "-p", "2", "--out", fromFile);
    assert.equal(a.code, 0, a.err);
    const b = await cli(
      "run",
      "--query",
      "q21",
      "--events",
      "20000",
      "--seed",
      "5",
      "-p",
      "2",
      "--out",
      fromGenerator,
    );
    assert.equal(b.code, 0, b.err);
    const lines = sortedLines(fromFile);
    assert.ok(lines.length > 15_000, `q21 keeps most bids, got ${lines.length}`);
    assert.deepEqual(lines, sortedLines(fromGenerator));
    for (const r of [a, b]) {
      assert.match(r.out, /nexmark q21 p=2: 20,000 events -> [\d,]+ results/);
      assert.match(r.out, /throughput +[\d,]+ events\/s/);
      assert.match(r.out, /per busy core +[\d,]+ events\/s \(process CPU/);
    }
    assert.deepEqual(Object.keys(JSON.parse(lines[0]!)), [
      "auction",
      "bidder",
      "price",
      "channel",
      "channel_id",
    ]);
    // No part files or temporary directories are left next to the results.
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith(".nexmark-results-")),
      [],
    );
  });

  for (const query of ["q9", "q19"]) {
    it(`${query} with --checkpoint-interval 200 writes the same results as without (p=2), and checkpoints`, async () => {
      const plain = join(dir, `${query}-plain.jsonl`);
      const checkpointed = join(dir, `${query}-checkpointed.jsonl`);
      const checkpoints = join(dir, `${query}-checkpoints`);
      const common = ["run", "--query", query, "--events", "300000", "--seed", "5", "-p", "2"];
      const a = await cli(...common, "--out", plain);
      assert.equal(a.code, 0, a.err);
      const b = await cli(
        ...common,
        "--checkpoint-interval",
        "200",
        "--checkpoint-dir",
        checkpoints,
        "--state-backend",
        "heap",
        "--out",
        checkpointed,
      );
      assert.equal(b.code, 0, b.err);
      assert.match(b.out, /checkpoints +[1-9][\d,]* completed, 0 restarts/);
      assert.match(b.err, /exactly-once checkpoints every 200 ms/);
      assert.ok(existsSync(checkpoints), "the checkpoints went to --checkpoint-dir");
      // q19 is an upsert stream: how often a key is re-emitted depends on when watermarks come.
      const final = (path: string) => {
        if (query !== "q19") return sortedLines(path);
        const m = new Map<string, string>();
        for (const l of readFileSync(path, "utf8")
          .split("\n")
          .filter((x) => x !== "")) {
          const r = JSON.parse(l) as { auction: number; rank_number: number };
          m.set(`${r.auction}/${r.rank_number}`, l);
        }
        return [...m.values()].sort();
      };
      const expected = final(plain);
      assert.ok(expected.length > 1000);
      assert.deepEqual(final(checkpointed), expected);
    });
  }

  it("the embedded state backend with exactly-once checkpoints gives the heap backend's results (q18, p=2)", async () => {
    const heap = join(dir, "q18-heap.jsonl");
    const embedded = join(dir, "q18-embedded.jsonl");
    const common = ["run", "--query", "q18", "--events", "20000", "--seed", "5", "-p", "2"];
    const a = await cli(...common, "--out", heap);
    assert.equal(a.code, 0, a.err);
    const b = await cli(
      ...common,
      "--state-backend",
      "embedded",
      "--checkpoint-interval",
      "100",
      "--out",
      embedded,
    );
    assert.equal(b.code, 0, b.err);
    assert.deepEqual(sortedLines(embedded), sortedLines(heap));
  });

  it("run without --out only counts the results", async () => {
    const r = await cli("run", "--query", "q2", "--events", "20000", "--seed", "5");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /nexmark q2 p=1: 20,000 events -> [\d,]+ results/);
  });
});

describe("weir nexmark errors", () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      "an unknown query",
      ["run", "--query", "q99", "--events", "10"],
      /unknown Nexmark query 'q99'.*q0, q1, q2, q3, q4, q5, q7/,
    ],
    ["no query", ["run", "--events", "10"], /run needs --query/],
    [
      "both --events and --input",
      ["run", "--query", "q0", "--events", "10", "--input", "x.jsonl"],
      /exactly one of --events N .* or --input/,
    ],
    ["neither --events nor --input", ["run", "--query", "q0"], /exactly one of --events/],
    [
      "a bad count",
      ["run", "--query", "q0", "--events", "ten"],
      /--events must be a positive integer, got 'ten'/,
    ],
    [
      "parallelism 0",
      ["run", "--query", "q0", "--events", "10", "-p", "0"],
      /--parallelism must be a positive integer, got '0'/,
    ],
    [
      "an unknown option",
      ["run", "--query", "q0", "--events", "10", "--fast"],
      /unknown option '--fast' for 'weir nexmark run'/,
    ],
    ["a missing value", ["run", "--query", "q0", "--events"], /--events needs a value/],
    [
      "--checkpoint-dir without --checkpoint-interval",
      ["run", "--query", "q0", "--events", "10", "--checkpoint-dir", "x"],
      /--checkpoint-dir goes with --checkpoint-interval/,
    ],
    [
      "--side-input for a query other than q13",
      ["run", "--query", "q0", "--events", "10", "--side-input", "x.csv"],
      /--side-input is q13's side input; q0 has none/,
    ],
    [
      "a bad checkpoint interval",
      ["run", "--query", "q0", "--events", "10", "--checkpoint-interval", "-5"],
      /--checkpoint-interval/,
    ],
    [
      "an unknown state backend",
      ["run", "--query", "q0", "--events", "10", "--state-backend", "rocks"],
      /--state-backend must be 'heap' or 'embedded', got 'rocks'/,
    ],
    [
      "--seed with --input",
      ["run", "--query", "q0", "--input", "x.jsonl", "--seed", "1"],
      /--seed goes with --events/,
    ],
    ["generate without --out", ["generate", "--events", "10"], /generate needs --out/],
    ["generate without --events", ["generate", "--out", "x.jsonl"], /--events N is required/],
    ["an unknown subcommand", ["bench"], /unknown subcommand 'bench' of 'weir nexmark'/],
  ];
  for (const [what, args, message] of cases) {
    it(`refuses ${what} with exit code 2 and a clear message`, async () => {
      const r = await cli(...args);
      assert.equal(r.code, 2, `exit code of ${args.join(" ")}: ${r.err}`);
      assert.match(r.err, message);
    });
  }

  it("a missing input file fails with its path", async () => {
    const missing = join(dir, "missing.jsonl");
    const r = await cli("run", "--query", "q0", "--input", missing);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /missing\.jsonl/);
    assert.equal(existsSync(missing), false);
  });

  it("--help prints the usage", async () => {
    const r = await cli("--help");
    assert.equal(r.code, 0);
    assert.match(r.out, /weir nexmark run --query qN/);
  });
});
