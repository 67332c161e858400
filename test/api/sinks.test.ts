// Built-in sinks: part files per subtask, print() with Flink's "k> " prefix.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { FileSink, StreamExecutionEnvironment } from "../../src/index.ts";

const PRINT_MAIN = fileURLToPath(new URL("../fixtures/print-main.ts", import.meta.url));

/** Run print() in a child process (the test runner owns this process's stdout); its stdout. */
function printed(parallelism: number, records: number, prefix?: string): string {
  const args = ["--import", "tsx", PRINT_MAIN, String(parallelism), String(records)];
  if (prefix !== undefined) args.push(prefix);
  return execFileSync(process.execPath, args, { encoding: "utf8", timeout: 60_000 });
}

describe("FileSink", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "weir-sink-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("forText writes one part file per subtask holding all records", async () => {
    const out = join(dir, "text");
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    env
      .fromSequence(1, 3000)
      .map((x) => (x % 2 === 0 ? `line ${x} é` : { n: x }))
      .sinkTo(FileSink.forText(out));
    await env.execute();
    assert.deepStrictEqual(readdirSync(out).sort(), ["part-0.txt", "part-1.txt", "part-2.txt"]);
    const lines = readdirSync(out).flatMap((f) => {
      const text = readFileSync(join(out, f), "utf8");
      assert.ok(text.endsWith("\n"), `${f} does not end with a newline`);
      const ls = text.slice(0, -1).split("\n");
      assert.ok(ls.length > 0);
      return ls;
    });
    const expected = Array.from({ length: 3000 }, (_, i) =>
      (i + 1) % 2 === 0 ? `line ${i + 1} é` : JSON.stringify({ n: i + 1 }),
    );
    assert.deepStrictEqual(lines.sort(), expected.sort());
  });

  it("forJsonLines writes one JSON document per line, per subtask", async () => {
    const out = join(dir, "jsonl");
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env
      .fromSequence(1, 500)
      .map((x) => ({ id: x, text: `t"${x}\n` }))
      .sinkTo(FileSink.forJsonLines(out));
    await env.execute();
    assert.deepStrictEqual(readdirSync(out).sort(), ["part-0.jsonl", "part-1.jsonl"]);
    const docs = readdirSync(out).flatMap((f) =>
      readFileSync(join(out, f), "utf8")
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as { id: number; text: string }),
    );
    assert.deepStrictEqual(
      docs.sort((a, b) => a.id - b.id),
      Array.from({ length: 500 }, (_, i) => ({ id: i + 1, text: `t"${i + 1}\n` })),
    );
  });

  it("writeAsText is FileSink.forText", async () => {
    const out = join(dir, "as-text");
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    env.fromElements("a", "b").writeAsText(out);
    await env.execute();
    assert.equal(readFileSync(join(out, "part-0.txt"), "utf8"), "a\nb\n");
  });
});

describe("print()", () => {
  it('prefixes each line with "k> " (k = subtask + 1) at parallelism > 1', () => {
    const lines = printed(3, 300).trimEnd().split("\n");
    assert.equal(lines.length, 300);
    const seen = new Set<number>();
    for (const line of lines) {
      const m = /^(\d+)> (.*)$/.exec(line);
      assert.ok(m !== null, `no "k> " prefix: ${line}`);
      const rec = JSON.parse(m[2]!) as { x: number; sub: number };
      assert.equal(Number(m[1]), rec.sub + 1, `line ${line} printed by another subtask`);
      seen.add(rec.x);
    }
    assert.equal(seen.size, 300);
  });

  it("has no prefix at parallelism 1", () => {
    assert.equal(printed(1, 2), '{"x":1,"sub":0}\n{"x":2,"sub":0}\n');
  });

  it('puts a user prefix before the subtask: "prefix:k> "', () => {
    const lines = printed(2, 4, "out").trimEnd().split("\n");
    assert.equal(lines.length, 4);
    for (const line of lines) assert.match(line, /^out:[12]> \{"x":\d,"sub":[01]\}$/);
    assert.equal(printed(1, 1, "solo"), 'solo: {"x":1,"sub":0}\n');
  });
});
