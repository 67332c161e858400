// The final checkpoint of a bounded job: the sinks' end-of-input committables are published in a
// checkpoint before they are committed, so a failure during the final commits restarts from that
// checkpoint — the committables are committed again and no input is replayed. Failures are
// injected into the final commit of the exactly-once file sink and of the write-ahead sink, with
// collect() in the same job; the committed output must equal the output of a run without failure.
// The source is held back on a restart until a new checkpoint has completed during the replay:
// the case that used to duplicate records (a replay split differently into transactions). On
// worker threads, a worker is killed while its sink commits the end-of-input part files.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { submitJob } from "../../src/cluster/mini-cluster.ts";
import { liveWorkerCount } from "../../src/cluster/worker-threads.ts";
import {
  type Committer,
  ExactlyOnceFileSink,
  type FileCommittable,
  JobCancelledError,
  type PrecommittingSinkWriter,
  RestartStrategies,
  type SinkWriterContext,
  StreamExecutionEnvironment,
  WatermarkStrategy,
  WriteAheadSink,
} from "../../src/index.ts";
import type { FinalCommitParams } from "./fixtures/final-commit-job.ts";
import { GatedSource, until } from "./fixtures/gated-source.ts";

const FINAL_COMMIT_JOB = fileURLToPath(new URL("./fixtures/final-commit-job.ts", import.meta.url));

const FINAL = Number.MAX_SAFE_INTEGER;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const numeric = (a: number, b: number) => a - b;

type FailIn = "none" | "write-ahead" | "file";

/** What the sinks' external systems saw, and the failure injected into a final commit. */
class Scenario {
  /** The write-ahead sink's "database": rows, and the transaction ids it committed (idempotent). */
  readonly rows: number[] = [];
  readonly transactions = new Set<string>();
  /** Rows committed by checkpoints other than the final one. */
  nonFinalRows = 0;
  /** Values committed by a checkpoint other than the final one after the injected failure. */
  readonly committedAfterFailure = new Set<number>();
  failed = false;
  /** Part files staged at the end of input (their pending paths). */
  readonly finalParts = new Set<string>();

  constructor(readonly failIn: FailIn) {}

  async sendValues(values: number[], checkpointId: number, txn: string): Promise<void> {
    await delay(1);
    if (!this.transactions.has(txn)) {
      this.transactions.add(txn);
      this.rows.push(...values);
      if (checkpointId !== FINAL) {
        this.nonFinalRows += values.length;
        if (this.failed) for (const v of values) this.committedAfterFailure.add(v);
      }
    }
    if (checkpointId === FINAL && this.failIn === "write-ahead" && !this.failed) {
      // The transaction is committed; the job fails before it learns so.
      this.failed = true;
      throw new Error("injected failure after the final write-ahead commit");
    }
  }
}

/** The exactly-once file sink, failing once right after it committed the end-of-input part files. */
class FailingFileSink extends ExactlyOnceFileSink<number> {
  constructor(
    directory: string,
    private readonly scenario: Scenario,
  ) {
    super(directory, { format: "jsonl", rollingPolicy: { maxPartSize: 256 } });
  }

  override createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<number, FileCommittable> {
    const w = super.createWriter(ctx);
    const scenario = this.scenario;
    return {
      write: (v) => w.write(v),
      async prepareCommit(checkpointId) {
        const staged = await w.prepareCommit(checkpointId);
        if (checkpointId === FINAL) for (const c of staged) scenario.finalParts.add(c.pending);
        return staged;
      },
      close: () => w.close?.(),
    };
  }

  override createCommitter(ctx?: SinkWriterContext): Committer<FileCommittable> {
    const inner = super.createCommitter(ctx);
    const scenario = this.scenario;
    return {
      commit(committables) {
        inner.commit(committables);
        const final = committables.some((c) => scenario.finalParts.has(c.pending));
        if (final && scenario.failIn === "file" && !scenario.failed) {
          scenario.failed = true;
          throw new Error("injected failure after the final file commit");
        }
      },
    };
  }
}

