// Exact output after restoring every built-in source mid-stream: a job reading the source is
// stopped with a savepoint while its reader is paused at a known place (see PausableSource), then
// restored from it and run to the end. The output of both runs together must be exactly the
// output of one straight run: no record lost (a reader resuming past its position) and none
// repeated (a reader resuming before it).

import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { NexmarkSource } from "../../src/connectors/nexmark/index.ts";
import {
  CollectionSource,
  DataGeneratorSource,
  NumberSequenceSource,
  type Source,
  StreamExecutionEnvironment,
  TextFileSource,
} from "../../src/index.ts";
import { PausableSource, countingMap, stopWithSavepoint, waitFor } from "./pausable-source.ts";

const dir = mkdtempSync(join(tmpdir(), "weir-source-restore-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Text of a record, whatever its type (Nexmark events hold bigints). */
const text = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));

/** `toText`: text, or text counted for PausableSource (the same job either way). */
function build(env: StreamExecutionEnvironment, source: Source<unknown, unknown>, toText = text) {
  return env.fromSource(source, "source").uid("source").map(toText).uid("text").collect();
}

/**
 * Run straight through; then run again, stop with a savepoint once every reader has paused after
 * `pauseAfter` records, restore at the same parallelism and run to the end. Returns both outputs.
 */
async function straightAndRestored(
  name: string,
  make: () => Source<unknown, unknown>,
  parallelism: number,
  pauseAfter: number,
) {
  const straightEnv = new StreamExecutionEnvironment({ parallelism });
  const straight = build(straightEnv, make());
  await straightEnv.execute(`${name} straight`);

  const base = join(dir, name);
  // Counted at the sink's input, so that the readers' outputs stay the task's own (the in-memory
  // sources then run their generated record loop, as in a job without the pause).
  const counted = countingMap(text);
  const first = new PausableSource(make(), pauseAfter, counted.seen);
  const env1 = new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 3_600_000, // no periodic checkpoint: only the savepoint
    checkpointDirectory: join(base, "cp1"),
  });
  const h1 = build(env1, first, counted.map);
  const client = await env1.executeAsync(`${name} first`);
  await waitFor(() => first.paused === parallelism, "every reader paused mid-stream");
  const savepoint = await stopWithSavepoint(client, join(base, "savepoints"));

  const env2 = new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 3_600_000,
    checkpointDirectory: join(base, "cp2"),
    restorePath: savepoint,
  });
  const h2 = build(env2, make());
  await env2.execute(`${name} restored`);
  return { straight: straight.values, before: h1.values, after: h2.values };
}

function assertExact(r: { straight: string[]; before: string[]; after: string[] }, ordered: boolean) {
  assert.ok(r.before.length > 0, "the first run emitted something before the savepoint");
  assert.ok(r.after.length > 0, "the savepoint was taken before the end");
  const both = [...r.before, ...r.after];
  assert.equal(both.length, r.straight.length, "as many records as a straight run");
  if (ordered) assert.deepEqual(both, r.straight);
  else assert.deepEqual([...both].sort(), [...r.straight].sort());
}

describe("restoring every built-in source mid-stream gives exactly the output of a straight run", () => {
  it("sequence: resumes exactly at the checkpointed position", async () => {
    const r = await straightAndRestored("sequence", () => new NumberSequenceSource(1, 1000), 1, 100);
    assertExact(r, true);
    assert.equal(r.before.at(-1), String(Number(r.after[0]) - 1), "the restored run starts right after");
  });

  it("sequence at p=2", async () => {
    assertExact(
      await straightAndRestored("sequence-p2", () => new NumberSequenceSource(1, 2000), 2, 100),
      false,
    );
  });

  it("data generator", async () => {
    const make = () => new DataGeneratorSource((i) => ({ i, s: `g${i}` }), { count: 1000 });
    assertExact(await straightAndRestored("generator", make, 1, 100), true);
  });

  it("data generator at p=2", async () => {
    const make = () => new DataGeneratorSource((i) => `g${i}`, { count: 2000 });
    assertExact(await straightAndRestored("generator-p2", make, 2, 100), false);
  });

  it("collection", async () => {
    const elements = Array.from({ length: 1000 }, (_, i) => ({ i }));
    assertExact(
      await straightAndRestored("collection", () => new CollectionSource(elements, undefined), 1, 100),
      true,
    );
  });

  it("text file: several files and splits", async () => {
    const files = join(dir, "text-input");
    mkdirSync(files, { recursive: true });
    for (let f = 0; f < 3; f++) {
      const lines = Array.from({ length: 400 }, (_, i) => `file ${f} line ${i} ${"x".repeat(i % 50)}`);
      writeFileSync(join(files, `part-${f}.txt`), `${lines.join("\n")}\n`);
    }
    // Small splits: the pause falls inside a split, after a line that is not at a split boundary.
    const make = () => new TextFileSource(files, { splitSize: 4096 });
    assertExact(await straightAndRestored("text", make, 1, 100), true);
    assertExact(await straightAndRestored("text-p2", make, 2, 100), false);
  });

  it("Nexmark", async () => {
    const make = () => new NexmarkSource({ numEvents: 6000 }, { splitsPerReader: 2 });
    assertExact(await straightAndRestored("nexmark", make, 1, 1500), true);
  });
});
