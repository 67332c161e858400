// The asynchronous part of a checkpoint on the task's thread: the keyed state captured at the
// barrier (copy-on-write, see StateTable) is encoded key group by key group, and between slices of
// a few milliseconds the event loop, and so the task, gets a turn. A task with a million keys keeps
// processing records while its snapshot is encoded and written.

import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { TaskSnapshot } from "../runtime/snapshot.ts";
import { encodeKeyGroup } from "./state-file.ts";

/** How long one slice of encoding may hold the thread. */
const SLICE_MS = 2;

/**
 * Replaces every operator's `keyedState` by its encoded `keyGroups`, yielding between slices;
 * releases the captured state whatever happens.
 */
export async function encodeKeyedState(snapshot: TaskSnapshot): Promise<void> {
  const ops = Object.values(snapshot.operators).filter((op) => op.keyedState !== undefined);
  try {
    const slice = yieldEvery();
    for (const op of ops) {
      const { state, timers } = op.keyedState!;
      const groups = new Set<number>(state.keyGroups);
      for (const kg of timers.keys()) groups.add(kg);
      const encoded: Array<[number, Uint8Array]> = [];
      for (const kg of [...groups].sort((a, b) => a - b)) {
        await slice();
        encoded.push([kg, encodeKeyGroup({ entries: state.entries(kg), timers: timers.get(kg) ?? [] })]);
      }
      op.keyGroups = encoded;
    }
  } finally {
    for (const op of ops) {
      op.keyedState?.state.release();
      delete op.keyedState;
    }
  }
}

/** Returns a function to await between units of work: it yields once a slice of SLICE_MS is used up. */
export function yieldEvery(): () => Promise<void> | undefined {
  let sliceStart = performance.now();
  return () => {
    if (performance.now() - sliceStart <= SLICE_MS) return undefined;
    return yieldToEventLoop().then(() => {
      sliceStart = performance.now();
    });
  };
}
