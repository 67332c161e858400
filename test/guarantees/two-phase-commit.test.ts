// Two-phase-commit timing of the exactly-once file sink: what a checkpoint's barrier stages
// (prepareCommit) is invisible in the output directory until notifyCheckpointComplete of that
// checkpoint; records after the barrier belong to the next checkpoint. The sink operator is
// driven directly (no job), so "before the notification" is exact, not a race.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Accumulator } from "../../src/core/functions.ts";
import { FileSink } from "../../src/index.ts";
import { SinkOperator } from "../../src/runtime/operators/basic.ts";
import { RuntimeContextImpl } from "../../src/runtime/runtime-context.ts";
import { FINAL_CHECKPOINT_ID } from "../../src/runtime/snapshot.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

const root = mkdtempSync(join(tmpdir(), "weir-2pc-"));
after(() => rmSync(root, { recursive: true, force: true }));

async function sinkOperator(dir: string): Promise<SinkOperator> {
  const op = new SinkOperator(FileSink.forRowFormat<string>(dir));
  const identity = {
    jobId: "job",
    jobName: "job",
    subtaskIndex: 0,
    parallelism: 1,
    maxParallelism: 128,
    attemptNumber: 0,
    attemptTag: "a0",
  };
  op.setup({
    runtime: new RuntimeContextImpl(
      identity,
      "sink",
      "sink-uid",
      new Map<string, Accumulator<unknown>>(),
      undefined,
    ),
    output: { collect() {}, collectSide() {}, emitWatermark() {}, emitWatermarkStatus() {} },
    element: { timestamp: Number.NaN },
    keyed: [],
    processingTime: new ProcessingTimeService(new ManualClock(0)),
    autoWatermarkInterval: 200,
    mailbox: { execute: (a) => a(), drain() {} },
    checkpointing: true,
  });
  await op.open();
  return op;
}

/** The lines a reader of the directory sees: visible files only (not the staging directory). */
function visibleLines(dir: string): string[] {
  const lines: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".") || name.startsWith("_")) continue;
    const p = join(dir, name);
    if (!statSync(p).isFile()) continue;
    lines.push(
      ...readFileSync(p, "utf8")
        .split("\n")
        .filter((l) => l.length > 0),
    );
  }
  return lines.sort();
}

describe("exactly-once file sink: two-phase-commit timing", () => {
  it("nothing staged at a barrier is visible before notifyCheckpointComplete of its checkpoint", async () => {
    const dir = join(root, "checkpoints");
    const op = await sinkOperator(dir);
    op.processElement("a");
    op.processElement("b");
    op.snapshotState(1); // barrier 1: a and b are staged
    assert.deepEqual(visibleLines(dir), [], "staged at barrier 1, not visible");
    op.processElement("c"); // after barrier 1: checkpoint 2
    op.snapshotState(2);
    assert.deepEqual(visibleLines(dir), [], "checkpoints 1 and 2 pending: nothing visible");
    op.notifyCheckpointAborted(2);
    op.notifyCheckpointComplete(1);
    assert.deepEqual(visibleLines(dir), ["a", "b"], "checkpoint 1 complete: its records, not checkpoint 2's");
    op.processElement("d");
    op.snapshotState(3);
    assert.deepEqual(visibleLines(dir), ["a", "b"]);
    // Completing 3 commits what 2 staged too (a later checkpoint subsumes an earlier one).
    op.notifyCheckpointComplete(3);
    assert.deepEqual(visibleLines(dir), ["a", "b", "c", "d"]);
    await op.close();
  });

  it("the end of input stages its last part file; it is visible only after the final commit", async () => {
    const dir = join(root, "final");
    const op = await sinkOperator(dir);
    op.processElement("x");
    op.processElement("y");
    await op.finish();
    assert.deepEqual(visibleLines(dir), [], "staged at the end of input, not visible");
    op.notifyCheckpointComplete(FINAL_CHECKPOINT_ID);
    assert.deepEqual(visibleLines(dir), ["x", "y"]);
    await op.close();
  });
});
