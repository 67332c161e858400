// Edges of the file-system checkpoint storage: a directory fsync the file system does not support
// is not an error, a removal that keeps failing is given up after five tries (never retried
// forever), and a savepoint copies each subtask's state file as well as its key-group files.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  type CheckpointMetadata,
  type DurableFs,
  FsCheckpointStorage,
  nodeDurableFs,
  savepointFiles,
} from "../../src/checkpoint/fs-storage.ts";

describe("FsCheckpointStorage edges", () => {
  it("treats EINVAL from a directory fsync as unsupported, and still throws other errors", {
    skip: process.platform !== "linux" && "procfs (fsync gives EINVAL) is Linux-only",
  }, async () => {
    // procfs directories cannot be fsynced: the kernel answers EINVAL.
    await nodeDurableFs.syncDirectory("/proc");
    await assert.rejects(nodeDurableFs.syncDirectory(join(tmpdir(), "weir-no-such-dir-for-sync")), {
      code: "ENOENT",
    });
  });

  it("gives up removing a checkpoint directory after five failed tries", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-fs-edges-"));
    try {
      let removes = 0;
      const failing: DurableFs = {
        ...nodeDurableFs,
        async remove() {
          removes++;
          // Only a sixth or later try would succeed: the storage must have stopped before.
          if (removes < 7) throw new Error("EBUSY (test)");
        },
      };
      const storage = new FsCheckpointStorage(dir, "job", failing);
      await storage.discardCheckpoint(3);
      assert.equal(removes, 5);
      removes = 0;
      await storage.deleteFile("chk-3/x.state");
      assert.equal(removes, 5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("savepointFiles lists each subtask's state file and its key-group files", () => {
    const subtask = (subtask: number, file: string | undefined, keyGroups?: Record<string, string>) => ({
      subtask,
      file,
      keyGroups,
      size: 1,
      finished: false,
    });
    const metadata: CheckpointMetadata = {
      format: "weir-checkpoint",
      version: 1,
      checkpointId: 4,
      savepoint: false,
      jobName: "j",
      jobId: "job",
      timestamp: 0,
      enumerators: {},
      tasks: {
        a: {
          operators: ["a"],
          parallelism: 2,
          maxParallelism: 8,
          subtasks: [subtask(0, "chk-4/a-0.state"), subtask(1, undefined)],
        },
        b: {
          operators: ["b"],
          parallelism: 1,
          maxParallelism: 8,
          subtasks: [subtask(0, "chk-4/b-0.state", { 0: "shared/b-0.kg", 1: "shared/b-1.kg" })],
        },
      },
    };
    assert.deepEqual([...savepointFiles(metadata)].sort(), [
      "chk-4/a-0.state",
      "chk-4/b-0.state",
      "shared/b-0.kg",
      "shared/b-1.kg",
    ]);
  });
});