function committedLines(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const out: number[] = [];
  for (const f of readdirSync(dir)) {
    if (f.startsWith(".")) continue;
    for (const l of readFileSync(join(dir, f), "utf8").split("\n")) if (l.length > 0) out.push(Number(l));
  }
  return out.sort(numeric);
}

interface Outcome {
  scenario: Scenario;
  source: GatedSource;
  restarts: number;
  walRows: number[];
  fileLines: number[];
  collected: number[];
}

const EVENTS = 600;
const HALF = 300;

/**
 * One run (p=1, so that one reader's order is the job's): records 0..HALF-1, held until a
 * checkpoint holding them completed; then the rest and the end of input at once, so they are all
 * in the end-of-input transactions. On a restart (a replay, as the old code did), the reader emits
 * one record and is held until a checkpoint holding it completed: the replay is split otherwise.
 */
async function run(failIn: FailIn): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), "weir-final-checkpoint-"));
  try {
    const scenario = new Scenario(failIn);
    let firstReplayed: number | undefined;
    const source = new GatedSource(0, EVENTS, ({ index, attempt, emitted }) => {
      if (attempt === 0) {
        if (index < HALF || scenario.nonFinalRows >= HALF) return undefined;
        return until(() => scenario.nonFinalRows >= HALF, "a checkpoint with the first half");
      }
      if (emitted === 0) {
        firstReplayed = index;
        return undefined;
      }
      const first = firstReplayed!;
      if (scenario.committedAfterFailure.has(first)) return undefined;
      return until(() => scenario.committedAfterFailure.has(first), "a checkpoint during the replay", 30_000);
    });
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      checkpointDirectory: join(dir, "checkpoints"),
    });
    env.enableCheckpointing(20);
    env.getCheckpointConfig().setTolerableCheckpointFailureNumber(100);
    env.setRestartStrategy(RestartStrategies.fixedDelay(1, 10));
    const events = env
      .fromSource(source, WatermarkStrategy.noWatermarks<number>(), "gated")
      .uid("gated")
      .map((i) => i)
      .uid("copy");
    const handle = events.collect();
    events.sinkTo(new FailingFileSink(join(dir, "out"), scenario)).uid("files");
    events
      .sinkTo(new WriteAheadSink<number>({ sendValues: (v, c, _s, t) => scenario.sendValues(v, c, t) }))
      .uid("wal");
    const result = await env.execute(`final-checkpoint-${failIn}`);
    return {
      scenario,
      source,
      restarts: result.restarts,
      walRows: [...scenario.rows].sort(numeric),
      fileLines: committedLines(join(dir, "out")),
      collected: [...handle.values].sort(numeric),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the final checkpoint (end of a bounded job)", () => {
  let reference: Outcome | undefined;
  const failureFree = async () => {
    reference ??= await run("none");
    return reference;
  };

  it("a run without failure commits every record once in each sink", async () => {
    const r = await failureFree();
    assert.equal(r.restarts, 0);
    assert.deepEqual(r.walRows, range(0, EVENTS));
    assert.deepEqual(r.fileLines, range(0, EVENTS));
    assert.deepEqual(r.collected, range(0, EVENTS));
  });

  for (const failIn of ["write-ahead", "file"] as const) {
    it(`a failure right after the final ${failIn} commit restarts from the final checkpoint: exactly-once in the file sink, the write-ahead sink and collect(), no input replayed`, async () => {
      const ref = await failureFree();
      const r = await run(failIn);
      assert.ok(r.scenario.failed, "the failure was injected into the final commit");
      assert.equal(r.restarts, 1);
      assert.deepEqual(
        r.walRows,
        ref.walRows,
        "write-ahead sink: the committed rows of a run without failure",
      );
      assert.deepEqual(r.fileLines, ref.fileLines, "file sink: the committed lines of a run without failure");
      assert.deepEqual(r.collected, ref.collected, "collect(): the values of a run without failure");
      assert.equal(r.source.emitted.get(1) ?? 0, 0, "the restart replayed no input");
      assert.ok(!r.source.started.has(1), "the finished source did not start again");
    });
  }
});

