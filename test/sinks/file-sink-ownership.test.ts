// Who may remove staged files of the exactly-once file sink (issue 14, defect 5): a job restored
// into a directory another job is writing to must leave that job's in-progress and pending files
// alone, while a restarted job must still remove what its own earlier attempts staged and no
// checkpoint refers to. In-thread; every wait is on a condition.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { partFileName } from "../../src/api/sinks/staged-part-files.ts";
import {
  type Committer,
  ExactlyOnceFileSink,
  type FileCommittable,
  JobCancelledError,
  type RuntimeContext,
  type SinkWriterContext,
  StreamExecutionEnvironment,
} from "../../src/index.ts";
import { GatedSource, until } from "../checkpoint/fixtures/gated-source.ts";
import {
  assertExactlyOnce,
  buildLabelledJob,
  committedRows,
  Limit,
  type Row,
  stagedFiles,
} from "./file-sink-fixtures.ts";

const N = 4000;
// No rolling by size: which files exist at each step follows from the steps alone.
const OPTIONS = { format: "jsonl", rollingPolicy: { maxPartSize: 1 << 30 } } as const;
const HOUR = 3_600_000;

/** A file sink whose commits wait until the test releases them. */
class HeldCommitSink extends ExactlyOnceFileSink<Row> {
  private open!: () => void;
  private readonly held = new Promise<void>((resolve) => {
    this.open = resolve;
  });
  release(): void {
    this.open();
  }
  override createCommitter(ctx?: SinkWriterContext): Committer<FileCommittable> {
    const inner = super.createCommitter(ctx);
    const held = this.held;
    return { commit: (cs) => held.then(() => inner.commit(cs)) };
  }
}

