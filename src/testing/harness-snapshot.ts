// Snapshots a harness takes and restores, through the code path of a real checkpoint: the
// operator's snapshotState, the checkpoint writer's key-group encoding, the state-file format
// (header, CRC, GENERIC payload), and on restore the checkpoint's validation and the
// redistribution by key group and operator-state mode that a job restored at another parallelism
// gets. Nothing touches the disk: the state file's bytes stay in the snapshot object.

import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointMetadata,
  type LoadedCheckpoint,
  loadCheckpoint,
} from "../checkpoint/fs-storage.ts";
import { loadTaskRestore, validateRestore } from "../checkpoint/restore.ts";
import { encodeKeyedState } from "../checkpoint/snapshot-writer.ts";
import { decodeStateBytes } from "../checkpoint/indexed-state-file.ts";
import { encodeStateFile } from "../checkpoint/state-file.ts";
import type { StreamOperator } from "../runtime/operators/stream-operator.ts";
import type { OperatorRestore, TaskSnapshot } from "../runtime/snapshot.ts";
import { HarnessError } from "./harness-error.ts";

/** Which operator subtask a snapshot was taken of. */
export interface SnapshotOrigin {
  operatorUid: string;
  operatorName: string;
  subtaskIndex: number;
  parallelism: number;
  maxParallelism: number;
}

/**
 * The state of one operator subtask at one checkpoint, as a job's checkpoint stores it (Flink's
 * OperatorSubtaskState). Restore it into a new harness with `initializeState`, alone or together
 * with the snapshots of the other subtasks (to restore at another parallelism).
 */
export class HarnessSnapshot {
  readonly operatorUid: string;
  readonly operatorName: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;

  /** @internal Use harness.snapshot(). */
  constructor(
    origin: SnapshotOrigin,
    readonly checkpointId: number,
    /** The subtask's state file, byte for byte as a checkpoint writes it. */
    readonly bytes: Uint8Array,
  ) {
    this.operatorUid = origin.operatorUid;
    this.operatorName = origin.operatorName;
    this.subtaskIndex = origin.subtaskIndex;
    this.parallelism = origin.parallelism;
    this.maxParallelism = origin.maxParallelism;
  }

  /** The size of the encoded state, in bytes. */
  get size(): number {
    return this.bytes.length;
  }
}

/** Snapshot `operator` (the synchronous part), encode its keyed state and the whole state file. */
export async function takeSnapshot(
  operator: StreamOperator,
  origin: SnapshotOrigin,
  checkpointId: number,
): Promise<HarnessSnapshot> {
  const snap = operator.snapshotState(checkpointId);
  const task: TaskSnapshot = { operators: snap === undefined ? {} : { [origin.operatorUid]: snap } };
  await encodeKeyedState(task);
  return new HarnessSnapshot(origin, checkpointId, encodeStateFile(task));
}

/** What the operator subtask `target` restores from `snapshots` (the old subtasks of one checkpoint). */
export async function restoreFrom(
  snapshots: readonly HarnessSnapshot[],
  target: SnapshotOrigin & { keyed: boolean },
): Promise<OperatorRestore> {
  const first = checkSnapshots(snapshots, target);
  const files = new Map<string, Uint8Array>();
  for (const s of snapshots) files.set(`subtask-${s.subtaskIndex}.state`, s.bytes);
  const where = `harness snapshot of '${first.operatorName}' (uid ${first.operatorUid}), checkpoint ${first.checkpointId}`;
  const metadata: CheckpointMetadata = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_FORMAT_VERSION,
    checkpointId: first.checkpointId,
    savepoint: false,
    jobName: "harness",
    jobId: "harness",
    timestamp: 0,
    tasks: {
      harness: {
        operators: [first.operatorUid],
        parallelism: first.parallelism,
        maxParallelism: first.maxParallelism,
        subtasks: snapshots.map((s) => ({
          subtask: s.subtaskIndex,
          file: `subtask-${s.subtaskIndex}.state`,
          keyGroups: undefined,
          size: s.size,
          finished: false,
        })),
      },
    },
    inFlightData: false,
    enumerators: {},
  };
  const checkpoint: LoadedCheckpoint = {
    root: where,
    path: where,
    metadata,
    location: (relPath) => `${where}: ${relPath}`,
    exists: async (relPath) => files.has(relPath),
    async read(relPath: string): Promise<unknown> {
      const bytes = files.get(relPath);
      if (bytes === undefined) throw new HarnessError(`${where} has no file '${relPath}'`);
      return decodeStateBytes(bytes, `${where}: ${relPath}`);
    },
  };
  return restoreOperator(checkpoint, target, false);
}

