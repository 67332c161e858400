// An assigner with its own window class (neither TimeWindow nor GlobalWindow) across a snapshot and
// restore. Its timers used to be written as the global window's, so after a restore they fired for
// a window with no contents and the real windows never fired: lost results, silently. Now the
// assigner writes its windows (windowToData / windowFromData, as Flink's assigners give a window
// serializer), and one without them fails the checkpoint with an error that says what to add.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type DataStream,
  type Trigger,
  TriggerResult,
  type Window,
  WindowAssigner,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

/** Elements of odd and of even value go to two windows of one key. */
class RemainderWindow implements Window {
  constructor(readonly remainder: number) {}
  maxTimestamp(): number {
    return 1_000_000;
  }
  toString(): string {
    return `RemainderWindow(${this.remainder})`;
  }
}

interface Ev {
  k: string;
  v: number;
}

/** Fires each window at processing time 100. */
const at100: Trigger<Ev, RemainderWindow> = {
  onElement: (_e, _t, _w, ctx) => {
    ctx.registerProcessingTimeTimer(100);
    return TriggerResult.CONTINUE;
  },
  onEventTime: () => TriggerResult.CONTINUE,
  onProcessingTime: () => TriggerResult.FIRE,
  clear: (_w, ctx) => ctx.deleteProcessingTimeTimer(100),
  toString: () => "At100",
};

class RemainderWindows extends WindowAssigner<Ev, RemainderWindow> {
  assignWindows(e: Ev): RemainderWindow[] {
    return [new RemainderWindow(e.v % 2)];
  }
  getDefaultTrigger(): Trigger<Ev, RemainderWindow> {
    return at100;
  }
  isEventTime(): boolean {
    return false;
  }
}

class SerializableRemainderWindows extends RemainderWindows {
  override windowToData(w: RemainderWindow): unknown {
    return w.remainder;
  }
  override windowFromData(data: unknown): RemainderWindow {
    return new RemainderWindow(data as number);
  }
}

const sums = (assigner: WindowAssigner<Ev, RemainderWindow>) => (s: DataStream<Ev>) =>
  s
    .keyBy((e) => e.k)
    .window(assigner)
    .reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v }));

describe("a window assigner's own window class across a restore", () => {
  for (const stateBackend of ["heap", "embedded"] as const) {
    it(`fires the restored windows with their contents (${stateBackend})`, async () => {
      const build = sums(new SerializableRemainderWindows());
      const h = KeyedOneInputHarness.of(build, { stateBackend });
      await h.open();
      for (const v of [1, 2, 3, 4]) h.processElement({ k: "a", v });
      const snapshot = await h.snapshot();
      await h.close();

      const restored = KeyedOneInputHarness.of(build, { stateBackend });
      await restored.initializeState(snapshot);
      await restored.open();
      restored.processElement({ k: "a", v: 5 }); // joins the odd window after the restore
      restored.setProcessingTime(200);
      assert.deepEqual(
        restored.values().sort((x, y) => x.v - y.v),
        [
          { k: "a", v: 6 }, // 2 + 4
          { k: "a", v: 9 }, // 1 + 3 + 5
        ],
      );
      await restored.close();
    });
  }

  it("an assigner without windowToData fails the checkpoint, naming what to add", async () => {
    const h = KeyedOneInputHarness.of(sums(new RemainderWindows()));
    await h.open();
    h.processElement({ k: "a", v: 1 });
    await assert.rejects(
      h.snapshot(),
      /cannot checkpoint the timers of window RemainderWindow\(1\) of assigner RemainderWindows: .*give the assigner windowToData\(window\) and windowFromData\(data\)/,
    );
    // Without a checkpoint the window works as before.
    h.setProcessingTime(100);
    assert.deepEqual(h.values(), [{ k: "a", v: 1 }]);
    await h.close();
  });
});
