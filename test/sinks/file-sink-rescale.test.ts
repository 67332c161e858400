// The exactly-once file sink restored at another parallelism (issue 14, defect 4): every new
// subtask receives every old subtask's committables, and each must be committed by exactly one of
// them. The race between subtasks is made deterministic through the committer's file seam: every
// subtask sees every restored pending file as still there (as when all check before any renames),
// so a committable handed to two subtasks is renamed twice and the second rename fails (ENOENT).
// In-thread, with a savepoint whose committables were never committed (a crash before the commit).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { committingSubtask } from "../../src/api/sinks/staged-part-files.ts";
import {
  type Committer,
  ExactlyOnceFileSink,
  type FileCommittable,
  JobCancelledError,
  type PrecommittingSinkWriter,
  type RuntimeContext,
  type SinkWriterContext,
  StreamExecutionEnvironment,
} from "../../src/index.ts";
import { GatedSource, until } from "../checkpoint/fixtures/gated-source.ts";
import { assertExactlyOnce, buildLabelledJob, committedRows, Limit, type Row } from "./file-sink-fixtures.ts";

const N = 6000;
const OPTIONS = { format: "jsonl", rollingPolicy: { maxPartSize: 2048 } } as const;

/** Run 1's sink: remembers which subtask staged each part file, and never commits (it "crashes" first). */
class CrashBeforeCommitSink extends ExactlyOnceFileSink<Row> {
  readonly writerOf = new Map<string, number>();
  override createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<Row, FileCommittable> {
    const w = super.createWriter(ctx);
    const writerOf = this.writerOf;
    return {
      write: (v) => w.write(v),
      async prepareCommit(checkpointId) {
        const staged = await w.prepareCommit(checkpointId);
        for (const c of staged) writerOf.set(c.pending, ctx.subtaskIndex);
        return staged;
      },
      close: () => w.close?.(),
    };
  }
  override createCommitter(): Committer<FileCommittable> {
    return { commit() {} };
  }
}

/** Run 2's sink: the committer's file operations, recorded per subtask, with a stale `exists`. */
class RacingSink extends ExactlyOnceFileSink<Row> {
  /** Restored pending path -> subtasks that looked at it, and how often it was renamed. */
  readonly touched = new Map<string, Set<number>>();
  readonly renames = new Map<string, number>();
  constructor(
    dir: string,
    private readonly restored: ReadonlySet<string>,
  ) {
    super(dir, OPTIONS);
  }
  override createCommitter(ctx?: SinkWriterContext): Committer<FileCommittable> {
    const subtask = ctx!.subtaskIndex;
    const { touched, renames, restored } = this;
    return super.createCommitter(ctx, {
      exists(path) {
        if (!restored.has(path)) return existsSync(path);
        let s = touched.get(path);
        if (s === undefined) touched.set(path, (s = new Set()));
        s.add(subtask);
        return true; // what every subtask saw before the first rename
      },
      rename(from, to) {
        renames.set(from, (renames.get(from) ?? 0) + 1);
        renameSync(from, to);
      },
    });
  }
}

async function savepointAt(
  dir: string,
  out: string,
  parallelism: number,
): Promise<[string, Map<string, number>]> {
  const limit = new Limit(N / 2);
  const source = new GatedSource(0, N, limit.gate);
  const sink = new CrashBeforeCommitSink(out, OPTIONS);
  const env = new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 3_600_000,
    checkpointDirectory: join(dir, "cp1"),
  });
  buildLabelledJob(env, source, sink, "j");
  const client = await env.executeAsync("rescaled-files");
  try {
    await until(() => (source.emitted.get(0) ?? 0) === N / 2, "half of the records to be emitted");
    const savepoint = await client.triggerSavepoint(join(dir, "savepoints"));
    return [savepoint, new Map(sink.writerOf)];
  } finally {
    await client.cancel();
    await assert.rejects(client.wait(), JobCancelledError);
  }
}

async function restoreAt(dir: string, savepoint: string, parallelism: number, sink: RacingSink) {
  const env = new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 3_600_000,
    checkpointDirectory: join(dir, "cp2"),
    restorePath: savepoint,
  });
  buildLabelledJob(env, new GatedSource(0, N, () => undefined), sink, "j");
  await env.execute("rescaled-files");
}

describe("exactly-once file sink: restored committables at another parallelism", () => {
  for (const [from, to] of [
    [3, 2],
    [3, 4],
    [2, 1],
    [2, 2],
  ] as const) {
    it(`savepoint at p=${from} restored at p=${to}: each committable committed once, by old % ${to}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-file-rescale-"));
      try {
        const out = join(dir, "out");
        const [savepoint, writerOf] = await savepointAt(dir, out, from);
        const writers = new Set(writerOf.values());
        assert.equal(writers.size, from, "every old subtask staged part files");
        assert.deepEqual(committedRows(out), [], "nothing of run 1 was committed");

        const sink = new RacingSink(out, new Set(writerOf.keys()));
        await restoreAt(dir, savepoint, to, sink);

        for (const [pending, writer] of writerOf) {
          assert.deepEqual(
            [...(sink.touched.get(pending) ?? [])],
            [writer % to],
            `${pending} (old subtask ${writer}) is committed by new subtask ${writer % to} only`,
          );
          assert.equal(sink.renames.get(pending), 1, `${pending} is renamed once`);
        }
        assertExactlyOnce(committedRows(out), "j", N);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("exactly-once file sink committer", () => {
  const context = (subtaskIndex: number, parallelism: number): SinkWriterContext => ({
    runtime: { jobId: "job", operatorUid: "files", attemptNumber: 0 } as RuntimeContext,
    subtaskIndex,
    parallelism,
  });

  it("splits committables by writing subtask, and places those without one by their path", () => {
    const all: FileCommittable[] = [];
    for (let s = 0; s < 5; s++) all.push({ pending: `/p/${s}.pending`, final: `/f/${s}`, subtask: s });
    for (let s = 0; s < 7; s++) all.push({ pending: `/p/old-${s}.pending`, final: `/f/old-${s}` });
    for (const p of [1, 2, 3, 4, 6]) {
      const owners = all.map((c) => [0, 1, 2, 3, 4, 5].filter((i) => i < p && committingSubtask(c, p) === i));
      for (const [k, o] of owners.entries()) assert.equal(o.length, 1, `committable ${k} at p=${p}: ${o}`);
      for (const c of all.slice(0, 5)) assert.equal(committingSubtask(c, p), c.subtask! % p);
    }
  });

  it("a commit repeated after another committer renamed the file is a no-op; a vanished file is an error", () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-file-commit-"));
    try {
      const sink = new ExactlyOnceFileSink<string>(dir);
      const c: FileCommittable = { pending: join(dir, "a.pending"), final: join(dir, "a"), subtask: 0 };
      // Another committer renamed it between this one's exists() and rename().
      const stale = { exists: (p: string) => p === c.pending || existsSync(p), rename: renameSync };
      assert.throws(() => sink.createCommitter(context(0, 1), stale).commit([c]), /cannot commit .*ENOENT/);
      writeFileSync(c.final, "x\n");
      sink.createCommitter(context(0, 1), stale).commit([c]);
      sink.createCommitter(context(0, 1)).commit([c]);
      rmSync(c.final);
      assert.throws(() => sink.createCommitter(context(0, 1)).commit([c]), /staged file .* is gone/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