function withDir<R>(run: (dir: string) => Promise<R>): Promise<R> {
  const dir = mkdtempSync(join(tmpdir(), "weir-file-owner-"));
  return run(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const inProgress = (out: string) => stagedFiles(out).filter((f) => f.endsWith(".inprogress"));

describe("exactly-once file sink: staged files belong to their job", () => {
  it("a job restored into another running job's directory leaves that job's staged files alone", () =>
    withDir(async (dir) => {
      const out = join(dir, "out");
      // Job B, first run: half its input, a savepoint, cancelled.
      const bLimit = new Limit(N / 2);
      const bSource = new GatedSource(0, N, bLimit.gate);
      const b1 = new StreamExecutionEnvironment({
        parallelism: 2,
        checkpointInterval: HOUR,
        checkpointDirectory: join(dir, "b1"),
      });
      buildLabelledJob(b1, bSource, new ExactlyOnceFileSink<Row>(out, OPTIONS), "B");
      const b1Client = await b1.executeAsync("shared-dir");
      let savepoint: string;
      try {
        await until(() => bSource.emitted.get(0) === N / 2, "job B to emit half its input");
        savepoint = await b1Client.triggerSavepoint(join(dir, "savepoints"));
      } finally {
        await b1Client.cancel();
        await assert.rejects(b1Client.wait(), JobCancelledError);
      }
      const beforeA = new Set(stagedFiles(out));

      // Job A (the same job file: same uid, same prefix) runs in the same directory: pending files
      // of a completed checkpoint whose commit has not happened yet, and in-progress files.
      const aLimit = new Limit(N / 4);
      const aSource = new GatedSource(0, N, aLimit.gate);
      const aSink = new HeldCommitSink(out, OPTIONS);
      const a = new StreamExecutionEnvironment({
        parallelism: 2,
        checkpointInterval: HOUR,
        checkpointDirectory: join(dir, "a"),
      });
      buildLabelledJob(a, aSource, aSink, "A");
      const aClient = await a.executeAsync("shared-dir");
      let aDone = false;
      try {
        await until(() => aSource.emitted.get(0) === N / 4, "job A to emit a quarter of its input");
        await aClient.triggerCheckpoint();
        aLimit.raise(N / 2);
        await until(() => aSource.emitted.get(0) === N / 2, "job A to emit half its input");
        await until(() => inProgress(out).length === 2, "job A's two writers to have in-progress files");
        const aFiles = stagedFiles(out).filter((f) => !beforeA.has(f));
        assert.ok(
          aFiles.some((f) => f.endsWith(".pending")),
          `job A has pending files: ${aFiles}`,
        );

        // Job B restored from its savepoint, at another parallelism, into the same directory.
        const b2 = new StreamExecutionEnvironment({
          parallelism: 3,
          checkpointInterval: HOUR,
          checkpointDirectory: join(dir, "b2"),
          restorePath: savepoint,
        });
        buildLabelledJob(
          b2,
          new GatedSource(0, N, () => undefined),
          new ExactlyOnceFileSink<Row>(out, OPTIONS),
          "B",
        );
        await b2.execute("shared-dir");
        const gone = aFiles.filter((f) => !existsSync(join(out, ".staging", f)));
        assert.deepEqual(gone, [], "job B's restore removed none of job A's staged files");

        aSink.release();
        aLimit.raise(N);
        await aClient.wait();
        aDone = true;
      } finally {
        // A failed assertion must not leave job A running (the test would never end).
        if (!aDone) {
          aSink.release();
          await aClient.cancel().catch(() => {});
          await aClient.wait().catch(() => {});
        }
      }
      const rows = committedRows(out);
      assertExactlyOnce(rows, "A", N);
      assertExactlyOnce(rows, "B", N);
      assert.deepEqual(stagedFiles(out), [], "nothing is left staged once both jobs finished");
    }));

  for (const checkpoint of [true, false]) {
    const how = checkpoint ? "restored from a checkpoint" : "no checkpoint completed before the failure";
    it(`a restarted job removes what its earlier attempt staged and no checkpoint refers to (${how})`, () =>
      withDir(async (dir) => {
        const out = join(dir, "out");
        const limit = new Limit(N / 4);
        const source = new GatedSource(0, N, limit.gate);
        let fail = false;
        const env = new StreamExecutionEnvironment({
          parallelism: 2,
          checkpointInterval: HOUR,
          checkpointDirectory: join(dir, "cp"),
        });
        buildLabelledJob(env, source, new ExactlyOnceFileSink<Row>(out, OPTIONS), "R", 1, () => fail);
        const client = await env.executeAsync("restarted");
        let leftovers: string[] = [];
        let ended = false;
        try {
          if (checkpoint) {
            await until(() => source.emitted.get(0) === N / 4, "a quarter of the input");
            await client.triggerCheckpoint();
          }
          limit.raise(N / 2);
          await until(() => source.emitted.get(0) === N / 2, "half of the input");
          await until(() => inProgress(out).length === 2, "both writers to have in-progress files");
          // Staged after the checkpoint, in no checkpoint: the in-progress files (leftover pending
          // files are covered by the abortLeftovers test below).
          leftovers = stagedFiles(out);
          assert.equal(leftovers.length, 2, `only the in-progress files are staged: ${leftovers}`);
          fail = true;
          limit.raise(N);
          const result = await client.wait();
          assert.equal(result.restarts, 1);
          ended = true;
        } finally {
          if (!ended) {
            await client.cancel().catch(() => {});
            await client.wait().catch(() => {});
          }
        }
        const left = leftovers.filter((f) => existsSync(join(out, ".staging", f)));
        assert.deepEqual(left, [], "the first attempt's uncommitted staged files were removed");
        assert.deepEqual(stagedFiles(out), []);
        assertExactlyOnce(committedRows(out), "R", N);
      }));
  }
});

describe("ExactlyOnceFileSink.abortLeftovers", () => {
  const context = (jobId: string, operatorUid: string, attemptNumber: number, subtaskIndex = 0) =>
    ({
      runtime: { jobId, operatorUid, attemptNumber } as RuntimeContext,
      subtaskIndex,
      parallelism: 2,
    }) satisfies SinkWriterContext;
  const JOB = "0b6f2a44-9c1e-4d1a-8f00-2a7c5e9d1b3c";
  const OTHER = "7d1e0c52-1a2b-4c3d-9e8f-0a1b2c3d4e5f";

  it("removes only this run's and operator's files of earlier attempts that no restored committable names", () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-file-leftovers-"));
    try {
      const staging = join(dir, ".staging");
      mkdirSync(staging);
      const name = (ctx: SinkWriterContext, seq: number, suffix: string) =>
        `${partFileName("part", ctx, seq, ".txt")}${suffix}`;
      const earlier = context(JOB, "files", 0, 1);
      const current = context(JOB, "files", 1, 0);
      const removed = [name(earlier, 0, ".inprogress"), name(earlier, 1, ".pending")];
      const restored = name(earlier, 2, ".pending");
      const kept = [
        restored,
        name(current, 0, ".inprogress"),
        name(context(JOB, "files", 1, 1), 0, ".pending"),
        name(context(OTHER, "files", 0), 0, ".inprogress"),
        name(context(OTHER, "files", 0), 1, ".pending"),
        name(context(JOB, "other-sink", 0), 0, ".inprogress"),
        `${partFileName("logs", earlier, 0, ".txt")}.inprogress`,
        "part-1-0b6f2a44-0-0.txt.inprogress",
      ];
      for (const f of [...removed, ...kept]) writeFileSync(join(staging, f), "x\n");
      const sink = new ExactlyOnceFileSink<string>(dir);
      sink.abortLeftovers(current, [
        { pending: join(staging, restored), final: join(dir, restored.replace(".pending", "")), subtask: 1 },
      ]);
      assert.deepEqual(readdirSync(staging).sort(), [...kept].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
