// Filesystem checkpoint storage. Layout (format version 1), under <directory>/<job id>/:
//
//   chk-<N>/_metadata        JSON: what the checkpoint holds and where (written last, atomically)
//   chk-<N>/<file>.state     state owned by checkpoint N (one file per task)
//   shared/<file>.kg         key-group files shared by incremental checkpoints (reference-counted)
//   taskowned/               state that tasks own across checkpoints (finished tasks' final states)
//
// Every file is written to a temporary name, fsynced, renamed, and its directory fsynced; a
// directory created on the way is fsynced in its parent. The metadata goes last, so a crash (or a
// power loss) mid-checkpoint never leaves a directory that looks complete. Every operation goes
// through a DurableFs, which tests wrap to check what is synced, in which order.

import { closeSync, existsSync, fsync, fsyncSync, mkdirSync, openSync, renameSync, write } from "node:fs";
import { copyFile, open, readFile, readdir, rm, stat } from "node:fs/promises";
import { promisify } from "node:util";
import { dirname, join, relative, resolve } from "node:path";
import { WeirError } from "../core/errors.ts";
import type { PartitionerKind } from "../runtime/partitioners.ts";
import type { CheckpointStorage } from "./checkpoint-storage.ts";
import { isS3Location } from "./s3-location.ts";
import { readStateFileAt, writeStreamedFileSynced } from "./indexed-state-file.ts";
import { encodeStateFile, type StreamedStateFile } from "./state-file.ts";

export const METADATA_FILE = "_metadata";
export const CHECKPOINT_FORMAT = "weir-checkpoint";
export const CHECKPOINT_FORMAT_VERSION = 1;

/**
 * The file-system operations checkpoints and savepoints are written with. A name created or
 * renamed in a directory survives a power loss only once that directory is synced
 * (`syncDirectory`); a file's bytes only once the file is (the *Synced writes do that).
 */
