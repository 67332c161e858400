// Checkpoint storage on S3-compatible object storage, with the layout of the local one
// (fs-storage.ts) under `s3://bucket/prefix/<job id>/`. An S3 PUT is atomic (the object appears
// whole or not at all) and reads after writes are consistent, so files need no temporary name;
// what makes a checkpoint complete is the same: `chk-N/_metadata`, put only after every file of
// the checkpoint has been put. A checkpoint without it is not complete and is never restored.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { WeirError } from "../core/errors.ts";
import type { CheckpointStorage } from "./checkpoint-storage.ts";
import {
  type CheckpointMetadata,
  type LoadedCheckpoint,
  makeDirectoryDurable,
  METADATA_FILE,
  nodeDurableFs,
  parseCheckpointMetadata,
  savepointFiles,
  writeAtomically,
} from "./fs-storage.ts";
import {
  formatS3Location,
  isS3Location,
  joinKey,
  parentKey,
  parseS3Location,
  type S3ConnectionOptions,
} from "./s3-location.ts";
import { S3ObjectStore } from "./s3-object-store.ts";
import { savepointDirectory } from "./savepoint.ts";
import { decodeStateBytes } from "./indexed-state-file.ts";
import { CorruptStateError, encodeStateFile } from "./state-file.ts";

export class S3CheckpointStorage implements CheckpointStorage {
  readonly root: string;
  private readonly store: S3ObjectStore;
  /** The job root's key. */
  private readonly rootKey: string;

  constructor(
    location: string,
    jobId: string,
    private readonly options: S3ConnectionOptions = {},
  ) {
    const { bucket, key } = parseS3Location(location);
    this.store = new S3ObjectStore(bucket, options);
    this.rootKey = joinKey(key, jobId);
    this.root = formatS3Location(bucket, this.rootKey);
  }

  checkpointDir(id: number): string {
    return `${this.root}/chk-${id}`;
  }

  private async putFile(rel: string, bytes: Uint8Array | string): Promise<void> {
    await this.store.put(joinKey(this.rootKey, rel), bytes);
  }

  async writeTaskState(id: number, name: string, value: unknown): Promise<{ path: string; size: number }> {
    const bytes = encodeStateFile(value);
    const path = `chk-${id}/${name}.state`;
    await this.putFile(path, bytes);
    return { path, size: bytes.length };
  }

  async writeShared(name: string, value: unknown): Promise<{ path: string; size: number }> {
    const bytes = encodeStateFile(value);
    const path = `shared/${name}.kg`;
    await this.putFile(path, bytes);
    return { path, size: bytes.length };
  }

  async writeSharedBytes(name: string, bytes: Uint8Array): Promise<void> {
    await this.putFile(`shared/${name}.kg`, bytes);
  }

  async writeTaskOwned(name: string, value: unknown): Promise<{ path: string; size: number }> {
    const bytes = encodeStateFile(value);
    const path = `taskowned/${name}.state`;
    await this.putFile(path, bytes);
    return { path, size: bytes.length };
  }

  async writeMetadata(id: number, metadata: CheckpointMetadata): Promise<string> {
    await this.putFile(`chk-${id}/${METADATA_FILE}`, JSON.stringify(metadata, null, 1));
    return this.checkpointDir(id);
  }

  async writeSavepoint(metadata: CheckpointMetadata, targetDir: string): Promise<string> {
    return writeSavepointFrom(
      async (rel) => {
        const bytes = await this.store.get(joinKey(this.rootKey, rel));
        if (bytes === undefined) throw new Error(`'${this.root}/${rel}' is missing`);
        return bytes;
      },
      metadata,
      targetDir,
      this.options,
    );
  }

  async discardSavepoint(location: string): Promise<void> {
    await discardSavepointAt(location, this.options);
  }

  /** Its `_metadata` goes first: a crash mid-removal never leaves it looking complete without its files. */
  async discardCheckpoint(id: number): Promise<void> {
    const dir = joinKey(this.rootKey, `chk-${id}`);
    await quietly(() => this.store.delete(joinKey(dir, METADATA_FILE)));
    await quietly(() => this.store.deletePrefix(`${dir}/`));
  }

  async deleteShared(relPath: string): Promise<void> {
    await quietly(() => this.store.delete(joinKey(this.rootKey, relPath)));
  }

  async deleteFile(relPath: string): Promise<void> {
    await quietly(() => this.store.delete(joinKey(this.rootKey, relPath)));
  }

  /** Every `_metadata` goes first (see FsCheckpointStorage.deleteAll), then everything else. */
  async deleteAll(): Promise<void> {
    await quietly(async () => {
      const prefix = `${this.rootKey}/`;
      const metadata = (await this.store.list(prefix)).filter((k) =>
        /^chk-\d+\/_metadata$/.test(k.slice(prefix.length)),
      );
      await Promise.all(metadata.map((k) => this.store.delete(k)));
    });
    await quietly(() => this.store.deletePrefix(`${this.rootKey}/`));
  }
}

async function quietly(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch {
    // Removal is best effort: what is left is unreferenced and never restored.
  }
}

/**
 * Write a savepoint of `metadata` under `targetDir` (a directory or an s3:// location), reading
 * each file it references with `read` (paths relative to the checkpoint's job root): every file
 * first, `_metadata` last; on failure what was written is removed and it rejects.
 */
