// checkpointAlignmentTime: the BarrierAligner measures how long its last alignment took (from the
// first barrier of a checkpoint to the last), and a running checkpointed job reports it per task
// in nanoseconds, as Flink does. stateEntries: a keyed operator's state size in entries.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { StreamExecutionEnvironment, Types } from "../../src/index.ts";
import { InputChannel } from "../../src/network/input-gate.ts";
import { BarrierAligner } from "../../src/runtime/barrier-aligner.ts";

function aligner(unaligned: boolean): { a: BarrierAligner; channels: InputChannel[]; snapshots: number[] } {
  const channels = [0, 1].map(
    (i) => new InputChannel(i, 0, Types.INT.createSerializer(), `ch ${i}`, () => {}),
  );
  const snapshots: number[] = [];
  const a = new BarrierAligner(
    channels,
    { exactlyOnce: true, unaligned, alignedTimeout: 0 },
    {
      snapshot: (id) => snapshots.push(id),
      channelStateComplete() {},
      schedule() {},
    },
  );
  return { a, channels, snapshots };
}

describe("checkpointAlignmentTime", () => {
  it("the aligner measures from the first barrier to the last", async () => {
    const { a, channels, snapshots } = aligner(false);
    assert.equal(a.lastAlignmentMs, 0);
    a.onBarrier(1, channels[0]!);
    assert.deepEqual(snapshots, []);
    await new Promise((r) => setTimeout(r, 30));
    a.onBarrier(1, channels[1]!);
    assert.deepEqual(snapshots, [1]);
    assert.ok(a.lastAlignmentMs >= 25, `alignment ${a.lastAlignmentMs} ms`);
    // The next one, aligned at once, replaces it.
    a.onBarrier(2, channels[1]!);
    a.onBarrier(2, channels[0]!);
    assert.deepEqual(snapshots, [1, 2]);
    assert.ok(a.lastAlignmentMs < 25, `alignment ${a.lastAlignmentMs} ms`);
  });

  it("a running job reports it per task, in ns, and its keyed operators' state entries", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-alignment-"));
    try {
      const env = new StreamExecutionEnvironment({ parallelism: 2, checkpointDirectory: dir });
      env.enableCheckpointing(20);
      env
        .fromGenerator((i) => i, { type: Types.INT, recordsPerSecond: 5000 })
        .keyBy((i) => i % 7)
        .reduce((x, y) => x + y)
        .collect("sums");
      const client = await env.executeAsync("alignment-metrics");
      try {
        const deadline = Date.now() + 60_000;
        while ((client.metrics.jobMetrics().numberOfCompletedCheckpoints ?? 0) < 3) {
          assert.ok(Date.now() < deadline, "three checkpoints in time");
          await new Promise((r) => setTimeout(r, 20));
        }
        const tasks = client.metrics.tasks();
        for (const t of tasks) {
          const v = t.metrics.checkpointAlignmentTime;
          assert.ok(Number.isInteger(v) && v! >= 0, `${t.taskName}: ${v}`);
        }
        // Keyed tasks read two channels: they aligned, and it took some time.
        const keyed = tasks.filter((t) => t.taskName.toLowerCase().includes("reduce"));
        assert.equal(keyed.length, 2);
        assert.ok(keyed.some((t) => t.metrics.checkpointAlignmentTime! > 0));
        // 7 keys, one reducing state entry each, over the two subtasks.
        const entries = keyed.map(
          (t) => t.operators.find((o) => o.name.toLowerCase().includes("reduce"))?.metrics.stateEntries,
        );
        assert.equal(entries[0]! + entries[1]!, 7, JSON.stringify(keyed.map((t) => t.operators)));
        const source = tasks.find((t) => !keyed.includes(t))!;
        assert.equal(source.operators[0]!.metrics.stateEntries, undefined, "no keyed state, no metric");
      } finally {
        await client.cancel();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
