// Savepoints: a completed checkpoint copied into a directory of its own, with every file it
// references (task state, shared key-group files, finished tasks' state) and metadata whose paths
// are relative to that directory. Self-contained and backend-independent (state files hold
// entries, not a store's files), so it outlives the job's checkpoints and restores anywhere.
//
// Durable before it is announced: every copied file is fsynced, then every directory it lies in;
// `_metadata` goes last (temporary name, fsynced, renamed, the directory fsynced), and the
// directories created for the savepoint are fsynced in their parents. Only then may the
// coordinator publish the checkpoint, let the sinks commit and delete what the savepoint replaces.

import { dirname, join, resolve } from "node:path";
import { WeirError } from "../core/errors.ts";
import {
  type CheckpointMetadata,
  type DurableFs,
  makeDirectoryDurable,
  METADATA_FILE,
  nodeDurableFs,
  writeAtomically,
} from "./fs-storage.ts";

/** The directory a savepoint of checkpoint `checkpointId` of job `jobId` is written to. */
export function savepointDirectory(targetDir: string, jobId: string, checkpointId: number): string {
  return resolve(targetDir, `savepoint-${jobId.slice(0, 8)}-${checkpointId}`);
}

/**
 * Copy the checkpoint described by `metadata` (its files under `jobRoot`) into a new savepoint
 * directory under `targetDir`, durably; resolves with that directory. On failure nothing of the
 * savepoint is left that looks complete (the partial directory is removed) and it rejects.
 */
export async function writeSavepoint(
  jobRoot: string,
  metadata: CheckpointMetadata,
  targetDir: string,
  fs: DurableFs = nodeDurableFs,
): Promise<string> {
  const dir = savepointDirectory(targetDir, metadata.jobId, metadata.checkpointId);
  try {
    await makeDirectoryDurable(fs, dir);
    const copy: CheckpointMetadata = JSON.parse(JSON.stringify(metadata)) as CheckpointMetadata;
    copy.savepoint = true;
    const files = new Set<string>();
    for (const task of Object.values(copy.tasks)) {
      for (const s of task.subtasks) {
        if (s.file !== undefined) files.add(s.file);
        for (const f of Object.values(s.keyGroups ?? {})) files.add(f);
      }
    }
    // Paths stay relative; the savepoint directory becomes their root.
    const directories = new Set<string>();
    for (const f of files) {
      const to = join(dir, f);
      await makeDirectoryDurable(fs, dirname(to));
      await fs.copyFileSynced(join(jobRoot, f), to);
      directories.add(dirname(to));
    }
    for (const d of directories) await fs.syncDirectory(d);
    await writeAtomically(fs, join(dir, METADATA_FILE), JSON.stringify(copy, null, 1));
  } catch (e) {
    await fs.remove(dir).catch(() => {});
    throw new WeirError(
      "IO",
      `cannot write the savepoint to '${dir}': ${(e as Error).message}; check that the directory can be created and written, and has room`,
    );
  }
  return dir;
}

/**
 * A stop-with-savepoint failed because its savepoint could not be taken. Nothing of the savepoint
 * was committed, and the job keeps running; `latestCheckpoint` is what it would restore from.
 */
export class StopWithSavepointError extends WeirError {
  constructor(
    jobName: string,
    /** The directory of the job's latest completed checkpoint, if one has completed. */
    readonly latestCheckpoint: string | undefined,
    cause: unknown,
  ) {
    super(
      "JOB_FAILED",
      `job '${jobName}' could not stop with a savepoint: ${(cause as Error).message ?? String(cause)}. ` +
        "Nothing of the savepoint was committed; the job kept running " +
        (latestCheckpoint !== undefined
          ? `from its latest checkpoint, '${latestCheckpoint}'`
          : "(no checkpoint of it had completed yet)"),
      { cause },
    );
  }
}