export async function writeSavepointFrom(
  read: (relPath: string) => Promise<Uint8Array>,
  metadata: CheckpointMetadata,
  targetDir: string,
  options: S3ConnectionOptions = {},
): Promise<string> {
  const copy: CheckpointMetadata = JSON.parse(JSON.stringify(metadata)) as CheckpointMetadata;
  copy.savepoint = true;
  const files = savepointFiles(copy);
  const meta = JSON.stringify(copy, null, 1);
  if (isS3Location(targetDir)) {
    const { bucket, key } = parseS3Location(targetDir);
    const dirKey = joinKey(key, `savepoint-${metadata.jobId.slice(0, 8)}-${metadata.checkpointId}`);
    const dir = formatS3Location(bucket, dirKey);
    const store = new S3ObjectStore(bucket, options);
    try {
      for (const f of files) await store.put(joinKey(dirKey, f), await read(f));
      await store.put(joinKey(dirKey, METADATA_FILE), meta);
    } catch (e) {
      await quietly(() => store.deletePrefix(`${dirKey}/`));
      throw new WeirError(
        "IO",
        `cannot write the savepoint to '${dir}': ${(e as Error).message}; check that the bucket exists and can be written`,
      );
    }
    return dir;
  }
  const dir = savepointDirectory(targetDir, metadata.jobId, metadata.checkpointId);
  try {
    await makeDirectoryDurable(nodeDurableFs, dir);
    for (const f of files) await writeAtomically(nodeDurableFs, join(dir, f), await read(f));
    await writeAtomically(nodeDurableFs, join(dir, METADATA_FILE), meta);
  } catch (e) {
    await nodeDurableFs.remove(dir).catch(() => {});
    throw new WeirError(
      "IO",
      `cannot write the savepoint to '${dir}': ${(e as Error).message}; check that the directory can be created and written, and has room`,
    );
  }
  return dir;
}

/** A savepoint of a local checkpoint written to S3. */
export function writeSavepointFromDirectory(
  jobRoot: string,
  metadata: CheckpointMetadata,
  targetDir: string,
): Promise<string> {
  return writeSavepointFrom((rel) => readFile(join(jobRoot, rel)), metadata, targetDir);
}

/** Remove a savepoint (a directory or an s3:// location); never throws. */
export async function discardSavepointAt(location: string, options: S3ConnectionOptions = {}): Promise<void> {
  if (!isS3Location(location)) {
    await nodeDurableFs.remove(location).catch(() => {});
    return;
  }
  const { bucket, key } = parseS3Location(location);
  await quietly(() => new S3ObjectStore(bucket, options).deletePrefix(`${key}/`));
}

/** Load a completed checkpoint or savepoint from `s3://bucket/…/chk-N` (or `…/savepoint-…`, or its `_metadata`). */
export async function loadS3Checkpoint(
  location: string,
  options: S3ConnectionOptions = {},
): Promise<LoadedCheckpoint> {
  const { bucket, key } = parseS3Location(location);
  const store = new S3ObjectStore(bucket, options);
  const dirKey = key.endsWith(`/${METADATA_FILE}`) ? parentKey(key) : key;
  const metaKey = joinKey(dirKey, METADATA_FILE);
  const metaPath = formatS3Location(bucket, metaKey);
  const checkpointDir = formatS3Location(bucket, dirKey);
  const text = await store.get(metaKey);
  if (text === undefined) {
    throw new WeirError(
      "IO",
      `no checkpoint at '${checkpointDir}': '${metaPath}' does not exist; give the location of a completed checkpoint (chk-N) or savepoint`,
    );
  }
  const metadata = parseCheckpointMetadata(new TextDecoder().decode(text), metaPath);
  const rootKey = metadata.savepoint ? dirKey : parentKey(dirKey);
  const root = formatS3Location(bucket, rootKey);
  return {
    root,
    path: checkpointDir,
    metadata,
    location: (rel) => formatS3Location(bucket, joinKey(rootKey, rel)),
    exists: (rel) => store.exists(joinKey(rootKey, rel)),
    async read(relPath: string): Promise<unknown> {
      const where = formatS3Location(bucket, joinKey(rootKey, relPath));
      const bytes = await store.get(joinKey(rootKey, relPath));
      if (bytes === undefined) {
        throw new CorruptStateError(
          where,
          `is missing; the checkpoint at '${checkpointDir}' cannot be restored`,
        );
      }
      return decodeStateBytes(bytes, where);
    },
  };
}

/** The newest completed checkpoint (one with its _metadata) under an S3 job root, if any. */
export async function latestS3Checkpoint(
  jobRoot: string,
  options: S3ConnectionOptions = {},
): Promise<string | undefined> {
  const { bucket, key } = parseS3Location(jobRoot);
  const ids: number[] = [];
  for (const k of await new S3ObjectStore(bucket, options).list(`${key}/`)) {
    const m = /^chk-(\d+)\/_metadata$/.exec(k.slice(key.length + 1));
    if (m !== null) ids.push(Number(m[1]));
  }
  if (ids.length === 0) return undefined;
  return formatS3Location(bucket, joinKey(key, `chk-${Math.max(...ids)}`));
}
