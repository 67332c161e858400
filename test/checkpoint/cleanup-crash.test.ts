// A process killed while it removes checkpoints (pruning an old one, or deleting every one when
// its job finished) must never leave a checkpoint that looks complete (chk-N/_metadata) while a
// file it references is gone: a restore from it would fail on the missing file. The file-system
// operations are counted and the "kill" lands after every possible number of them, with the
// directory entries removed in either order (the order of `rm -r` depends on the file system).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  type CheckpointMetadata,
  type DurableFs,
  FsCheckpointStorage,
  loadCheckpoint,
  METADATA_FILE,
  nodeDurableFs,
  savepointFiles,
} from "../../src/checkpoint/fs-storage.ts";

const base = mkdtempSync(join(tmpdir(), "weir-cleanup-crash-"));
after(() => rmSync(base, { recursive: true, force: true }));

class Killed extends Error {}

/**
 * nodeDurableFs, except that a directory tree is removed one entry at a time (children in
 * `order`), and that every operation after the first `budget` fails: the process is gone.
 */
function killableFs(budget: number, order: "ascending" | "descending"): DurableFs & { ops: number } {
  const fs = {
    ops: 0,
    step(): void {
      if (fs.ops >= budget) throw new Killed("killed");
      fs.ops++;
    },
    async mkdir(dir: string) {
      fs.step();
      return nodeDurableFs.mkdir(dir);
    },
    async writeFileSynced(path: string, bytes: Uint8Array | string) {
      fs.step();
      return nodeDurableFs.writeFileSynced(path, bytes);
    },
    async copyFileSynced(from: string, to: string) {
      fs.step();
      return nodeDurableFs.copyFileSynced(from, to);
    },
    async rename(from: string, to: string) {
      fs.step();
      return nodeDurableFs.rename(from, to);
    },
    async syncDirectory(dir: string) {
      fs.step();
      return nodeDurableFs.syncDirectory(dir);
    },
    async remove(path: string) {
      const removeTree = (p: string) => {
        if (!existsSync(p)) return;
        if (statSync(p).isDirectory()) {
          const names = readdirSync(p).sort();
          if (order === "descending") names.reverse();
          for (const n of names) removeTree(join(p, n));
          fs.step();
          rmdirSync(p);
        } else {
          fs.step();
          unlinkSync(p);
        }
      };
      removeTree(path);
    },
  };
  return fs;
}

function task(file: string | undefined, keyGroups?: Record<string, string>) {
  return {
    operators: ["op"],
    parallelism: 1,
    maxParallelism: 128,
    subtasks: [{ subtask: 0, file, keyGroups, size: 1, finished: false }],
  };
}

function metadata(id: number, tasks: CheckpointMetadata["tasks"]): CheckpointMetadata {
  return {
    format: "weir-checkpoint",
    version: 1,
    checkpointId: id,
    savepoint: false,
    jobName: "cleanup",
    jobId: "job",
    timestamp: 0,
    tasks,
    enumerators: {},
  };
}

let n = 0;
/**
 * A job root as a running job leaves it: chk-1 and chk-2 (the final checkpoint) complete, each with
 * its own state file; both reference a shared key-group file; chk-2 references a finished task's
 * state in taskowned/. Returns the directory it is under.
 */
async function jobRoot(): Promise<string> {
  const dir = join(base, `run-${n++}`);
  const s = new FsCheckpointStorage(dir, "job");
  const shared = await s.writeShared("kg-7", { count: 1 });
  const one = await s.writeTaskState(1, "v1-s0", { count: 1 });
  await s.writeMetadata(1, metadata(1, { "1": task(one.path, { "7": shared.path }) }));
  const two = await s.writeTaskState(2, "v1-s0", { count: 2 });
  const owned = await s.writeTaskOwned("v2-s0-final", { done: true });
  await s.writeMetadata(2, metadata(2, { "1": task(two.path, { "7": shared.path }), "2": task(owned.path) }));
  return dir;
}

/** Every checkpoint under `root` that looks complete can be restored: all its files are there. */
async function assertNoBrokenCheckpoint(root: string, what: string): Promise<number> {
  if (!existsSync(root)) return 0;
  let complete = 0;
  for (const name of readdirSync(root)) {
    if (!/^chk-\d+$/.test(name) || !existsSync(join(root, name, METADATA_FILE))) continue;
    complete++;
    const cp = await loadCheckpoint(join(root, name));
    for (const f of savepointFiles(cp.metadata)) {
      assert.ok(existsSync(join(root, f)), `${what}: ${name} looks complete but its file ${f} is gone`);
    }
  }
  return complete;
}

/** Runs `removal` on a fresh job root with a kill after every possible number of operations. */
async function killAtEveryStep(
  removal: (s: FsCheckpointStorage) => Promise<void>,
  check: (root: string, killedAfter: number | undefined) => Promise<void>,
): Promise<void> {
  for (const order of ["ascending", "descending"] as const) {
    for (let budget = 0; ; budget++) {
      const dir = await jobRoot();
      const fs = killableFs(budget, order);
      const storage = new FsCheckpointStorage(dir, "job", fs);
      await removal(storage).catch((e) => {
        if (!(e instanceof Killed)) throw e;
      });
      const finished = fs.ops < budget;
      await check(storage.root, finished ? undefined : budget);
      await assertNoBrokenCheckpoint(storage.root, `killed after ${budget} operations (${order})`);
      if (finished) break;
    }
  }
}

describe("checkpoint removal killed at every step", () => {
  it("deleting a finished job's checkpoints leaves none that looks complete without its files", async () => {
    await killAtEveryStep(
      (s) => s.deleteAll(),
      async (root, killedAfter) => {
        if (killedAfter === undefined) assert.ok(!existsSync(root), "every checkpoint is gone");
      },
    );
  });

  it("pruning an old checkpoint never breaks it half-way, and leaves the newer one whole", async () => {
    await killAtEveryStep(
      (s) => s.discardCheckpoint(1),
      async (root, killedAfter) => {
        assert.ok(existsSync(join(root, "chk-2", METADATA_FILE)), "chk-2 stays complete");
        if (killedAfter === undefined) assert.ok(!existsSync(join(root, "chk-1")), "chk-1 is gone");
      },
    );
  });
});