/**
 * What the operator subtask `target` restores from a job's checkpoint (`chk-N`) or savepoint
 * directory: its uid's state, the job's other operators ignored.
 */
export async function restoreFromDirectory(
  path: string,
  target: SnapshotOrigin & { keyed: boolean },
): Promise<OperatorRestore> {
  const checkpoint = await loadCheckpoint(path);
  const tasks = Object.values(checkpoint.metadata.tasks);
  if (!tasks.some((t) => t.operators.includes(target.operatorUid))) {
    const uids = tasks.flatMap((t) => t.operators).join(", ");
    throw new HarnessError(
      `the checkpoint at '${checkpoint.path}' holds no operator with uid '${target.operatorUid}' (it has: ${uids}); give the operator under test the uid it has in the job`,
    );
  }
  return restoreOperator(checkpoint, target, true);
}

async function restoreOperator(
  checkpoint: LoadedCheckpoint,
  target: SnapshotOrigin & { keyed: boolean },
  allowNonRestoredState: boolean,
): Promise<OperatorRestore> {
  const { operatorUid: uid, operatorName: name, maxParallelism, keyed } = target;
  validateRestore(checkpoint, [{ uid, name, maxParallelism, keyed }], allowNonRestoredState);
  const restore = await loadTaskRestore(
    checkpoint,
    [uid],
    target.subtaskIndex,
    target.parallelism,
    maxParallelism,
  );
  return (
    restore.operators.get(uid) ?? {
      keyGroups: [],
      operatorState: {},
      custom: [],
      checkpointId: checkpoint.metadata.checkpointId,
    }
  );
}

/** The snapshots must be distinct subtasks of one operator at one checkpoint. */
function checkSnapshots(snapshots: readonly HarnessSnapshot[], target: SnapshotOrigin): HarnessSnapshot {
  const first = snapshots[0];
  if (first === undefined) {
    throw new HarnessError(
      `initializeState() of the harness of '${target.operatorName}' got no snapshot; pass harness.snapshot()'s result, or an array of them`,
    );
  }
  const seen = new Set<number>();
  for (const s of snapshots) {
    if (!(s instanceof HarnessSnapshot)) {
      throw new HarnessError(
        `initializeState() of the harness of '${target.operatorName}' takes HarnessSnapshots (from harness.snapshot()), got ${String(s)}`,
      );
    }
    const same =
      s.operatorUid === first.operatorUid &&
      s.parallelism === first.parallelism &&
      s.maxParallelism === first.maxParallelism &&
      s.checkpointId === first.checkpointId;
    if (!same) {
      throw new HarnessError(
        `initializeState() got snapshots of different operators or checkpoints (uid ${first.operatorUid}, subtask ${first.subtaskIndex} of ${first.parallelism}, checkpoint ${first.checkpointId}; and uid ${s.operatorUid}, subtask ${s.subtaskIndex} of ${s.parallelism}, checkpoint ${s.checkpointId}); restore the subtasks of one operator taken at one checkpoint id`,
      );
    }
    if (seen.has(s.subtaskIndex)) {
      throw new HarnessError(
        `initializeState() got two snapshots of subtask ${s.subtaskIndex} of '${s.operatorName}'; pass each old subtask once`,
      );
    }
    seen.add(s.subtaskIndex);
  }
  if (first.operatorUid !== target.operatorUid) {
    throw new HarnessError(
      `the snapshot is of operator uid '${first.operatorUid}', but this harness runs uid '${target.operatorUid}'; a restore matches state by uid, as a job does: give both operators the same uid() (or the same harness option uid)`,
    );
  }
  return first;
}
