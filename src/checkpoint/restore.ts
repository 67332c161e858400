// Restoring from a checkpoint or savepoint, possibly at another parallelism: each new subtask
// reads only the old subtask files whose key groups overlap its own range; operator list state is
// split evenly (union state: given whole to everyone); uids tie state to operators.

import { WeirError } from "../core/errors.ts";
import { type KeyGroupRange, keyGroupRangeFor } from "../core/key-groups.ts";
import type {
  KeyGroupSnapshot,
  OperatorRestore,
  OperatorSnapshot,
  RestoredKeyGroup,
  StoredKeyGroup,
  TaskRestore,
  TaskSnapshot,
} from "../runtime/snapshot.ts";
import type { LoadedCheckpoint } from "./fs-storage.ts";
import {
  CorruptStateError,
  decodeKeyGroup,
  isRunEncoded,
  isStoredKeyGroup,
  visitKeyGroup,
} from "./state-file.ts";

/** An operator of the new job: its uid, name, and parallelism. */
export interface RestoreTarget {
  uid: string;
  name: string;
  maxParallelism: number;
  keyed: boolean;
}

/**
 * Check that a checkpoint fits the new job: every state-holding operator of the checkpoint must
 * exist (by uid) unless `allowNonRestoredState`; keyed operators must keep their max parallelism.
 */
export function validateRestore(
  cp: LoadedCheckpoint,
  targets: RestoreTarget[],
  allowNonRestoredState: boolean,
): void {
  const byUid = new Map(targets.map((t) => [t.uid, t]));
  for (const task of Object.values(cp.metadata.tasks)) {
    for (const uid of task.operators) {
      const target = byUid.get(uid);
      const hasState = task.subtasks.some((s) => s.file !== undefined || s.keyGroups !== undefined);
      if (target === undefined) {
        if (hasState && !allowNonRestoredState) {
          throw new WeirError(
            "INVALID_JOB",
            `the checkpoint at '${cp.path}' holds state of operator uid '${uid}', which this job does not have; give that operator its old uid, or restore with --allow-non-restored-state to drop the state`,
          );
        }
        continue;
      }
      if (target.keyed && hasState && task.maxParallelism !== target.maxParallelism) {
        throw new WeirError(
          "INVALID_JOB",
          `operator '${target.name}' (uid ${uid}) has max parallelism ${target.maxParallelism}, but its state in '${cp.path}' was written with max parallelism ${task.maxParallelism}; key groups cannot change: set setMaxParallelism(${task.maxParallelism}) on it`,
        );
      }
    }
  }
}

/** What one new subtask of a task (chain) restores, by operator uid. */
export async function loadTaskRestore(
  cp: LoadedCheckpoint,
  operatorUids: string[],
  subtask: number,
  parallelism: number,
  maxParallelism: number,
): Promise<TaskRestore> {
  const out = new Map<string, OperatorRestore>();
  const mine = keyGroupRangeFor(maxParallelism, parallelism, subtask);
  const wanted = new Set(operatorUids);
  for (const task of Object.values(cp.metadata.tasks)) {
    const uids = task.operators.filter((u) => wanted.has(u));
    if (uids.length === 0) continue;
    const oldP = task.parallelism;
    const pieces = new Map<string, RestorePiece[]>();
    /** The shared file of each key group read from one (incremental checkpoints), for errors. */
    const sharedFile = new WeakMap<object, string>();
    for (const h of task.subtasks) {
      if (h.file === undefined && h.keyGroups === undefined) continue;
      const theirs = keyGroupRangeFor(task.maxParallelism, oldP, h.subtask);
      const overlaps = theirs.start <= mine.end && mine.start <= theirs.end;
      // Every old subtask may hold operator state; keyed state only matters where ranges overlap.
      const snap: TaskSnapshot =
        h.file !== undefined ? ((await cp.read(h.file)) as TaskSnapshot) : { operators: {} };
      if (h.keyGroups !== undefined && overlaps) {
        for (const [entry, file] of Object.entries(h.keyGroups)) {
          // "<key group>/<operator uid>"; checkpoints before chained keyed operators: "<key group>".
          const g = Number.parseInt(entry, 10);
          if (g < mine.start || g > mine.end) continue;
          const data = (await cp.read(file)) as
            | TaskSnapshot
            | { uid: string; group: KeyGroupSnapshot | Uint8Array };
          if (!("operators" in data)) {
            // Format 1 or 2: the key group itself, read whole.
            const op = (snap.operators[data.uid] ??= {});
            sharedFile.set(data.group, file);
            (op.keyGroups ??= []).push([g, data.group]);
            continue;
          }
          // Format 3: the key group stays in its file until its operator restores it.
          for (const [uid, one] of Object.entries(data.operators)) {
            for (const [, group] of one.keyGroups ?? []) {
              const op = (snap.operators[uid] ??= {});
              sharedFile.set(group, file);
              (op.keyGroups ??= []).push([g, group]);
            }
          }
        }
      }
      for (const uid of uids) {
        const op = snap.operators[uid];
        if (op === undefined) continue;
        const list = pieces.get(uid) ?? [];
        list.push({
          ...op,
          keyGroups: overlaps
            ? ownKeyGroups(op.keyGroups, mine, (g) => sharedFile.get(g) ?? h.file ?? cp.path)
            : undefined,
        });
        pieces.set(uid, list);
      }
    }
    for (const uid of uids)
      out.set(uid, merge(pieces.get(uid) ?? [], subtask, parallelism, cp.metadata.checkpointId));
  }
  // In-flight data (snap.channels) is restored by loadInFlight (in-flight-restore.ts).
  return { operators: out };
}