export interface DurableFs {
  /** Create `dir` and its missing parents; resolves with the first directory created (undefined: none). */
  mkdir(dir: string): Promise<string | undefined>;
  /** Write `bytes` to `path` (created or truncated), then fsync the file. */
  writeFileSynced(path: string, bytes: Uint8Array | string): Promise<void>;
  /**
   * Write a state file to `path` piece by piece as it is produced, then its header over its start,
   * then fsync it; resolves with its size. Without it, the pieces are gathered and written whole.
   */
  writeStreamSynced?(path: string, file: StreamedStateFile): Promise<number>;
  /** Copy the file `from` to `to`, then fsync the copy. */
  copyFileSynced(from: string, to: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** fsync a directory: the names created, renamed or removed in it are on disk. */
  syncDirectory(dir: string): Promise<void>;
  /** Remove a file or a directory tree; no error when it does not exist. */
  remove(path: string): Promise<void>;
}

/** Errors of fsync on a directory from file systems (and platforms) that do not support it. */
const DIRECTORY_SYNC_UNSUPPORTED = new Set(["EINVAL", "ENOTSUP", "EISDIR", "EPERM", "EBADF"]);

const writeAsync = promisify(write);
const fsyncAsync = promisify(fsync);

/**
 * The local file system (node:fs). The quick metadata calls (mkdir, open, close, rename) are made
 * synchronously: every awaited call costs the task writing a checkpoint an event-loop turn, and a
 * task whose records are slow holds each turn long (a state file took 6-10 turns, now 2: the write
 * and the fsync, which stay off the thread).
 */
export const nodeDurableFs: DurableFs = {
  mkdir: async (dir) => mkdirSync(dir, { recursive: true }),
  async writeFileSynced(path, bytes) {
    const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
    const fd = openSync(path, "w");
    try {
      for (let at = 0; at < data.length; ) {
        at += (await writeAsync(fd, data, at, data.length - at)).bytesWritten;
      }
      await fsyncAsync(fd);
    } finally {
      closeSync(fd);
    }
  },
  writeStreamSynced: writeStreamedFileSynced,
  async copyFileSynced(from, to) {
    await copyFile(from, to);
    const fh = await open(to, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  rename: async (from, to) => renameSync(from, to),
  async syncDirectory(dir) {
    try {
      const fd = openSync(dir, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      // Some file systems cannot fsync a directory (the rename is still atomic there).
      if (!DIRECTORY_SYNC_UNSUPPORTED.has((e as NodeJS.ErrnoException).code ?? "")) throw e;
    }
  },
  remove: (path) => rm(path, { recursive: true, force: true, maxRetries: 3 }),
};

/** Create `dir` (and missing parents) so that it survives a power loss: each new one is synced in its parent. */
export async function makeDirectoryDurable(fs: DurableFs, dir: string): Promise<void> {
  const target = resolve(dir);
  const first = await fs.mkdir(target);
  if (first === undefined) return;
  const created: string[] = [];
  for (let d = target; ; d = dirname(d)) {
    created.push(d);
    if (d === resolve(first) || dirname(d) === d) break;
  }
  for (const d of created.reverse()) await fs.syncDirectory(dirname(d));
}

/** Write a file under a temporary name, fsync it, rename it into place, fsync its directory. */
export async function writeAtomically(
  fs: DurableFs,
  path: string,
  bytes: Uint8Array | string,
): Promise<void> {
  await makeDirectoryDurable(fs, dirname(path));
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await fs.writeFileSynced(tmp, bytes);
  await fs.rename(tmp, path);
  await fs.syncDirectory(dirname(path));
}

/** writeAtomically for a state file produced in pieces; resolves with its size. */
async function writeStreamAtomically(fs: DurableFs, path: string, file: StreamedStateFile): Promise<number> {
  await makeDirectoryDurable(fs, dirname(path));
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  let size: number;
  if (fs.writeStreamSynced !== undefined) size = await fs.writeStreamSynced(tmp, file);
  else {
    const pieces: Uint8Array[] = [];
    const header = await file.write(async (bytes) => void pieces.push(bytes));
    const bytes = Buffer.concat(pieces);
    bytes.set(header, 0);
    await fs.writeFileSynced(tmp, bytes);
    size = bytes.length;
  }
  await fs.rename(tmp, path);
  await fs.syncDirectory(dirname(path));
  return size;
}

export class FsCheckpointStorage implements CheckpointStorage {
  readonly root: string;

  constructor(
    directory: string,
    jobId: string,
    /** How files are written and synced (tests record it). */
    readonly fs: DurableFs = nodeDurableFs,
  ) {
    this.root = join(resolve(directory), jobId);
  }

  checkpointDir(id: number): string {
    return join(this.root, `chk-${id}`);
  }

  get sharedDir(): string {
    return join(this.root, "shared");
  }

  /** Write a task's state file for checkpoint `id`; returns its path relative to the job root. */
  async writeTaskState(id: number, name: string, value: unknown): Promise<{ path: string; size: number }> {
    const bytes = encodeStateFile(value, encodedSizeHint(value));
    const path = join(this.checkpointDir(id), `${name}.state`);
    await writeAtomically(this.fs, path, bytes);
    return { path: relative(this.root, path), size: bytes.length };
  }

  /** writeTaskState for a snapshot streamed into its file (see streamTaskSnapshot). */
  async writeTaskStateStreamed(id: number, name: string, file: StreamedStateFile) {
    const path = join(this.checkpointDir(id), `${name}.state`);
    const size = await writeStreamAtomically(this.fs, path, file);
    return { path: relative(this.root, path), size };
  }

  /** Write a shared (incremental) file; returns its path relative to the job root. */
  async writeShared(name: string, value: unknown): Promise<{ path: string; size: number }> {
    const bytes = encodeStateFile(value);
    const path = join(this.sharedDir, `${name}.kg`);
    await writeAtomically(this.fs, path, bytes);
    return { path: relative(this.root, path), size: bytes.length };
  }

  /** Write already encoded key-group bytes to shared/. */
  async writeSharedBytes(name: string, bytes: Uint8Array): Promise<void> {
    await writeAtomically(this.fs, join(this.sharedDir, `${name}.kg`), bytes);
  }

  /** State a task owns across checkpoints (a finished task's final state). */
  async writeTaskOwned(name: string, value: unknown): Promise<{ path: string; size: number }> {
    const bytes = encodeStateFile(value, encodedSizeHint(value));
    const path = join(this.root, "taskowned", `${name}.state`);
    await writeAtomically(this.fs, path, bytes);
    return { path: relative(this.root, path), size: bytes.length };
  }

  /** writeTaskOwned for a snapshot streamed into its file (see streamTaskSnapshot). */
  async writeTaskOwnedStreamed(name: string, file: StreamedStateFile) {
    const path = join(this.root, "taskowned", `${name}.state`);
    const size = await writeStreamAtomically(this.fs, path, file);
    return { path: relative(this.root, path), size };
  }

  async writeMetadata(id: number, metadata: CheckpointMetadata): Promise<string> {
    const path = join(this.checkpointDir(id), METADATA_FILE);
    await writeAtomically(this.fs, path, JSON.stringify(metadata, null, 1));
    return this.checkpointDir(id);
  }

  /** A savepoint in a directory (written with this.fs), or on S3. */
  async writeSavepoint(metadata: CheckpointMetadata, targetDir: string): Promise<string> {
    if (isS3Location(targetDir)) {
      return (await import("./s3-storage.ts")).writeSavepointFromDirectory(this.root, metadata, targetDir);
    }
    return (await import("./savepoint.ts")).writeSavepoint(this.root, metadata, targetDir, this.fs);
  }

  async discardSavepoint(location: string): Promise<void> {
    if (isS3Location(location)) return (await import("./s3-storage.ts")).discardSavepointAt(location);
    await this.fs.remove(location).catch(() => {});
  }

  /**
   * Remove a checkpoint's directory; never throws (a late write may race with the removal). Its
   * `_metadata` goes first (durably): a crash mid-removal leaves a checkpoint that is not complete,
   * never one that looks complete without its files.
   */
  async discardCheckpoint(id: number): Promise<void> {
    await this.unpublish([this.checkpointDir(id)]);
    await removeQuietly(this.fs, this.checkpointDir(id));
  }

  async deleteShared(relPath: string): Promise<void> {
    await removeQuietly(this.fs, join(this.root, relPath));
  }

  /** Remove a file a task wrote for a checkpoint that no longer exists. */
  async deleteFile(relPath: string): Promise<void> {
    await removeQuietly(this.fs, join(this.root, relPath));
  }

  /**
   * Remove the job's checkpoints (its job finished, or was cancelled). Every `_metadata` goes first
   * (durably): a process killed during the removal leaves no checkpoint that looks complete while
   * files it references (in another chk-N, shared/ or taskowned/) are gone.
   */
  async deleteAll(): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(this.root);
    } catch {
      return; // nothing was written
    }
    await this.unpublish(names.filter((n) => CHECKPOINT_DIR.test(n)).map((n) => join(this.root, n)));
    await removeQuietly(this.fs, this.root);
  }

  /** Make these checkpoints incomplete: remove their `_metadata` and sync their directories. */
  private async unpublish(dirs: string[]): Promise<void> {
    for (const dir of dirs) {
      if (!existsSync(join(dir, METADATA_FILE))) continue;
      await removeQuietly(this.fs, join(dir, METADATA_FILE));
      await this.fs.syncDirectory(dir).catch(() => {});
    }
  }
}

const CHECKPOINT_DIR = /^chk-\d+$/;

/** Room for a task snapshot's encoded key groups, so that its file is not grown by copying. */
function encodedSizeHint(value: unknown): number {
  let n = 4096;
  const ops = (value as { operators?: Record<string, { keyGroups?: Array<[number, unknown]> }> }).operators;
  for (const op of Object.values(ops ?? {})) {
    for (const [, g] of op.keyGroups ?? []) if (g instanceof Uint8Array) n += g.length + 16;
  }
  return n;
}

async function removeQuietly(fs: DurableFs, path: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    try {
      await fs.remove(path);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export interface SubtaskStateHandle {
  subtask: number;
  /** The task state file (relative to the checkpoint's job root), or undefined when the task had no state. */
  file: string | undefined;
  /**
   * Key-group files of incremental checkpoints: "<key group>/<operator uid>" -> relative path (each
   * file names its operator too). Checkpoints written before 2026-12-07 key them by key group alone.
   */
  keyGroups: Record<string, string> | undefined;
  size: number;
  /** The task had finished before the checkpoint (no state to restore). */
  finished: boolean;
}

export interface OperatorStateHandle {
  name: string;
  parallelism: number;
  maxParallelism: number;
  subtasks: SubtaskStateHandle[];
}

/** A network edge of a task, as its in-flight data names it: the edge's id and partitioner kind. */
export interface EdgeLayout {
  /** See edgeId (src/graph/stream-graph.ts): the same from one run of the job to the next. */
  edge: string;
  partitioner: PartitionerKind;
}

/** One task (chain) of a checkpoint: its operators, parallelism and subtask files. */
export interface TaskStateEntry {
  operators: string[];
  parallelism: number;
  maxParallelism: number;
  subtasks: SubtaskStateHandle[];
  /**
   * The task's network edges in the order of its input channels and of its record writers: how
   * its in-flight data (ChannelState) is laid out. Absent in checkpoints of older versions.
   */
  inputs?: EdgeLayout[];
  outputs?: EdgeLayout[];
}

export interface CheckpointMetadata {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  checkpointId: number;
  savepoint: boolean;
  jobName: string;
  jobId: string;
  timestamp: number;
  /** Task files by vertex: each holds the snapshots of the chain's operators, by uid. */
  tasks: Record<string, TaskStateEntry>;
  /**
   * False when the checkpoint holds no in-flight data (unaligned checkpoints were off, or it is
   * a savepoint's): a restore does not look for any. Absent in checkpoints of older versions.
   */
  inFlightData?: boolean;
  /** Split enumerator state by source uid (GENERIC-encoded, base64). */
  enumerators: Record<string, string>;
}

/** A completed checkpoint or savepoint, loaded for restore. */
export interface LoadedCheckpoint {
  /** The job root the relative paths start from. */
  root: string;
  path: string;
  metadata: CheckpointMetadata;
  read(relPath: string): Promise<unknown>;
  /** Where a file (relative to the root) is, for messages. */
  location(relPath: string): string;
  exists(relPath: string): Promise<boolean>;
}

/** The files (relative to the job root) a savepoint of this checkpoint copies. */
export function savepointFiles(metadata: CheckpointMetadata): Set<string> {
  const files = new Set<string>();
  for (const task of Object.values(metadata.tasks)) {
    for (const s of task.subtasks) {
      if (s.file !== undefined) files.add(s.file);
      for (const f of Object.values(s.keyGroups ?? {})) files.add(f);
    }
  }
  return files;
}

/** Parse checkpoint metadata read from `where`: refuses corrupt, foreign or newer ones. */
export function parseCheckpointMetadata(text: string, where: string): CheckpointMetadata {
  let metadata: CheckpointMetadata;
  try {
    metadata = JSON.parse(text) as CheckpointMetadata;
  } catch (e) {
    throw new WeirError("IO", `checkpoint metadata '${where}' is corrupt: ${(e as Error).message}`);
  }
  if (metadata?.format !== CHECKPOINT_FORMAT) {
    throw new WeirError("IO", `'${where}' is not Weir checkpoint metadata`);
  }
  if (metadata.version > CHECKPOINT_FORMAT_VERSION) {
    throw new WeirError(
      "IO",
      `'${where}' was written by a newer Weir (format ${metadata.version}; this one reads up to ${CHECKPOINT_FORMAT_VERSION}); restore it with a newer Weir`,
    );
  }
  return metadata;
}

/** Load `<dir>/_metadata` (or a checkpoint dir's parent job root + chk-N): refuses missing, corrupt or newer ones. */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  if (isS3Location(path)) return (await import("./s3-storage.ts")).loadS3Checkpoint(path);
  const dir = resolve(path);
  const metaPath = dir.endsWith(METADATA_FILE) ? dir : join(dir, METADATA_FILE);
  if (!existsSync(metaPath)) {
    throw new WeirError(
      "IO",
      `no checkpoint at '${dir}': '${metaPath}' does not exist; give the directory of a completed checkpoint (chk-N) or savepoint`,
    );
  }
  let text: string;
  try {
    text = await readFile(metaPath, "utf8");
  } catch (e) {
    throw new WeirError("IO", `checkpoint metadata '${metaPath}' is corrupt: ${(e as Error).message}`);
  }
  const metadata = parseCheckpointMetadata(text, metaPath);
  const checkpointDir = dirname(metaPath);
  // Relative paths start at the job root (the parent of chk-N); savepoints are self-contained.
  const root = metadata.savepoint ? checkpointDir : dirname(checkpointDir);
  return {
    root,
    path: checkpointDir,
    metadata,
    location: (relPath) => join(root, relPath),
    exists: async (relPath) => existsSync(join(root, relPath)),
    async read(relPath: string): Promise<unknown> {
      const missing = `is missing; the checkpoint at '${checkpointDir}' cannot be restored`;
      return readStateFileAt(join(root, relPath), missing);
    },
  };
}

/** The newest completed checkpoint under a job root, if any. */
export async function latestCheckpoint(jobRoot: string): Promise<string | undefined> {
  if (!existsSync(jobRoot)) return undefined;
  const ids: number[] = [];
  for (const name of await readdir(jobRoot)) {
    const m = /^chk-(\d+)$/.exec(name);
    if (m !== null && existsSync(join(jobRoot, name, METADATA_FILE))) ids.push(Number(m[1]));
  }
  if (ids.length === 0) return undefined;
  return join(jobRoot, `chk-${Math.max(...ids)}`);
}

export async function sizeOf(path: string): Promise<number> {
  return (await stat(path)).size;
}
