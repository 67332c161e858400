// The asynchronous part of a checkpoint on the task's thread: operator data still pending at the
// barrier (a sink's PREPARE) is awaited, then the keyed state captured at the
// barrier (copy-on-write, see StateTable) is encoded key group by key group, and between slices of
// a few milliseconds the event loop, and so the task, gets a turn. A task with a million keys keeps
// processing records while its snapshot is encoded and written.

import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { TaskSnapshot, TimerSnapshot } from "../runtime/snapshot.ts";
import { encodeKeyGroupFrom } from "./state-file.ts";

/** How long one slice of encoding may hold the thread. */
const SLICE_MS = 5;

/**
 * Awaits every operator's `pendingCustom` into `custom` (rejects with the first failure: the state
 * must then not be written), then replaces every operator's `keyedState` by its encoded
 * `keyGroups`, yielding between slices; releases the captured state whatever happens.
 */
export async function encodeKeyedState(snapshot: TaskSnapshot, sliceMs = SLICE_MS): Promise<void> {
  const ops = Object.values(snapshot.operators).filter((op) => op.keyedState !== undefined);
  try {
    await resolvePendingCustom(snapshot);
    const slice = yieldEvery(sliceMs);
    for (const op of ops) {
      const { state, timers: captured } = op.keyedState!;
      const timers = new Map<number, TimerSnapshot[]>();
      for (const c of captured) {
        for (let i = 0; i < c.timers.length; i++) {
          if ((i & 1023) === 1023) await slice();
          const t = c.timers[i]!;
          let list = timers.get(t.keyGroup);
          if (list === undefined) timers.set(t.keyGroup, (list = []));
          list.push({
            service: c.service,
            domain: c.domain,
            key: t.key,
            namespace: c.namespaceToData(t.namespace),
            time: t.time,
          });
        }
      }
      const groups = new Set<number>(state.keyGroups);
      for (const kg of timers.keys()) groups.add(kg);
      const encoded: Array<[number, Uint8Array]> = [];
      for (const kg of [...groups].sort((a, b) => a - b)) {
        await slice();
        const groupTimers = timers.get(kg) ?? [];
        let n = 0;
        const bytes = encodeKeyGroupFrom((emit) => {
          state.read(kg, (st, ns, k, v) => {
            n++;
            emit(st, ns, k, v);
          });
        }, groupTimers);
        if (n > 0 || groupTimers.length > 0) encoded.push([kg, bytes]);
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

/** Replaces each operator's `pendingCustom` by a copy of what it resolved to, in `custom`. */
async function resolvePendingCustom(snapshot: TaskSnapshot): Promise<void> {
  const ops = Object.values(snapshot.operators).filter((op) => op.pendingCustom !== undefined);
  // Observe every rejection (the first one fails the write), not only the first awaited.
  const settled = await Promise.all(ops.map((op) => op.pendingCustom));
  ops.forEach((op, i) => {
    delete op.pendingCustom;
    if (settled[i] !== undefined) op.custom = structuredClone(settled[i]);
  });
}

/** Returns a function to await between units of work: it yields once a slice of `sliceMs` is used up (0: every time). */
export function yieldEvery(sliceMs = SLICE_MS): () => Promise<void> | undefined {
  let sliceStart = performance.now();
  return () => {
    if (performance.now() - sliceStart < sliceMs) return undefined;
    return yieldToEventLoop().then(() => {
      sliceStart = performance.now();
    });
  };
}
