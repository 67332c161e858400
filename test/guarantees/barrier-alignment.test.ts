// Exactly-once barrier alignment, in-flight data order and the watermark valve, on one task
// driven step by step (no job, no timing):
// - a record behind barrier N on one channel is neither processed nor in snapshot N before the
//   other channels' barriers N have arrived;
// - restored in-flight input of a channel is processed before live data on that channel;
// - an idle channel is left out of the watermark minimum while another channel stays active.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UID, drain, runToEnd, send, taskHarness } from "./task-harness.ts";

describe("barrier alignment (exactly-once, aligned)", () => {
  it("a record after a barrier on one channel waits for the other channels' barriers", async () => {
    const h = taskHarness({ channels: 2 });
    await h.task.open();
    send(h, 0, "a0");
    h.writers[0]!.broadcastBarrier(1);
    send(h, 0, "a1", "a2");
    send(h, 1, "b0", "b1");
    drain(h);
    assert.deepEqual(
      [...h.op.seen].sort(),
      ["a0", "b0", "b1"],
      "a1 and a2 wait behind barrier 1 of channel 0",
    );
    assert.equal(h.acks.length, 0, "no snapshot before every channel's barrier");

    h.writers[1]!.broadcastBarrier(1);
    send(h, 1, "b2");
    drain(h);
    assert.equal(h.acks.length, 1);
    assert.equal(h.acks[0]!.id, 1);
    assert.deepEqual(
      [...(h.acks[0]!.snapshot.operators[UID]!.custom as string[])].sort(),
      ["a0", "b0", "b1"],
      "snapshot 1 holds exactly what came before the barriers",
    );
    assert.deepEqual([...h.op.seen].sort(), ["a0", "a1", "a2", "b0", "b1", "b2"]);
    for (const w of h.writers) w.finish();
    await runToEnd(h);
  });

  it("at-least-once does not block: the record after the barrier may be processed before the snapshot", async () => {
    const h = taskHarness({ channels: 2, exactlyOnce: false });
    await h.task.open();
    send(h, 0, "a0");
    h.writers[0]!.broadcastBarrier(1);
    send(h, 0, "a1");
    drain(h);
    assert.deepEqual(h.op.seen, ["a0", "a1"]);
    h.writers[1]!.broadcastBarrier(1);
    drain(h);
    assert.deepEqual(h.acks[0]!.snapshot.operators[UID]!.custom, ["a0", "a1"]);
  });
});

describe("restored in-flight input", () => {
  it("is processed before live data that reached the same channel first", async () => {
    // A checkpoint whose in-flight input of channel 0 is r0..r9: the unaligned barrier is
    // announced (and the snapshot taken) before any of them is read.
    const a = taskHarness({ channels: 1, unaligned: true });
    await a.task.open();
    const inFlight = Array.from({ length: 10 }, (_, i) => `r${i}`);
    send(a, 0, ...inFlight);
    a.writers[0]!.broadcastUnalignedBarrier(1);
    a.task.step();
    assert.equal(a.acks.length, 1);
    const channelState = a.acks[0]!.snapshot.channels!;
    assert.deepEqual(a.acks[0]!.snapshot.operators[UID]!.custom, []);
    assert.ok(channelState.inputs.length > 0, "the checkpoint holds in-flight input");

    const b = taskHarness({
      channels: 1,
      restore: async () => ({
        operators: new Map([[UID, { keyGroups: [], operatorState: {}, custom: [[]], checkpointId: 1 }]]),
        inFlight: { inputs: channelState.inputs, outputs: [], records: [] },
      }),
    });
    // The restored producer re-sends what came after its barrier, before this task has restored.
    send(b, 0, "live0", "live1");
    await b.task.open();
    send(b, 0, "live2");
    b.writers[0]!.finish();
    await runToEnd(b);
    assert.deepEqual(b.op.seen, [...inFlight, "live0", "live1", "live2"]);
  });
});

describe("watermark valve", () => {
  it("leaves an idle channel out of the minimum while the other channel stays active", async () => {
    const h = taskHarness({ channels: 2 });
    await h.task.open();
    const wm = (c: number, w: number) => {
      h.writers[c]!.emitWatermark(w);
      h.writers[c]!.flushAll();
      drain(h);
    };
    const status = (c: number, idle: boolean) => {
      h.writers[c]!.emitWatermarkStatus(idle);
      h.writers[c]!.flushAll();
      drain(h);
    };
    wm(0, 5);
    wm(1, 3);
    assert.deepEqual(h.op.watermarks, [3]);
    status(0, true);
    assert.deepEqual(h.op.watermarks, [3], "channel 1 (at 3) still holds the watermark");
    wm(1, 10);
    assert.deepEqual(h.op.watermarks, [3, 10], "idle channel 0 (at 5) no longer holds it back");
    wm(1, 20);
    assert.deepEqual(h.op.watermarks, [3, 10, 20]);
    assert.ok(!h.op.seen.includes("idle"), "one active channel: the task is not idle");
    status(0, false);
    wm(0, 25);
    assert.deepEqual(h.op.watermarks, [3, 10, 20], "active again at 25, channel 0 joins the minimum (20)");
    wm(1, 30);
    assert.deepEqual(h.op.watermarks, [3, 10, 20, 25]);
  });

  it("when every channel is idle, the task is idle and releases the highest watermark", async () => {
    const h = taskHarness({ channels: 2 });
    await h.task.open();
    for (const [c, w] of [
      [0, 5],
      [1, 9],
    ] as const) {
      h.writers[c].emitWatermark(w);
      h.writers[c].flushAll();
    }
    drain(h);
    assert.deepEqual(h.op.watermarks, [5]);
    for (const c of [0, 1]) {
      h.writers[c]!.emitWatermarkStatus(true);
      h.writers[c]!.flushAll();
      drain(h);
    }
    assert.deepEqual(h.op.watermarks, [5, 9]);
    assert.deepEqual(h.op.seen, ["idle"]);
  });
});
