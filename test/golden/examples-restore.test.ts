// Golden runs of the examples: each runs once straight through and once stopped with a savepoint at
// a seeded random point of its input, then restored at another parallelism; the files it writes
// must be the same. The stop point is exact: the example's text source is wrapped in a gate that
// holds its readers after a chosen number of lines, and the savepoint is taken while it holds.
// A failure prints the seed; `GOLDEN_SEED=<seed> node scripts/run-tests.mjs golden/examples`
// replays it. (examples/generated-data.ts runs here as its bounded variant, `--count` and
// `--output`; examples/feature-pipeline.ts is run end to end against its servers in
// test/examples/.)

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import generatedData from "../../examples/generated-data.ts";
import wordcount from "../../examples/wordcount.ts";
import {
  DataGeneratorSource,
  JobCancelledError,
  type JobDefinition,
  ParameterTool,
  StreamExecutionEnvironment,
  TextFileSource,
} from "../../src/index.ts";
import { prng } from "../fixtures/helpers.ts";
import { gatedSource, SourceGate } from "../harness/gated-source.ts";

const SEED = Number(process.env.GOLDEN_SEED ?? Date.now() % 1_000_000);
const dir = mkdtempSync(join(tmpdir(), "weir-golden-examples-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Example {
  name: string;
  job: JobDefinition;
  /** Records its source reads (the wordcount text has 244 lines). */
  records: number;
  /** Job arguments, given the run's output directory. */
  args: (output: string) => string[];
}

/** Clicks of the bounded generated-data run. */
const CLICKS = 20_000;

const EXAMPLES: Example[] = [
  { name: "wordcount", job: wordcount, records: 244, args: (output) => ["--output", output] },
  {
    name: "generated-data",
    job: generatedData,
    records: CLICKS,
    args: (output) => ["--count", String(CLICKS), "--output", output],
  },
];

/** An environment whose readTextFile and fromGenerator read through `gate` (when given). */
function environment(parallelism: number, checkpoints: string, gate?: SourceGate, restorePath?: string) {
  const env = new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 100,
    checkpointDirectory: checkpoints,
    ...(restorePath === undefined ? {} : { restorePath }),
  });
  if (gate !== undefined) {
    env.readTextFile = (path: string) =>
      env.fromSource(gatedSource(new TextFileSource(path), gate), `Text file ${path}`);
    env.fromGenerator = (generator, options) =>
      env.fromSource(gatedSource(new DataGeneratorSource(generator, options), gate), "Data generator");
  }
  return env;
}

/** Every line of every file the run wrote, sorted. */
function written(output: string): string[] {
  return readdirSync(output, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith("."))
    .flatMap((e) => readFileSync(join(e.parentPath, e.name), "utf8").split("\n"))
    .filter((l) => l.length > 0)
    .sort();
}

describe(`golden example runs, straight and through stop-with-savepoint (seed ${SEED})`, () => {
  const random = prng(SEED);
  for (const example of EXAMPLES) {
    const stopAt = Math.floor(example.records * (0.1 + 0.6 * random()));
    const [p1, p2] = random() < 0.5 ? [2, 3] : [3, 1];
    it(`${example.name}: savepoint after ${stopAt} records at p=${p1}, restored at p=${p2}`, async () => {
      const work = mkdtempSync(join(dir, `${example.name}-`));
      const straightOut = join(work, "straight-out");
      const restoredOut = join(work, "restored-out");
      const straightEnv = environment(2, join(work, "straight"));
      await example.job.build(straightEnv, ParameterTool.fromArgs(example.args(straightOut)));
      await straightEnv.execute(`${example.name} straight`);

      const gate = new SourceGate(stopAt);
      const firstEnv = environment(p1, join(work, "first"), gate);
      await example.job.build(firstEnv, ParameterTool.fromArgs(example.args(restoredOut)));
      const client = await firstEnv.executeAsync(`${example.name} until the savepoint`);
      await gate.whenClosed();
      const savepoint = await client.stopWithSavepoint(join(work, "savepoints"));
      await assert.rejects(client.wait(), JobCancelledError);

      const secondEnv = environment(p2, join(work, "second"), undefined, savepoint);
      await example.job.build(secondEnv, ParameterTool.fromArgs(example.args(restoredOut)));
      await secondEnv.execute(`${example.name} restored`);

      const expected = written(straightOut);
      assert.ok(expected.length > 0, `${example.name} wrote nothing`);
      assert.deepEqual(
        written(restoredOut),
        expected,
        `${example.name}: output through a savepoint after ${stopAt} records (p=${p1} -> p=${p2}) differs ` +
          `from the straight run; replay with GOLDEN_SEED=${SEED} node scripts/run-tests.mjs golden/examples`,
      );
    });
  }
});
