// ContinuousFileSource: files that appear in a watched directory while the job runs are read
// exactly once (in-progress names and unstable files wait), a savepoint taken mid-file resumes
// exactly at another parallelism, CSV fields with quotes, delimiters and newlines parse, and a
// malformed line fails the job naming file and line, or is counted when dead-lettering.

import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  ContinuousFileSource,
  type ContinuousFileSplit,
  FILE_DEAD_LETTER_COUNTER,
  JobCancelledError,
  RestartStrategies,
  StreamExecutionEnvironment,
} from "../../src/index.ts";

const dirs: string[] = [];
const tempDir = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `weir-cfs-${name}-`));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const jsonl = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => JSON.stringify({ n: from + k })).join("\n") + "\n";
const nums = (vs: unknown[]) => vs.map((v) => (v as { n: number }).n).sort((a, b) => a - b);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

function allText(e: unknown): string {
  let s = "";
  for (let c = e as { message?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) {
    s += `${String((c as Error).name)}: ${c.message}\n`;
  }
  return s;
}

describe("ContinuousFileSource", () => {
  it("reads files that appear while the job runs exactly once; in-progress names wait", async () => {
    const dir = tempDir("new");
    writeFileSync(join(dir, "a.jsonl"), jsonl(0, 10));
    // Checkpoints: collect() hands records over at each checkpoint in an unbounded job.
    const env = new StreamExecutionEnvironment({ parallelism: 2, checkpointInterval: 50 });
    const h = env
      .fromSource(
        new ContinuousFileSource({ directory: dir, format: "jsonl", discoveryIntervalMs: 20 }),
        "files",
      )
      .collect();
    const client = await env.executeAsync("cfs-new");
    try {
      await waitFor(() => h.values.length >= 10, "the first file");
      // Written under an in-progress name: not read until renamed.
      writeFileSync(join(dir, "b.jsonl.inprogress"), jsonl(10, 30));
      writeFileSync(join(dir, "c.jsonl"), jsonl(30, 40));
      await waitFor(() => h.values.length >= 20, "the file written after the start");
      assert.deepEqual(nums(h.values), range(0, 10).concat(range(30, 40)), "b is still in progress");
      renameSync(join(dir, "b.jsonl.inprogress"), join(dir, "b.jsonl"));
      writeFileSync(join(dir, "d.jsonl"), jsonl(40, 45));
      await waitFor(() => h.values.length >= 45, "the renamed file and the last one");
      // Further listings find nothing new: a later file is the only thing read after this.
      writeFileSync(join(dir, "e.jsonl"), jsonl(45, 46));
      await waitFor(() => h.values.length >= 46, "the marker file");
      assert.deepEqual(nums(h.values), range(0, 46), "every record once");
    } finally {
      await client.cancel();
    }
  });

  for (const [p1, p2] of [
    [1, 2],
    [2, 1],
  ] as const) {
    it(`a savepoint mid-file at p=${p1} restored at p=${p2} resumes exactly`, async () => {
      const dir = tempDir("restore");
      const files = 4;
      const per = 20_000;
      for (let f = 0; f < files; f++) writeFileSync(join(dir, `f${f}.jsonl`), jsonl(f * per, (f + 1) * per));
      const spDir = tempDir("sp");
      const job = (parallelism: number, restore?: string) => {
        const env = new StreamExecutionEnvironment({
          parallelism,
          checkpointInterval: 50,
          checkpointDirectory: join(spDir, `cp-${parallelism}`),
          // Small buffers: little in flight, so barriers (and the savepoint) overtake the reading.
          bufferSize: 1024,
          creditsPerChannel: 2,
        });
        if (restore !== undefined) env.restoreFrom(restore);
        const h = env
          .fromSource(
            new ContinuousFileSource({ directory: dir, format: "jsonl", discoveryIntervalMs: 20 }),
            "files",
          )
          .uid("files")
          .map((v) => {
            // About 50 µs a record, so that the savepoint surely comes while files are mid-read.
            const until = performance.now() + 0.05;
            while (performance.now() < until) {}
            return v;
          })
          .uid("identity")
          .collect();
        return { env, h };
      };
      const first = job(p1);
      const c1 = await first.env.executeAsync("cfs-restore-1");
      await waitFor(() => first.h.values.length >= 50, "some records");
      const savepoint = await c1.stopWithSavepoint(join(spDir, "sp"));
      await assert.rejects(c1.wait(), JobCancelledError);
      const before = first.h.values;
      // Whether the savepoint lands mid-file depends on scheduling (checkpoints were seen to
      // complete only after the files were read); the next test pins mid-file resumption down.
      // Either way nothing may be read twice or lost, finished files included.
      // A file that appears after the savepoint is read by the restored job too.
      writeFileSync(join(dir, "g.jsonl"), jsonl(files * per, files * per + 100));
      const second = job(p2, savepoint);
      const c2 = await second.env.executeAsync("cfs-restore-2");
      try {
        await waitFor(
          () => before.length + second.h.values.length >= files * per + 100,
          "the rest of the files",
          60_000,
        );
      } finally {
        await c2.cancel().catch(() => {});
      }
      assert.deepEqual(
        nums([...before, ...second.h.values]),
        range(0, files * per + 100),
        `each record exactly once (${before.length} before the savepoint)`,
      );
    });
  }

  for (const format of ["jsonl", "csv"] as const) {
    it(`${format}: a reader's mid-file position, restored at parallelism 2, resumes after its last record`, async () => {
      const dir = tempDir(`mid-${format}`);
      const total = 200;
      const text =
        format === "jsonl"
          ? jsonl(0, total)
          : `n,note\n${range(0, total)
              .map((i) => `${i},"line one, of ${i}\nline ""two"""`)
              .join("\n")}\n`;
      writeFileSync(join(dir, "a.data"), text);
      writeFileSync(
        join(dir, "b.data"),
        format === "jsonl" ? jsonl(total, total + 3) : "n,note\n200,x\n201,y\n202,z\n",
      );
      const source = new ContinuousFileSource({ directory: dir, format, bounded: true });
      const value = (v: unknown) => Number((v as { n: number | string }).n);
      // Enumerator at p=1 hands out both files; reader 0 takes a.data and reads one poll of it.
      const assigned: Array<{ split: ContinuousFileSplit; subtask: number }> = [];
      const enumCtx = (parallelism: number) => ({
        parallelism,
        assignSplit: (split: ContinuousFileSplit, subtask: number) => assigned.push({ split, subtask }),
        signalNoMoreSplits: () => {},
      });
      const e1 = source.createEnumerator(enumCtx(1));
      e1.start();
      e1.handleSplitRequest(0);
      const a = assigned.shift()!.split;
      assert.match(a.path, /a\.data$/);
      const got: number[] = [];
      const reader = (subtask: number) =>
        source.createReader({
          runtime: { getCounter: () => ({ add() {} }) } as never,
          subtaskIndex: subtask,
          parallelism: 2,
          sendSplitRequest: () => {},
        });
      const out = {
        collect: (v: unknown) => got.push(value(v)),
        createOutputForSplit: () => out,
        releaseOutputForSplit: () => {},
      };
      const r1 = reader(0);
      r1.addSplits([a]);
      r1.pollNext(out as never);
      assert.ok(got.length > 0 && got.length < total, `mid-file: ${got.length} records read`);
      const readerState = r1.snapshotState!(1);
      const enumState = (e1 as { snapshotState(id: number): ContinuousFileSplit[] }).snapshotState(1);
      const mid = readerState.find((s) => s.path === a.path)!;
      assert.equal(mid.records, got.length);
      // Restore at p=2: a.data resumes at its position, b.data (never handed out) from the start.
      const e2 = source.restoreEnumerator(enumCtx(2), [...readerState, ...enumState]);
      e2.start();
      e2.handleSplitRequest(1);
      e2.handleSplitRequest(0);
      e2.handleSplitRequest(1);
      assert.deepEqual(
        assigned.map((x) => [x.split.path.slice(-6), x.split.records, x.subtask]),
        [
          ["a.data", got.length, 1],
          ["b.data", 0, 0],
        ],
      );
      for (const { split, subtask } of assigned) {
        const r = reader(subtask);
        r.addSplits([split]);
        while (r.pollNext(out as never) === 0) {}
      }
      assert.deepEqual(
        got.sort((x, y) => x - y),
        range(0, total + 3),
        "every record once",
      );
    });
  }

  it("parses CSV with quotes, delimiters and newlines in fields", async () => {
    const dir = tempDir("csv");
    writeFileSync(
      join(dir, "people.csv"),
      'name,note\r\n"Smith, Jane","said ""hi""\nthen left"\r\nBob,plain\r\n"",\r\n',
    );
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const h = env.readFilesContinuously({ directory: dir, format: "csv", bounded: true }).collect();
    await env.execute("cfs-csv");
    assert.deepEqual(h.values, [
      { name: "Smith, Jane", note: 'said "hi"\nthen left' },
      { name: "Bob", note: "plain" },
      { name: "", note: "" },
    ]);
  });

  it("a malformed line fails the job naming file and line; dead-letter counts and skips it", async () => {
    const dir = tempDir("bad");
    writeFileSync(join(dir, "x.jsonl"), '{"n":0}\n{"n":1}\n{"n":\n{"n":3}\n');
    writeFileSync(join(dir, "y.csv"), "a,b\n1,2\n3\n4,5\n");
    const fails = async (format: "jsonl" | "csv", pattern: RegExp) => {
      const env = new StreamExecutionEnvironment({
        parallelism: 1,
        restartStrategy: RestartStrategies.noRestart(),
      });
      env
        .fromSource(
          new ContinuousFileSource({
            directory: dir,
            format,
            bounded: true,
            include: new RegExp(`\\.${format}$`),
          }),
          "bad",
        )
        .collect();
      const err = await env.execute("cfs-bad").then(
        () => assert.fail("the job should fail"),
        (e: unknown) => e,
      );
      assert.match(allText(err), pattern);
    };
    await fails("jsonl", /MalformedFileRecordError: .*malformed record in '.*x\.jsonl' at line 3: /);
    await fails("csv", /MalformedFileRecordError: .*malformed record in '.*y\.csv' at line 3: /);

    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const h = env
      .fromSource(
        new ContinuousFileSource({
          directory: dir,
          format: "jsonl",
          bounded: true,
          include: /\.jsonl$/,
          onMalformed: "dead-letter",
        }),
        "dl",
      )
      .collect();
    const result = await env.execute("cfs-dead-letter");
    assert.deepEqual(nums(h.values), [0, 1, 3]);
    assert.equal(result.getAccumulatorResult(FILE_DEAD_LETTER_COUNTER), 1);
  });
});
