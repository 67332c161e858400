// The merging window set of one key, driven directly: sessions that merge keep the state window
// of a window already in the set and ask for the others' state to be merged into it; a window
// inside an existing session changes nothing; the set persists only when it changed, restores
// from its flat form, and refuses to retire a window it does not hold.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventTimeSessionWindows } from "../../src/api/windowing/assigners.ts";
import type { ValueState } from "../../src/core/state.ts";
import { MergingWindowSet } from "../../src/runtime/operators/window/merging-window-set.ts";
import { TimeWindow } from "../../src/runtime/operators/window/window-contracts.ts";

/** A value state in memory that counts its writes. */
function memoryState(initial?: number[]): ValueState<number[]> & { writes: string[] } {
  let value = initial;
  const writes: string[] = [];
  return {
    writes,
    value: () => value,
    update(v: number[]) {
      value = v;
      writes.push(`update ${v.join(",")}`);
    },
    clear() {
      value = undefined;
      writes.push("clear");
    },
  } as ValueState<number[]> & { writes: string[] };
}

const w = (start: number, end: number) => new TimeWindow(start, end);
const show = (x: TimeWindow | undefined) => (x === undefined ? "none" : `${x.start}-${x.end}`);

describe("merging window set", () => {
  it("merges sessions into the state window of a window already in the set", () => {
    const state = memoryState();
    const set = new MergingWindowSet(EventTimeSessionWindows.withGap(10), state);
    const merges: string[] = [];
    const merge = (
      result: TimeWindow,
      merged: TimeWindow[],
      stateWindow: TimeWindow,
      mergedState: TimeWindow[],
    ) =>
      merges.push(
        `${show(result)} <- [${merged.map(show)}] state ${show(stateWindow)} <- [${mergedState.map(show)}]`,
      );

    assert.equal(show(set.addWindow(w(0, 10), merge)), "0-10", "alone: itself");
    assert.equal(show(set.addWindow(w(20, 30), merge)), "20-30");
    assert.deepEqual(merges, []);
    assert.equal(set.size, 2);

    assert.equal(show(set.addWindow(w(5, 15), merge)), "0-15");
    assert.deepEqual(merges, ["0-15 <- [0-10] state 0-10 <- []"]);
    assert.equal(show(set.getStateWindow(w(0, 15))), "0-10", "the contents stay in 0-10's namespace");
    assert.equal(set.getStateWindow(w(0, 10)), undefined, "0-10 is no longer a window of the set");

    assert.equal(show(set.addWindow(w(12, 25), merge)), "0-30", "a bridge between two sessions");
    assert.deepEqual(merges.slice(1), ["0-30 <- [0-15,20-30] state 0-10 <- [20-30]"]);
    assert.equal(set.size, 1);

    assert.equal(show(set.addWindow(w(3, 8), merge)), "0-30", "inside the session");
    assert.equal(merges.length, 2, "re-producing one existing window merges nothing");
    assert.equal(show(set.getStateWindow(w(0, 30))), "0-10");
  });

  it("persists only after a change, and clears its state when empty", () => {
    const state = memoryState();
    const set = new MergingWindowSet(EventTimeSessionWindows.withGap(10), state);
    set.persist();
    assert.deepEqual(state.writes, [], "nothing changed");
    set.addWindow(w(0, 10), () => {});
    set.addWindow(w(30, 40), () => {});
    set.persist();
    set.persist();
    assert.deepEqual(state.writes, ["update 0,10,0,10,30,40,30,40"]);
    set.addWindow(w(5, 12), () => {});
    set.persist();
    assert.deepEqual(state.writes.slice(1), ["update 30,40,30,40,0,12,0,10"]);
    set.retireWindow(w(0, 12));
    set.retireWindow(w(30, 40));
    assert.equal(set.size, 0);
    set.persist();
    assert.deepEqual(state.writes.slice(2), ["clear"]);
    assert.throws(() => set.retireWindow(w(0, 12)), /window .* is not in the merging window set/);
  });

  it("restores its windows and their state windows from the flat form", () => {
    const set = new MergingWindowSet(
      EventTimeSessionWindows.withGap(10),
      memoryState([0, 12, 0, 10, 30, 40, 30, 40]),
    );
    assert.equal(set.size, 2);
    assert.equal(show(set.getStateWindow(w(0, 12))), "0-10");
    assert.equal(show(set.getStateWindow(w(30, 40))), "30-40");
    const merges: string[] = [];
    assert.equal(
      show(
        set.addWindow(w(10, 35), (r, m, s, ms) =>
          merges.push(`${show(r)} ${m.map(show)} ${show(s)} ${ms.map(show)}`),
        ),
      ),
      "0-40",
    );
    assert.deepEqual(merges, ["0-40 0-12,30-40 0-10 30-40"]);
  });

  it("a custom assigner may merge windows of the set without the new one, which stays apart", () => {
    // Windows that merge only once a later window starts 100 or more past them (a custom
    // assigner closing out old sessions): the merge leaves the new window alone.
    const closeOut = {
      mergeWindows(windows: readonly TimeWindow[], callback: (m: TimeWindow[], r: TimeWindow) => void) {
        const latest = Math.max(...windows.map((x) => x.start));
        const old = windows.filter((x) => x.end + 100 <= latest);
        if (old.length > 1) {
          callback(
            old,
            new TimeWindow(Math.min(...old.map((x) => x.start)), Math.max(...old.map((x) => x.end))),
          );
        }
      },
    } as unknown as ConstructorParameters<typeof MergingWindowSet>[0];
    const state = memoryState();
    const set = new MergingWindowSet(closeOut, state);
    const merges: string[] = [];
    const merge = (r: TimeWindow, m: TimeWindow[], sw: TimeWindow, ms: TimeWindow[]) =>
      merges.push(`${show(r)} <- [${m.map(show)}] state ${show(sw)} <- [${ms.map(show)}]`);
    assert.equal(show(set.addWindow(w(0, 5), merge)), "0-5");
    assert.equal(show(set.addWindow(w(10, 15), merge)), "10-15");
    assert.equal(set.size, 2);
    assert.deepEqual(merges, []);

    assert.equal(show(set.addWindow(w(200, 205), merge)), "200-205", "the new window is its own");
    assert.deepEqual(merges, ["0-15 <- [0-5,10-15] state 0-5 <- [10-15]"]);
    assert.equal(set.size, 2, "0-15 and 200-205");
    assert.equal(show(set.getStateWindow(w(0, 15))), "0-5", "the merged contents stay in 0-5's namespace");
    assert.equal(show(set.getStateWindow(w(200, 205))), "200-205");
    assert.equal(set.getStateWindow(w(10, 15)), undefined);
    set.persist();
    assert.deepEqual(state.value(), [0, 15, 0, 5, 200, 205, 200, 205]);
  });

  it("a merge that only re-produces a window of the set asks for no state merge", () => {
    // An assigner that reports each old window as merged into itself, as some custom ones do.
    const echo = {
      mergeWindows(windows: readonly TimeWindow[], callback: (m: TimeWindow[], r: TimeWindow) => void) {
        for (const x of windows.slice(0, -1)) callback([x], x);
      },
    } as unknown as ConstructorParameters<typeof MergingWindowSet>[0];
    const set = new MergingWindowSet(echo, memoryState());
    const merges: string[] = [];
    const merge = (r: TimeWindow) => merges.push(show(r));
    set.addWindow(w(0, 5), merge);
    assert.equal(show(set.addWindow(w(10, 15), merge)), "10-15");
    assert.deepEqual(merges, [], "no state to merge");
    assert.equal(set.size, 2);
    assert.equal(show(set.getStateWindow(w(0, 5))), "0-5");
  });
});
