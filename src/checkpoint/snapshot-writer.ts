// The asynchronous part of a checkpoint on the task's thread: operator data still pending at the
// barrier (a sink's PREPARE) is awaited, then the keyed state captured at the
// barrier (copy-on-write, see StateTable) is encoded key group by key group, and between slices of
// a few milliseconds the event loop, and so the task, gets a turn. A task with a million keys keeps
// processing records while its snapshot is encoded and written. Into a state file on a local
// directory the snapshot is streamed (streamTaskSnapshot, format 3 with a key-group index): each
// key group is written as soon as it is encoded, so memory holds one key group, not the task's
// whole state file; a restore reads the key groups back one at a time.

import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type {
  OperatorSnapshot,
  PendingKeyedState,
  TaskSnapshot,
  TimerSnapshot,
} from "../runtime/snapshot.ts";
import {
  encodeIndexAndTrailer,
  encodeSnapshotPart,
  type IndexEntry,
  indexedStateFileHeader,
} from "./indexed-state-file.ts";
import { crc32, encodeKeyGroupFrom, STATE_FILE_HEADER_BYTES, type StreamedStateFile } from "./state-file.ts";

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
      const encoded: Array<[number, Uint8Array]> = [];
      const { groups, encode } = await keyGroupEncoder(op.keyedState!, slice);
      for (const kg of groups) {
        await slice();
        const bytes = encode(kg);
        if (bytes !== undefined) encoded.push([kg, bytes]);
      }
      op.keyGroups = encoded;
    }
  } finally {
    releaseKeyedStates(ops);
  }
}

/**
 * Encodes each operator's captured keyed state key group by key group and hands every key group
 * that holds something to `each`, awaited before the next one is encoded: a task holds one encoded
 * key group at a time (incremental checkpoints write each to its own file). Awaits every operator's
 * `pendingCustom` first; yields between slices; releases the captured state whatever happens.
 */
export async function forEachKeyGroup(
  snapshot: TaskSnapshot,
  each: (uid: string, keyGroup: number, bytes: Uint8Array) => Promise<void> | undefined,
  sliceMs = SLICE_MS,
): Promise<void> {
  const ops = Object.entries(snapshot.operators).filter(([, op]) => op.keyedState !== undefined);
  try {
    await resolvePendingCustom(snapshot);
    const slice = yieldEvery(sliceMs);
    for (const [uid, op] of ops) {
      const { groups, encode } = await keyGroupEncoder(op.keyedState!, slice);
      for (const kg of groups) {
        await slice();
        const bytes = encode(kg);
        if (bytes !== undefined) await each(uid, kg, bytes);
      }
    }
  } finally {
    releaseKeyedStates(ops.map(([, op]) => op));
  }
}

/**
 * The task's state file (format 3, indexed-state-file.ts) written as it is encoded: the snapshot
 * without its keyed operators' key groups, then each key group as soon as it is encoded (not kept:
 * a task holds one encoded key group at a time, not all of them and the whole file), then the index
 * of their offsets. Empty key groups are left out. Releases the captured state whatever happens.
 */
export function streamTaskSnapshot(snapshot: TaskSnapshot, sliceMs = SLICE_MS): StreamedStateFile {
  return {
    async write(put) {
      const ops = Object.entries(snapshot.operators).filter(([, op]) => op.keyedState !== undefined);
      try {
        await resolvePendingCustom(snapshot);
        const slice = yieldEvery(sliceMs);
        let offset = 0;
        const emit = async (bytes: Uint8Array) => {
          offset += bytes.length;
          await put(bytes);
        };
        await emit(new Uint8Array(STATE_FILE_HEADER_BYTES)); // replaced by the header at the end
        const part = encodeSnapshotPart(snapshot, new Set(ops.map(([uid]) => uid)));
        await emit(part);
        const index: IndexEntry[] = [];
        for (const [uid, op] of ops) {
          const { groups, encode } = await keyGroupEncoder(op.keyedState!, slice);
          for (const kg of groups) {
            await slice();
            const bytes = encode(kg);
            if (bytes === undefined) continue;
            index.push([uid, kg, offset, bytes.length, crc32(bytes)]);
            await emit(bytes);
          }
        }
        await emit(encodeIndexAndTrailer(index, offset));
        return indexedStateFileHeader(part.length, crc32(part));
      } finally {
        releaseKeyedStates(ops.map(([, op]) => op));
      }
    },
  };
}

/**
 * The key groups of one operator's captured keyed state (those with entries or timers, ascending)
 * and a function that encodes one of them (undefined: it holds nothing). The timers are grouped by
 * key group first, yielding between slices.
 */
async function keyGroupEncoder(
  captured: PendingKeyedState,
  slice: () => Promise<void> | undefined,
): Promise<{ groups: number[]; encode: (kg: number) => Uint8Array | undefined }> {
  const { state, timers: capturedTimers } = captured;
  const timers = new Map<number, TimerSnapshot[]>();
  for (const c of capturedTimers) {
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
  const encode = (kg: number): Uint8Array | undefined => {
    const groupTimers = timers.get(kg) ?? [];
    let n = 0;
    const bytes = encodeKeyGroupFrom((emit) => {
      state.read(kg, (st, ns, k, v) => {
        n++;
        emit(st, ns, k, v);
      });
    }, groupTimers);
    return n > 0 || groupTimers.length > 0 ? bytes : undefined;
  };
  return { groups: [...groups].sort((a, b) => a - b), encode };
}

function releaseKeyedStates(ops: OperatorSnapshot[]): void {
  for (const op of ops) {
    op.keyedState?.state.release();
    delete op.keyedState;
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
