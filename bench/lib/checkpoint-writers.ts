// The ways bench/state-embedded.ts writes a backend's snapshot to a file and restores from it:
//   per-group  each key group encoded and written on its own (offsets kept by the bench): the
//              backend's own cost, without the engine's state file around it
//   buffered   the engine's path before streaming: every key group encoded (encodeKeyedState),
//              then the task's state file encoded whole and written (FsCheckpointStorage)
//   streamed   the engine's path now: the state file written as its key groups are encoded
// The engine restores a state file as loadCheckpoint does (readStateFileAt: formats 1 and 2 read
// whole and decoded; format 3, the streamed writer's, its snapshot and index, each key group read
// from the file when restored), each key group as the operator does: undecoded into the embedded
// backend.

import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { FsCheckpointStorage } from "../../src/checkpoint/fs-storage.ts";
import { encodeKeyedState, streamTaskSnapshot } from "../../src/checkpoint/snapshot-writer.ts";
import { readStateFileAt } from "../../src/checkpoint/indexed-state-file.ts";
import {
  decodeKeyGroup,
  encodeKeyGroupFrom,
  isRunEncoded,
  isStoredKeyGroup,
  visitKeyGroup,
} from "../../src/checkpoint/state-file.ts";
import type { KeyGroupSnapshot, StoredKeyGroup, TaskSnapshot } from "../../src/runtime/snapshot.ts";
import type { KeyedStateBackend, KeyedStateSnapshot } from "../../src/state/keyed-state-backend.ts";

export const WRITERS = ["per-group", "buffered", "streamed"] as const;
export type WriterKind = (typeof WRITERS)[number];

export interface WrittenCheckpoint {
  path: string;
  /** Restores every key group of the file into `backend`. */
  restore(backend: KeyedStateBackend): Promise<void>;
}

/** Writes `snap` (released afterwards) under `dir` the way `kind` says. */
export async function writeCheckpoint(
  kind: WriterKind,
  snap: KeyedStateSnapshot,
  dir: string,
): Promise<WrittenCheckpoint> {
  if (kind === "per-group") return writePerGroup(snap, join(dir, "chk"));
  const storage = new FsCheckpointStorage(dir, "bench");
  const task: TaskSnapshot = { operators: { op: { keyedState: { state: snap, timers: [] } } } };
  let written: { path: string };
  if (kind === "buffered") {
    await encodeKeyedState(task);
    written = await storage.writeTaskState(1, "1-0", task);
  } else written = await storage.writeTaskStateStreamed(1, "1-0", streamTaskSnapshot(task));
  const path = join(storage.root, written.path);
  return {
    path,
    async restore(backend) {
      const loaded = (await readStateFileAt(path, "is missing")) as TaskSnapshot;
      for (const [kg, g] of loaded.operators.op?.keyGroups ?? []) restoreGroup(backend, kg, g, path);
    },
  };
}

function writePerGroup(snap: KeyedStateSnapshot, path: string): WrittenCheckpoint {
  const fd = openSync(path, "w");
  const offsets: Array<[number, number, number]> = [];
  let pos = 0;
  try {
    for (const kg of snap.keyGroups) {
      const bytes = encodeKeyGroupFrom((emit) => snap.read(kg, emit), []);
      writeSync(fd, bytes);
      offsets.push([kg, pos, bytes.length]);
      pos += bytes.length;
    }
  } finally {
    closeSync(fd);
    snap.release();
  }
  return {
    path,
    async restore(backend) {
      const fdr = openSync(path, "r");
      try {
        for (const [kg, at, len] of offsets) {
          const bytes = Buffer.allocUnsafe(len);
          let got = 0;
          while (got < len) got += readSync(fdr, bytes, got, len - got, at + got);
          restoreGroup(backend, kg, bytes, path);
        }
      } finally {
        closeSync(fdr);
      }
    },
  };
}

/** As the engine restores a key group (stream-operator.ts): undecoded when the backend takes it so. */
function restoreGroup(
  backend: KeyedStateBackend,
  kg: number,
  stored: KeyGroupSnapshot | Uint8Array | StoredKeyGroup,
  path: string,
): void {
  const g = isStoredKeyGroup(stored) ? stored.read() : stored;
  if (isRunEncoded(g) && backend.restoreEncodedKeyGroup !== undefined) {
    backend.restoreEncodedKeyGroup(kg, (visit) => void visitKeyGroup(g, path, visit));
  } else backend.restoreKeyGroup(kg, decodeKeyGroup(g, path).entries);
}
