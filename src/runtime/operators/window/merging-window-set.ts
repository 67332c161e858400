// The windows of one key under a merging assigner (sessions), and for each the "state window":
// the window whose namespace holds its contents. When windows merge, the result keeps the state
// window of one of them and the state of the others is merged into it, so contents never move
// namespace more than needed (Flink's MergingWindowSet). Persisted in keyed state as a flat
// array [start, end, stateStart, stateEnd, ...].

import { InvalidArgumentError } from "../../../core/errors.ts";
import { type ValueState, ValueStateDescriptor } from "../../../core/state.ts";
import { VOID_NAMESPACE } from "../../../state/heap-keyed-state-backend.ts";
import type { KeyedStateBackend } from "../../../state/keyed-state-backend.ts";
import { type MergingWindowAssigner, TimeWindow } from "./window-contracts.ts";

/** Called when windows merged: the merged windows' state windows must merge into `stateWindowResult`. */
export type MergeFunction = (
  mergeResult: TimeWindow,
  mergedWindows: TimeWindow[],
  stateWindowResult: TimeWindow,
  mergedStateWindows: TimeWindow[],
) => void;

const id = (w: TimeWindow): string => `${w.start}:${w.end}`;

const MERGING_SET_STATE = "__window-merging-set";

/**
 * Where a window operator keeps its keys' merging window sets: per key, not per window, so read
 * and written in the void namespace whatever window is current.
 */
export function mergingSetState(backend: KeyedStateBackend): ValueState<number[]> {
  const raw = backend.getState(new ValueStateDescriptor<number[]>(MERGING_SET_STATE));
  return {
    value: () => {
      backend.setCurrentNamespace(VOID_NAMESPACE);
      return raw.value();
    },
    update: (v) => {
      backend.setCurrentNamespace(VOID_NAMESPACE);
      raw.update(v);
    },
    clear: () => {
      backend.setCurrentNamespace(VOID_NAMESPACE);
      raw.clear();
    },
  };
}

interface Entry {
  window: TimeWindow;
  stateWindow: TimeWindow;
}

export class MergingWindowSet {
  /** Window id -> window and its state window. */
  private readonly mapping = new Map<string, Entry>();
  private changed = false;

  constructor(
    private readonly assigner: MergingWindowAssigner<unknown>,
    private readonly state: ValueState<number[]>,
  ) {
    const flat = state.value();
    if (flat !== undefined) {
      for (let i = 0; i + 3 < flat.length; i += 4) {
        const window = new TimeWindow(flat[i]!, flat[i + 1]!);
        this.mapping.set(id(window), { window, stateWindow: new TimeWindow(flat[i + 2]!, flat[i + 3]!) });
      }
    }
  }

  /** Writes the mapping back to keyed state when it changed (cleared when empty). */
  persist(): void {
    if (!this.changed) return;
    this.changed = false;
    if (this.mapping.size === 0) {
      this.state.clear();
      return;
    }
    const flat: number[] = [];
    for (const { window, stateWindow } of this.mapping.values()) {
      flat.push(window.start, window.end, stateWindow.start, stateWindow.end);
    }
    this.state.update(flat);
  }

  get size(): number {
    return this.mapping.size;
  }

  /** The state window of a window in the set, or undefined when it is not (any more) in it. */
  getStateWindow(window: TimeWindow): TimeWindow | undefined {
    return this.mapping.get(id(window))?.stateWindow;
  }

  /** Removes a window (it was purged or cleaned up). */
  retireWindow(window: TimeWindow): void {
    if (!this.mapping.delete(id(window))) {
      throw new InvalidArgumentError(`window ${window} is not in the merging window set`);
    }
    this.changed = true;
  }

  /**
   * Adds a new window and merges it with the existing ones as the assigner decides. Returns the
   * window the new one now belongs to (itself when nothing merged). `merge` is called for every
   * merge that involved windows already in the set.
   */
  addWindow(newWindow: TimeWindow, merge: MergeFunction): TimeWindow {
    const windows = [...[...this.mapping.values()].map((e) => e.window), newWindow];
    const results: Array<[TimeWindow, TimeWindow[]]> = [];
    this.assigner.mergeWindows(windows, (toBeMerged, mergeResult) => {
      results.push([mergeResult, toBeMerged]);
    });

    let resultWindow = newWindow;
    let mergedNewWindow = false;
    const newId = id(newWindow);
    for (const [mergeResult, toBeMerged] of results) {
      let removed = false;
      const merged = toBeMerged.filter((w) => {
        if (!removed && id(w) === newId) {
          removed = true;
          return false;
        }
        return true;
      });
      if (removed) {
        mergedNewWindow = true;
        resultWindow = mergeResult;
      }
      // Keep the state window of one of the merged windows that were already in the set.
      const first = merged.find((w) => this.mapping.has(id(w)));
      const mergedStateWindows: TimeWindow[] = [];
      for (const w of merged) {
        const e = this.mapping.get(id(w));
        if (e !== undefined) {
          this.mapping.delete(id(w));
          mergedStateWindows.push(e.stateWindow);
        }
      }
      if (first === undefined) {
        // Only the new window (twice?): nothing stored to merge.
        this.mapping.set(id(mergeResult), { window: mergeResult, stateWindow: mergeResult });
        this.changed = true;
        continue;
      }
      const stateWindow = mergedStateWindows.shift()!;
      this.mapping.set(id(mergeResult), { window: mergeResult, stateWindow });
      this.changed = true;
      // A merge that only re-produced one existing window changes nothing.
      if (!(merged.length === 1 && id(merged[0]!) === id(mergeResult))) {
        merge(mergeResult, merged, stateWindow, mergedStateWindows);
      }
    }
    if (results.length === 0 || (id(resultWindow) === newId && !mergedNewWindow)) {
      if (!this.mapping.has(newId)) {
        this.mapping.set(newId, { window: newWindow, stateWindow: newWindow });
        this.changed = true;
      }
    }
    return resultWindow;
  }
}
