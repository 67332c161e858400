// Built-in sources: collections, sequences, text files (every line exactly once, however split).

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InvalidJobError, JobExecutionError, StreamExecutionEnvironment } from "../../src/index.ts";
import { prng } from "../fixtures/helpers.ts";

const numSort = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** The lines a reader must produce: split on \n, a trailing \r dropped, no line after a final \n. */
function expectedLines(text: string): string[] {
  const parts = text.split("\n");
  if (parts[parts.length - 1] === "") parts.pop();
  return parts.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
}

function assertSameLines(actual: string[], expected: string[], what: string): void {
  assert.equal(
    actual.length,
    expected.length,
    `${what}: ${actual.length} lines, expected ${expected.length}`,
  );
  assert.deepStrictEqual([...actual].sort(), [...expected].sort(), what);
}

/** Lines with multi-byte characters (2, 3 and 4 bytes), empty lines and CRLF endings, no final newline. */
function trickyText(lines: number, seed: number): string {
  const rnd = prng(seed);
  const pieces = ["ascii", "é", "ß", "日本語", "🎉", "a🎉b", "Ω", "  spaced  ", "\t"];
  let text = "";
  for (let i = 0; i < lines; i++) {
    const r = rnd();
    let line = `${i}:`;
    const n = Math.floor(rnd() * 6);
    for (let j = 0; j < n; j++) line += pieces[Math.floor(rnd() * pieces.length)]!;
    if (r < 0.08) line = "";
    text += line + (i === lines - 1 ? "" : r > 0.7 ? "\r\n" : "\n");
  }
  return `${text}🎉 the last line has no newline é`;
}

async function readAll(path: string, parallelism: number, splitSize?: number): Promise<string[]> {
  const env = new StreamExecutionEnvironment({ parallelism });
  const out = env.readTextFile(path, splitSize === undefined ? {} : { splitSize }).collect();
  await env.execute();
  return out.values;
}

describe("fromElements / fromCollection", () => {
  it("run at parallelism 1 and emit every element in order", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 4 });
    const a = env.fromElements(3, 1, 2).name("elements").collect().setParallelism(1);
    const b = env
      .fromCollection(new Set(["x", "y"]))
      .name("set")
      .collect()
      .setParallelism(1);
    const c = env.fromElements(5, 6, 7).name("wide").collect();
    const plan = env.plan();
    const parallelismOf = (name: string) =>
      plan.vertices.find((v) => v.operators.some((o) => o.name === name))!.parallelism;
    assert.equal(parallelismOf("elements"), 1);
    assert.equal(parallelismOf("set"), 1);
    assert.equal(parallelismOf("wide"), 1);
    await env.execute();
    assert.deepStrictEqual(a.values, [3, 1, 2]);
    assert.deepStrictEqual(b.values, ["x", "y"]);
    assert.deepStrictEqual([...c.values].sort(), [5, 6, 7]);
  });

  it("refuse setParallelism(2) when the job is built", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 4 });
    env.fromElements(1, 2, 3).name("elements").setParallelism(2).print();
    assert.throws(
      () => env.getExecutionPlan(),
      (e: unknown) =>
        e instanceof InvalidJobError && /elements/.test(e.message) && /parallelism at most 1/.test(e.message),
    );
  });

  it("refuse what is not iterable", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    assert.throws(() => env.fromCollection(42 as unknown as number[]), /iterable/);
  });
});

describe("fromSequence", () => {
  it("at parallelism 3 gives each number exactly once, over every subtask", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    const out = env
      .fromSequence(-50, 9_999)
      .map((x: number, ctx): [number, number] => [x, ctx.indexOfThisSubtask])
      .collect();
    await env.execute();
    assert.deepStrictEqual(
      numSort(out.values.map((v) => v[0])),
      Array.from({ length: 10_050 }, (_, i) => i - 50),
    );
    assert.deepStrictEqual(new Set(out.values.map((v) => v[1])), new Set([0, 1, 2]));
  });

  it("a single number, and a range smaller than the parallelism", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    const one = env.fromSequence(7, 7).collect();
    const two = env.fromSequence(1, 2).collect();
    await env.execute();
    assert.deepStrictEqual(one.values, [7]);
    assert.deepStrictEqual(numSort(two.values), [1, 2]);
  });

  it("refuses a reversed or non-integer range", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    assert.throws(() => env.fromSequence(5, 1), /fromSequence\(5, 1\)/);
    assert.throws(() => env.fromSequence(0.5, 3), /safe integers/);
  });
});

describe("readTextFile", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "weir-text-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a directory of several files at p=3: every line of every file exactly once", async () => {
    const d = join(dir, "several");
    mkdirSync(d);
    const texts = [trickyText(500, 1), "only one line", "a\n\nb\n", "\n\n\n", "", trickyText(2000, 2)];
    for (const [i, t] of texts.entries()) writeFileSync(join(d, `part-${i}.txt`), t);
    writeFileSync(join(d, ".hidden"), "hidden line\n");
    const expected = texts.flatMap(expectedLines);
    assertSameLines(await readAll(d, 3), expected, "directory");
    assertSameLines(await readAll(d, 3, 64), expected, "directory, 64-byte splits");
  });

  it("one large file in many small splits at p=3: every line exactly once", async () => {
    const file = join(dir, "large.txt");
    const text = trickyText(20_000, 3);
    writeFileSync(file, text);
    const expected = expectedLines(text);
    assert.ok(expected.includes(""), "the file has empty lines");
    assert.ok(text.includes("\r\n"), "the file has CRLF line ends");
    for (const splitSize of [4096, 997, 37]) {
      assertSameLines(await readAll(file, 3, splitSize), expected, `splitSize ${splitSize}`);
    }
  });

  it("splits of 1, 2 and 3 bytes cut through every multi-byte character and CRLF", async () => {
    const file = join(dir, "small.txt");
    const text = trickyText(150, 4);
    writeFileSync(file, text);
    const expected = expectedLines(text);
    for (const splitSize of [1, 2, 3]) {
      assertSameLines(await readAll(file, 3, splitSize), expected, `splitSize ${splitSize}`);
    }
  });

  it("a file that ends with CRLF, and a file of one empty line", async () => {
    const a = join(dir, "crlf.txt");
    writeFileSync(a, "x\r\ny\r\n");
    assert.deepStrictEqual((await readAll(a, 2, 2)).sort(), ["x", "y"]);
    const b = join(dir, "empty-line.txt");
    writeFileSync(b, "\n");
    assert.deepStrictEqual(await readAll(b, 2), [""]);
  });

  it("a missing path fails the job with the path named", async () => {
    const missing = join(dir, "no-such-dir", "input.txt");
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env.readTextFile(missing).print();
    await assert.rejects(env.execute(), (e: unknown) => {
      assert.ok(e instanceof InvalidJobError || e instanceof JobExecutionError, `got ${e}`);
      assert.ok((e as Error).message.includes(missing), `the path is not named: ${(e as Error).message}`);
      return true;
    });
  });
});
