// The asynchronous part of a checkpoint on the task's thread: operator data still pending at the
// barrier (a sink's PREPARE) is awaited, then the keyed state captured at the
// barrier (copy-on-write, see StateTable) is encoded key group by key group, and between slices of
// a few milliseconds the event loop, and so the task, gets a turn. A task with a million keys keeps
// processing records while its snapshot is encoded and written. Into a state file on a local
// directory the snapshot is streamed (streamTaskSnapshot): each key group is written as soon as it
// is encoded, so memory holds one key group, not the task's whole state file.

import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { DataOutputSerializer } from "../core/data-io.ts";
import type {
  OperatorSnapshot,
  PendingKeyedState,
  TaskSnapshot,
  TimerSnapshot,
} from "../runtime/snapshot.ts";
import {
  crc32Continue,
  encodeKeyGroupFrom,
  genericParts,
  STATE_FILE_HEADER_BYTES,
  type StreamedStateFile,
  stateFileHeader,
} from "./state-file.ts";

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
 * The task's state file written as it is encoded: the same GENERIC payload as encodeKeyedState then
 * encodeStateFile give, but each key group goes to `put` once encoded and is not kept, so a task
 * holds one encoded key group at a time instead of all of them and the whole file. Every key group
 * of the snapshot is written, the empty ones too (their number comes first in the file, before
 * they are read). Releases the captured state whatever happens.
 */
export function streamTaskSnapshot(snapshot: TaskSnapshot, sliceMs = SLICE_MS): StreamedStateFile {
  return {
    async write(put) {
      const ops = Object.values(snapshot.operators).filter((op) => op.keyedState !== undefined);
      try {
        await resolvePendingCustom(snapshot);
        const slice = yieldEvery(sliceMs);
        const out = new DataOutputSerializer(PIECE_BYTES);
        let length = 0;
        let crc = 0;
        const emit = async (bytes: Uint8Array) => {
          length += bytes.length;
          crc = crc32Continue(crc, bytes);
          await put(bytes);
        };
        const flush = async () => {
          if (out.position === 0) return;
          const bytes = new Uint8Array(out.position); // a copy: Buffer's slice() is a view
          bytes.set(out.view());
          out.clear();
          await emit(bytes);
        };
        await put(new Uint8Array(STATE_FILE_HEADER_BYTES)); // replaced by the header at the end
        const top = Object.keys(snapshot) as Array<keyof TaskSnapshot>;
        genericParts.objectStart(out, top.length);
        for (const name of top) {
          genericParts.propertyName(out, name);
          if (name !== "operators") {
            genericParts.value(out, snapshot[name]);
            continue;
          }
          const uids = Object.keys(snapshot.operators);
          genericParts.objectStart(out, uids.length);
          for (const uid of uids) {
            genericParts.propertyName(out, uid);
            const op = snapshot.operators[uid]!;
            const pending = op.keyedState;
            const plain = Object.keys(op).filter(
              (k) => k !== "keyedState" && (pending === undefined || k !== "keyGroups"),
            ) as Array<keyof OperatorSnapshot>;
            genericParts.objectStart(out, plain.length + (pending === undefined ? 0 : 1));
            for (const k of plain) {
              genericParts.propertyName(out, k);
              genericParts.value(out, op[k]);
            }
            if (pending === undefined) continue;
            genericParts.propertyName(out, "keyGroups");
            const { groups, encode } = await keyGroupEncoder(pending, slice);
            genericParts.arrayStart(out, groups.length);
            for (const kg of groups) {
              await slice();
              const bytes = encode(kg) ?? EMPTY_GROUP;
              genericParts.arrayStart(out, 2);
              genericParts.value(out, kg);
              genericParts.bytesStart(out, bytes.length);
              await flush();
              await emit(bytes);
            }
          }
        }
        await flush();
        return stateFileHeader(length, crc);
      } finally {
        releaseKeyedStates(ops);
      }
    },
  };
}

/** Bytes gathered before they are handed over (structure and small values between key groups). */
const PIECE_BYTES = 64 * 1024;
const EMPTY_GROUP = encodeKeyGroupFrom(() => {}, []);

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
