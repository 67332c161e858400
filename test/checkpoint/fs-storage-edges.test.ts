// Edges of the file-system checkpoint storage: a directory fsync the file system does not support
// is not an error, a removal that keeps failing is given up after five tries (never retried
// forever), and a savepoint copies each subtask's state file as well as its key-group files.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
import { decodeStateFile } from "../../src/checkpoint/state-file.ts";

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

  it("writes a task state whose encoded key groups are far larger than the default buffer, byte for byte", async () => {
    // The state file's buffer is sized from the key groups' bytes; whatever the sizes, what is
    // read back is what was written (groups of 0 bytes, a few, many times 4 KiB; thousands of groups of a few bytes).
    const dir = mkdtempSync(join(tmpdir(), "weir-fs-edges-"));
    try {
      const storage = new FsCheckpointStorage(dir, "job");
      const group = (n: number, seed: number) =>
        Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
      const snapshot = {
        operators: {
          big: {
            keyGroups: [
              [3, group(40_000, 1)],
              [5, group(9_000, 2)],
              [7, group(0, 3)],
            ],
          },
          small: { keyGroups: [[0, group(10, 4)]], custom: { n: 1 } },
          // A group in its decoded form (the snapshot's object, as older state files held it).
          decoded: { keyGroups: [[1, { entries: [["v", null, "k", 7]], timers: [] }]] },
          none: {},
        },
      };
      const { path, size } = await storage.writeTaskState(2, "1-0", snapshot);
      const bytes = readFileSync(join(storage.root, path));
      assert.equal(size, bytes.length);
      assert.ok(size > 49_000, "the groups are in the file");
      assert.deepEqual(decodeStateFile(bytes, path), snapshot);
      const owned = await storage.writeTaskOwned("1-0-final-0", snapshot);
      assert.deepEqual(decodeStateFile(readFileSync(join(storage.root, owned.path)), owned.path), snapshot);
      // Many small groups (max parallelism 4096 at p=1, a few bytes of state in each).
      const many = {
        operators: { keyed: { keyGroups: Array.from({ length: 4096 }, (_, kg) => [kg, group(kg % 9, kg)]) } },
      };
      const m = await storage.writeTaskState(3, "1-0", many);
      assert.deepEqual(decodeStateFile(readFileSync(join(storage.root, m.path)), m.path), many);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
