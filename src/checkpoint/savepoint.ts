// Savepoints: a completed checkpoint copied into a directory of its own, with every file it
// references (task state, shared key-group files, finished tasks' state) and metadata whose paths
// are relative to that directory. Self-contained and backend-independent (state files hold
// entries, not a store's files), so it outlives the job's checkpoints and restores anywhere.

import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { WeirError } from "../core/errors.ts";
import { type CheckpointMetadata, METADATA_FILE } from "./fs-storage.ts";

export async function writeSavepoint(
  jobRoot: string,
  metadata: CheckpointMetadata,
  targetDir: string,
): Promise<string> {
  const dir = resolve(targetDir, `savepoint-${metadata.jobId.slice(0, 8)}-${metadata.checkpointId}`);
  try {
    await mkdir(dir, { recursive: true });
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
    for (const f of files) {
      const to = join(dir, f);
      await mkdir(dirname(to), { recursive: true });
      await copyFile(join(jobRoot, f), to);
    }
    await writeFile(join(dir, `${METADATA_FILE}.tmp`), JSON.stringify(copy, null, 1));
    const { rename } = await import("node:fs/promises");
    await rename(join(dir, `${METADATA_FILE}.tmp`), join(dir, METADATA_FILE));
  } catch (e) {
    throw new WeirError("IO", `cannot write the savepoint to '${dir}': ${(e as Error).message}`);
  }
  return dir;
}
