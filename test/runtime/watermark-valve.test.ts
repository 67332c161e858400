// A task's watermark valve (Flink's StatusWatermarkValve), driven call by call on a task of three
// input channels: the task's watermark is the minimum over the channels that are not idle, and
// never goes backwards; an idle channel is left out; when every channel is idle (or ended) the
// highest watermark seen is released and the operator is told the input is idle; the first
// channel active again makes it active. Nothing runs on a clock.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import { taskHarness } from "../harness/task-harness.ts";

/** Records what reaches the head operator. */
class Watch extends StreamOperator {
  readonly seen: string[] = [];
  constructor() {
    super(undefined);
  }
  processElement(): void {}
  override processWatermark(watermark: number): void {
    this.seen.push(`wm ${watermark}`);
  }
  override processWatermarkStatus(idle: boolean): void {
    this.seen.push(idle ? "idle" : "active");
  }
}

function valve() {
  const h = taskHarness(new Watch(), "watch", { channels: 3, credits: 2, bufferSize: 256, poolBuffers: 8 });
  const wm = (channel: number, w: number) => h.task.processWatermark(w, h.channels[channel]!);
  const status = (channel: number, idle: boolean) =>
    h.task.processWatermarkStatus(idle, h.channels[channel]!);
  const take = () => h.op.seen.splice(0);
  return { h, wm, status, take };
}

describe("watermark valve", () => {
  it("forwards the minimum over the channels, only when it rises", () => {
    const v = valve();
    v.wm(0, 10);
    v.wm(1, 5);
    assert.deepEqual(v.take(), [], "channel 2 has no watermark yet");
    v.wm(2, 7);
    assert.deepEqual(v.take(), ["wm 5"]);
    v.wm(1, 20);
    assert.deepEqual(v.take(), ["wm 7"]);
    v.wm(2, 30);
    assert.deepEqual(v.take(), ["wm 10"]);
    v.wm(0, 9); // a channel going backwards is ignored
    v.wm(0, 10); // as is one repeating itself
    assert.deepEqual(v.take(), []);
    v.wm(0, 25);
    assert.deepEqual(v.take(), ["wm 20"]);
    assert.equal(v.h.channels[0]!.watermark, 25);
  });

  it("leaves an idle channel out of the minimum while another is active", () => {
    const v = valve();
    v.wm(0, 100);
    v.status(1, true);
    assert.deepEqual(v.take(), [], "channel 2 has no watermark yet");
    v.wm(2, 50);
    assert.deepEqual(v.take(), ["wm 50"], "channel 1, idle, no longer holds the watermark back");
    v.wm(2, 150);
    assert.deepEqual(v.take(), ["wm 100"]);
  });

  it("a channel going idle releases the watermark the others allow at once", () => {
    const v = valve();
    v.wm(0, 100);
    v.wm(1, 40);
    v.wm(2, 70);
    assert.deepEqual(v.take(), ["wm 40"]);
    v.status(1, true);
    assert.deepEqual(v.take(), ["wm 70"]);
  });

  it("all channels idle: the highest watermark seen goes out, then idleness; the first active one ends it", () => {
    const v = valve();
    v.wm(0, 100);
    v.wm(1, 40);
    v.wm(2, 60);
    assert.deepEqual(v.take(), ["wm 40"]);
    v.status(0, true);
    v.status(2, true);
    assert.deepEqual(v.take(), [], "channel 1 still holds the watermark at 40");
    v.status(1, true);
    assert.deepEqual(v.take(), ["wm 100", "idle"]);
    v.status(1, true); // told again: nothing new
    assert.deepEqual(v.take(), []);
    v.status(1, false);
    assert.deepEqual(v.take(), ["active"], "channel 1's 40 is behind 100: the watermark stays");
    v.wm(1, 90);
    assert.deepEqual(v.take(), []);
    v.wm(1, 130);
    assert.deepEqual(v.take(), ["wm 130"]);
    v.status(0, false);
    v.wm(0, 120); // behind the watermark already sent: nothing goes backwards
    assert.deepEqual(v.take(), []);
  });

  it("all idle with no watermark above the current one sends only idleness", () => {
    const v = valve();
    v.wm(0, 10);
    v.wm(1, 10);
    v.wm(2, 10);
    assert.deepEqual(v.take(), ["wm 10"]);
    for (const c of [0, 1, 2]) v.status(c, true);
    assert.deepEqual(v.take(), ["idle"]);
  });

  it("an ended channel counts as idle for the all-idle rule", () => {
    const v = valve();
    v.wm(1, 30);
    v.h.channels[0]!.endOfPartition = true;
    v.h.channels[2]!.endOfPartition = true;
    v.status(1, true);
    assert.deepEqual(v.take(), ["wm 30", "idle"]);
  });

  it("an active status on a channel that was not idle changes nothing", () => {
    const v = valve();
    v.wm(0, 10);
    v.wm(1, 10);
    v.wm(2, 10);
    v.take();
    v.status(0, false);
    assert.deepEqual(v.take(), []);
  });
});