/**
 * The key groups of `mine`, each decoded when its operator restores it (each key group of a state
 * file is encoded on its own): a task never holds every key group decoded at once.
 */
function ownKeyGroups(
  groups: OperatorSnapshot["keyGroups"],
  mine: KeyGroupRange,
  pathOf: (group: object) => string,
): Array<[number, RestoredKeyGroup]> | undefined {
  if (groups === undefined) return undefined;
  const out: Array<[number, RestoredKeyGroup]> = [];
  for (const [kg, g] of groups)
    if (kg >= mine.start && kg <= mine.end) out.push([kg, restoredKeyGroup(g, pathOf(g))]);
  return out;
}

/**
 * A key group as its operator restores it: decoded when it does, or read with its values undecoded;
 * one still in its file (format 3) is read from it then.
 */
function restoredKeyGroup(g: KeyGroupSnapshot | Uint8Array | StoredKeyGroup, path: string): RestoredKeyGroup {
  if (isStoredKeyGroup(g)) {
    return {
      decode: () => decodeKeyGroup(g, path),
      visit(visit) {
        const bytes = g.read();
        if (!isRunEncoded(bytes)) throw new CorruptStateError(path, "has a key group in an unknown encoding");
        return visitKeyGroup(bytes, path, visit);
      },
    };
  }
  if (!isRunEncoded(g)) return () => decodeKeyGroup(g, path);
  return { decode: () => decodeKeyGroup(g, path), visit: (visit) => visitKeyGroup(g, path, visit) };
}

/** One old subtask's part of an operator's state, its key groups to be decoded on restore. */
type RestorePiece = Omit<OperatorSnapshot, "keyGroups"> & {
  keyGroups: Array<[number, RestoredKeyGroup]> | undefined;
};

/** The pieces of one operator's restore; their key groups are already the subtask's own (ownKeyGroups). */
function merge(
  parts: RestorePiece[],
  subtask: number,
  parallelism: number,
  checkpointId: number,
): OperatorRestore {
  const r: OperatorRestore = { keyGroups: [], operatorState: {}, custom: [], checkpointId };
  for (const p of parts) {
    for (const kg of p.keyGroups ?? []) r.keyGroups.push(kg);
    if (p.keyedStateMeta !== undefined) (r.keyedStateMeta ??= []).push(...p.keyedStateMeta);
    if (p.custom !== undefined) r.custom.push(p.custom);
    for (const [name, s] of Object.entries(p.operatorState ?? {})) {
      const acc = (r.operatorState[name] ??= { mode: s.mode, values: [] });
      acc.values.push(...s.values);
    }
  }
  // Even split of list state: element i goes to subtask i mod parallelism.
  for (const s of Object.values(r.operatorState)) {
    if (s.mode === "split") s.values = s.values.filter((_v, i) => i % parallelism === subtask);
    if (s.mode === "broadcast") s.values = s.values.slice(0, 1);
  }
  return r;
}

/** Every split the readers of a source held at the checkpoint (they go back to its enumerator). */
export async function loadSourceSplits(cp: LoadedCheckpoint, sourceUid: string): Promise<unknown[]> {
  const splits: unknown[] = [];
  for (const task of Object.values(cp.metadata.tasks)) {
    if (!task.operators.includes(sourceUid)) continue;
    for (const h of task.subtasks) {
      if (h.file === undefined) continue;
      const snap = (await cp.read(h.file)) as TaskSnapshot;
      splits.push(...(snap.operators[sourceUid]?.splits ?? []));
    }
  }
  return splits;
}

/**
 * Whether a new subtask of the chain `operatorUids` restores as finished: every operator of the
 * chain was part of a task whose subtasks had all finished at the checkpoint (as in a final
 * checkpoint). A chain with an operator that had not finished everywhere, or that the checkpoint
 * does not know, runs again (its finished subtasks' state is restored like any other).
 */
export function isFinishedOnRestore(cp: LoadedCheckpoint, operatorUids: string[]): boolean {
  if (operatorUids.length === 0) return false;
  const tasks = Object.values(cp.metadata.tasks);
  for (const uid of operatorUids) {
    const task = tasks.find((t) => t.operators.includes(uid));
    if (task === undefined || task.subtasks.length === 0) return false;
    if (!task.subtasks.every((s) => s.finished)) return false;
  }
  return true;
}
