// Session windows that merge carry their state into the merged window: the contents of every
// merged session (so the merged window fires with all their elements), and the trigger's own
// state, merged by its onMerge (a count trigger counts the elements of all merged sessions).
// Through the harness, with the watermark and every element given by the test.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CountTrigger,
  type DataStream,
  EventTimeSessionWindows,
  type ProcessWindowFunction,
  type TimeWindow,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

interface Ev {
  k: string;
  t: number;
}

const describeWindow: ProcessWindowFunction<Ev, string, string, TimeWindow> = {
  // The order of a window's elements is not a contract: sorted.
  process(k, ctx, els, out) {
    out.collect(
      `${k} [${ctx.window.start},${ctx.window.end}) ${els
        .map((e) => e.t)
        .sort((x, y) => x - y)
        .join(",")}`,
    );
  },
};

for (const stateBackend of ["heap", "embedded"] as const) {
  describe(`merging windows carry their state (${stateBackend})`, () => {
    it("an element bridging two sessions: one window with the contents of both", async () => {
      const h = KeyedOneInputHarness.of(
        (s: DataStream<Ev>) =>
          s
            .keyBy((e) => e.k)
            .window(EventTimeSessionWindows.withGap(2500))
            .process(describeWindow),
        { stateBackend },
      );
      await h.open();
      h.processElement({ k: "a", t: 1000 }, 1000); // [1000, 3500)
      h.processElement({ k: "a", t: 5000 }, 5000); // [5000, 7500)
      h.processElement({ k: "b", t: 5000 }, 5000);
      h.processElement({ k: "a", t: 3000 }, 3000); // [3000, 5500): bridges both
      h.processWatermark(7499);
      assert.deepEqual(h.values().sort(), ["a [1000,7500) 1000,3000,5000", "b [5000,7500) 5000"]);
      await h.close();
    });

    it("a count trigger counts the elements of every merged session (its onMerge)", async () => {
      const h = KeyedOneInputHarness.of(
        (s: DataStream<Ev>) =>
          s
            .keyBy((e) => e.k)
            .window(EventTimeSessionWindows.withGap(2500))
            .trigger(CountTrigger.of(3))
            .process(describeWindow),
        { stateBackend },
      );
      await h.open();
      h.processElement({ k: "a", t: 1000 }, 1000);
      h.processElement({ k: "a", t: 5000 }, 5000);
      assert.deepEqual(h.values(), []);
      h.processElement({ k: "a", t: 3000 }, 3000); // merged: 1 + 1 counted before, and this one
      assert.deepEqual(h.values(), ["a [1000,7500) 1000,3000,5000"]);
      await h.close();
    });
  });
}
