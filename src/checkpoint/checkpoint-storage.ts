// Where a job's checkpoints are written: the operations the coordinator and the tasks need, with a
// local-directory implementation (fs-storage.ts) and an S3 one (s3-storage.ts). A location that
// starts with `s3://` is S3-compatible object storage; anything else is a directory.

import type { CheckpointMetadata } from "./fs-storage.ts";
import { FsCheckpointStorage } from "./fs-storage.ts";
import { isS3Location } from "./s3-location.ts";
import { S3CheckpointStorage } from "./s3-storage.ts";
import type { StreamedStateFile } from "./state-file.ts";

/** A job's checkpoint storage. Paths returned are relative to `root` (`chk-N/x.state`, `shared/x.kg`). */
export interface CheckpointStorage {
  /** The job's root: `<directory>/<job id>` or `s3://bucket/prefix/<job id>`. */
  readonly root: string;
  /** Write a task's state file for checkpoint `id`. */
  writeTaskState(id: number, name: string, value: unknown): Promise<{ path: string; size: number }>;
  /** writeTaskState, the file written as it is produced (storages that can: a local directory). */
  writeTaskStateStreamed?(
    id: number,
    name: string,
    file: StreamedStateFile,
  ): Promise<{ path: string; size: number }>;
  /** Write a shared (incremental) file. */
  writeShared(name: string, value: unknown): Promise<{ path: string; size: number }>;
  /** Write already encoded key-group bytes to shared/. */
  writeSharedBytes(name: string, bytes: Uint8Array): Promise<void>;
  /** State a task owns across checkpoints (a finished task's final state). */
  writeTaskOwned(name: string, value: unknown): Promise<{ path: string; size: number }>;
  /** writeTaskOwned, the file written as it is produced (storages that can: a local directory). */
  writeTaskOwnedStreamed?(name: string, file: StreamedStateFile): Promise<{ path: string; size: number }>;
  /** Publish checkpoint `id` (its files are all written): resolves with its location (chk-N). */
  writeMetadata(id: number, metadata: CheckpointMetadata): Promise<string>;
  /** Copy the checkpoint into a self-contained savepoint under `targetDir` (a directory or s3:// URL). */
  writeSavepoint(metadata: CheckpointMetadata, targetDir: string): Promise<string>;
  /** Remove a savepoint written by writeSavepoint (never throws). */
  discardSavepoint(location: string): Promise<void>;
  /** Remove a checkpoint's files; never throws (a late write may race with the removal). */
  discardCheckpoint(id: number): Promise<void>;
  deleteShared(relPath: string): Promise<void>;
  /** Remove a file a task wrote for a checkpoint that no longer exists. */
  deleteFile(relPath: string): Promise<void>;
  deleteAll(): Promise<void>;
}

/** The storage for job `jobId` under `location` (a directory, or `s3://bucket/prefix`). */
export function createCheckpointStorage(location: string, jobId: string): CheckpointStorage {
  return isS3Location(location)
    ? new S3CheckpointStorage(location, jobId)
    : new FsCheckpointStorage(location, jobId);
}