describe("a retained final checkpoint", () => {
  it("a job that failed for good during its final commits leaves its final checkpoint; a new run restored from it commits what it holds and ends without reading input", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-retained-final-"));
    try {
      const checkpoints = join(dir, "checkpoints");
      const rows: number[] = [];
      const txns = new Set<string>();
      let refuse = true;
      const build = (env: StreamExecutionEnvironment, source: GatedSource) => {
        env.enableCheckpointing(20);
        env.setRestartStrategy(RestartStrategies.noRestart());
        env
          .fromSource(source, WatermarkStrategy.noWatermarks<number>(), "gated")
          .uid("gated")
          .sinkTo(
            new WriteAheadSink<number>({
              async sendValues(values, checkpointId, _subtask, txn) {
                await delay(1);
                if (checkpointId === FINAL && refuse) throw new Error("the database is down");
                if (txns.has(txn)) return;
                txns.add(txn);
                rows.push(...values);
              },
            }),
          )
          .uid("wal");
      };
      // The end of input comes with the records: they are all in the end-of-input transaction.
      const first = new GatedSource(0, 500, () => undefined);
      const env1 = new StreamExecutionEnvironment({ parallelism: 2, checkpointDirectory: checkpoints });
      build(env1, first);
      await assert.rejects(env1.execute("retained-final"), /the database is down/);
      assert.deepEqual(rows, [], "nothing was committed");
      const [jobDir] = readdirSync(checkpoints);
      const [chk] = readdirSync(join(checkpoints, jobDir!)).filter((d) => d.startsWith("chk-"));
      assert.ok(chk !== undefined, "the final checkpoint was retained");

      refuse = false;
      const second = new GatedSource(0, 500, () => undefined);
      const env2 = new StreamExecutionEnvironment({ parallelism: 2, checkpointDirectory: checkpoints });
      build(env2, second);
      env2.restoreFrom(join(checkpoints, jobDir!, chk!));
      const r = await env2.execute("retained-final");
      assert.equal(r.restarts, 0);
      assert.deepEqual(
        [...rows].sort(numeric),
        range(0, 500),
        "the end-of-input transactions were committed",
      );
      assert.ok(!second.started.has(0), "the restored job read no input");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("cancelling a job in its final commits", () => {
  it("a cancel while the end-of-input commit hangs ends the job as cancelled (it does not wait for the commit, nor report success)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-cancel-final-"));
    try {
      let finalCommitStarted = false;
      const env = new StreamExecutionEnvironment({
        parallelism: 1,
        checkpointDirectory: join(dir, "checkpoints"),
      });
      env.enableCheckpointing(20);
      env
        .fromSource(
          new GatedSource(0, 100, () => undefined),
          WatermarkStrategy.noWatermarks<number>(),
          "gated",
        )
        .uid("gated")
        .sinkTo(
          new WriteAheadSink<number>({
            sendValues(_values, checkpointId) {
              if (checkpointId !== FINAL) return undefined;
              finalCommitStarted = true;
              return new Promise<void>(() => {}); // never settles
            },
          }),
        )
        .uid("wal");
      const client = await env.executeAsync("cancel-final");
      await until(() => finalCommitStarted, "the final commit");
      await client.cancel();
      await assert.rejects(client.wait(), JobCancelledError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("restoring a checkpoint in which some tasks had finished", () => {
  it("a source that had finished everywhere restores as finished (it reads nothing again); the running one replays; every record once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-partly-finished-"));
    try {
      const committed = new Set<number>();
      const rows: number[] = [];
      const txns = new Set<string>();
      const hold = (condition: () => boolean, what: string) =>
        condition() ? undefined : until(condition, what);
      const early = new GatedSource(10_000, 10_100, () => undefined);
      // The late source waits for the early one to end, then for two checkpoints holding its own
      // records: the second was triggered after the early source had finished.
      const late = new GatedSource(0, 600, ({ index, attempt }) => {
        if (attempt !== 0) return undefined;
        if (index === 100) return hold(() => early.ended.has(0), "the early source to end");
        if (index === 101) return hold(() => committed.has(100), "a checkpoint after the early source ended");
        if (index === 102) return hold(() => committed.has(101), "a second one");
        return undefined;
      });
      const env = new StreamExecutionEnvironment({
        parallelism: 1,
        checkpointDirectory: join(dir, "checkpoints"),
      });
      env.enableCheckpointing(20);
      env.getCheckpointConfig().setTolerableCheckpointFailureNumber(100);
      env.setRestartStrategy(RestartStrategies.fixedDelay(1, 10));
      const a = env.fromSource(early, WatermarkStrategy.noWatermarks<number>(), "early").uid("early");
      const b = env
        .fromSource(late, WatermarkStrategy.noWatermarks<number>(), "late")
        .uid("late")
        .map((i: number, ctx) => {
          if (ctx.attemptNumber === 0 && i === 400) throw new Error("injected failure at record 400");
          return i;
        })
        .uid("fail-once");
      const all = a.union(b);
      const handle = all.collect();
      all
        .sinkTo(
          new WriteAheadSink<number>({
            async sendValues(values, checkpointId, _subtask, txn) {
              await delay(1);
              if (txns.has(txn)) return;
              txns.add(txn);
              rows.push(...values);
              if (checkpointId !== FINAL) for (const v of values) committed.add(v);
            },
          }),
        )
        .uid("wal");
      const r = await env.execute("partly-finished");
      const expected = [...range(0, 600), ...range(10_000, 10_100)];
      assert.equal(r.restarts, 1);
      assert.deepEqual([...rows].sort(numeric), expected, "write-ahead sink: every record once");
      assert.deepEqual([...handle.values].sort(numeric), expected, "collect(): every record once");
      assert.ok(!early.started.has(1), "the finished source did not start again");
      assert.ok((late.emitted.get(1) ?? 0) > 0, "the running source replayed from the checkpoint");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the final checkpoint on worker threads", () => {
  it("a worker thread killed while its file sink commits the end-of-input part files: the restart commits them from the final checkpoint; the file sink and collect() hold every record once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-final-commit-"));
    try {
      const params: FinalCommitParams = {
        out: join(dir, "out"),
        checkpoints: join(dir, "checkpoints"),
        markers: join(dir, "markers"),
        events: 2000,
      };
      mkdirSync(params.markers);
      process.env.WEIR_FINAL_COMMIT_JOB = JSON.stringify(params);
      const client = await submitJob({ job: FINAL_COMMIT_JOB, parallelism: 2 });
      const marker = () => readdirSync(params.markers)[0];
      let killed = false;
      const kill = until(() => marker() !== undefined, "a final commit").then(() => {
        // Subtask i runs in slot i.
        client.killWorker(Number(marker()!.split("-").pop()));
        killed = true;
      });
      const r = await client.wait();
      await kill;
      assert.ok(killed, "a worker was killed during the final commit");
      assert.ok(r.restarts >= 1, "the job restarted");
      const expected = range(0, params.events);
      assert.deepEqual(committedLines(params.out), expected, "file sink: every record once");
      assert.deepEqual(
        [...(r.collected.get("values") as number[])].sort(numeric),
        expected,
        "collect(): every record once",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("leaves no worker thread behind", async () => {
    await until(() => liveWorkerCount() === 0, "the worker threads to end", 30_000);
  });
});
