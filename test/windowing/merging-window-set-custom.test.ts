// The merging window set under custom merging assigners, the branches the built-in session
// assigners never take: an assigner that grows a new window on its own (merges it with no window
// of the set), and one whose merges depend on the latest window, so that a window the set holds
// comes in again without being merged. Either way the contents must stay where they are.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type DataStream,
  MergingWindowAssigner,
  type ProcessWindowFunction,
  TimeWindow,
  type Trigger,
  TriggerResult,
} from "../../src/index.ts";
import type { ValueState } from "../../src/core/state.ts";
import { MergingWindowSet } from "../../src/runtime/operators/window/merging-window-set.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

type Merge = (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void;
type SetAssigner = ConstructorParameters<typeof MergingWindowSet>[0];

const w = (start: number, end: number) => new TimeWindow(start, end);
const show = (x: TimeWindow | undefined) => (x === undefined ? "none" : `${x.start}-${x.end}`);

/** A value state in memory that records its writes. */
function memoryState(): ValueState<number[]> & { writes: string[] } {
  let value: number[] | undefined;
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

/**
 * Windows grow to the whole 10 ms slot they start in: a new window becomes its slot's window, on
 * its own when the set has none for that slot, else with it.
 */
function slotMerge(windows: readonly TimeWindow[], callback: Merge): void {
  const added = windows[windows.length - 1]!;
  const slot = w(Math.floor(added.start / 10) * 10, Math.floor(added.start / 10) * 10 + 10);
  if (added.start === slot.start && added.end === slot.end) return;
  const held = windows.slice(0, -1).find((x) => x.start === slot.start && x.end === slot.end);
  callback(held === undefined ? [added] : [held, added], slot);
}

/**
 * Windows that merge only once a window starts 100 or more after their end (old sessions closed
 * out), into their cover; nothing to merge when one of them already is the cover.
 */
function closeOutMerge(windows: readonly TimeWindow[], callback: Merge): void {
  const latest = Math.max(...windows.map((x) => x.start));
  const old = windows.filter((x) => x.end + 100 <= latest);
  const cover = w(Math.min(...old.map((x) => x.start)), Math.max(...old.map((x) => x.end)));
  if (old.length > 1 && !old.some((x) => x.equals(cover))) callback(old, cover);
}

const assignerOf = (mergeWindows: (ws: readonly TimeWindow[], cb: Merge) => void) =>
  ({ mergeWindows }) as unknown as SetAssigner;

describe("merging window set: a new window merged on its own", () => {
  it("holds the grown window with itself as state window, persists it, and asks for no state merge", () => {
    const state = memoryState();
    const set = new MergingWindowSet(assignerOf(slotMerge), state);
    const merges: string[] = [];
    const merge = (r: TimeWindow) => merges.push(show(r));

    assert.equal(show(set.addWindow(w(3, 5), merge)), "0-10", "grown to its slot");
    assert.equal(set.size, 1);
    assert.equal(show(set.getStateWindow(w(0, 10))), "0-10");
    assert.equal(set.getStateWindow(w(3, 5)), undefined);
    set.persist();
    assert.deepEqual(state.writes, ["update 0,10,0,10"]);

    assert.equal(show(set.addWindow(w(4, 6), merge)), "0-10", "into the slot's window");
    assert.equal(show(set.addWindow(w(12, 13), merge)), "10-20");
    assert.deepEqual(merges, [], "no contents moved: each slot's window is its own state window");
    set.persist();
    assert.deepEqual(state.writes.slice(1), ["update 0,10,0,10,10,20,10,20"]);
  });
});

describe("merging window set: a window of the set coming in again unmerged", () => {
  it("keeps its state window and changes nothing", () => {
    const state = memoryState();
    const set = new MergingWindowSet(assignerOf(closeOutMerge), state);
    const noMerge = () => assert.fail("no state merge expected");
    set.addWindow(w(0, 5), noMerge);
    set.addWindow(w(10, 15), noMerge);
    const merges: string[] = [];
    set.addWindow(w(200, 205), (r, m, sw, ms) =>
      merges.push(`${show(r)} <- [${m.map(show)}] state ${show(sw)} <- [${ms.map(show)}]`),
    );
    assert.deepEqual(merges, ["0-15 <- [0-5,10-15] state 0-5 <- [10-15]"]);
    set.persist();
    assert.deepEqual(state.writes, ["update 0,15,0,5,200,205,200,205"]);

    // 0-15 again: the one it would merge with is already their cover, so nothing merges.
    assert.equal(show(set.addWindow(w(0, 15), noMerge)), "0-15");
    assert.equal(show(set.getStateWindow(w(0, 15))), "0-5", "the contents are still in 0-5's namespace");
    assert.equal(set.size, 2);
    set.persist();
    assert.deepEqual(state.writes.slice(1), [], "nothing changed");
  });

  it("in a window operator: an element of that window is counted with the window's earlier contents", async () => {
    interface Ev {
      k: string;
      v: number;
      fire?: boolean;
    }
    class CloseOutSessions extends MergingWindowAssigner<Ev> {
      assignWindows(e: Ev, timestamp: number): TimeWindow[] {
        return [w(timestamp, timestamp + (e.v === 100 ? 15 : 5))];
      }
      mergeWindows(windows: readonly TimeWindow[], callback: Merge): void {
        closeOutMerge(windows, callback);
      }
      getDefaultTrigger(): Trigger<Ev, TimeWindow> {
        return fireOnFlag;
      }
      isEventTime(): boolean {
        return false;
      }
    }
    /** Fires a window when an element asks for it; merges without state of its own. */
    const fireOnFlag: Trigger<Ev, TimeWindow> = {
      onElement: (e) => (e.fire === true ? TriggerResult.FIRE : TriggerResult.CONTINUE),
      onEventTime: () => TriggerResult.CONTINUE,
      onProcessingTime: () => TriggerResult.CONTINUE,
      canMerge: () => true,
      onMerge: () => {},
      clear: () => {},
      toString: () => "FireOnFlag",
    };
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(new CloseOutSessions())
        .process({
          process(key, ctx, elements, out) {
            out.collect(`${key} ${show(ctx.window)}: ${elements.map((e) => e.v).join("+")}`);
          },
        } satisfies ProcessWindowFunction<Ev, string, string, TimeWindow>),
    );
    await h.open();
    h.setProcessingTime(0);
    h.processElement({ k: "a", v: 1 }, 0); // [0, 5)
    h.processElement({ k: "a", v: 2 }, 10); // [10, 15)
    h.processElement({ k: "a", v: 3, fire: true }, 200); // [200, 205): closes [0, 15)
    assert.deepEqual(h.values(), ["a 200-205: 3"]);
    // [0, 15) comes in again, unmerged: its element joins the contents of [0, 5) and [10, 15).
    h.processElement({ k: "a", v: 100, fire: true }, 0);
    assert.deepEqual(h.values().slice(1), ["a 0-15: 1+2+100"]);
    await h.close();
  });
});
