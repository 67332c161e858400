// Directory durability of the local checkpoint storage (src/checkpoint/fs-storage.ts), recorded
// through its DurableFs: a directory created with missing parents has each new one synced in its
// parent, outermost first, and nothing is synced when the directory already exists; a savepoint
// directory is discarded through the storage's fs, whole, and a failed removal never throws.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  type DurableFs,
  FsCheckpointStorage,
  makeDirectoryDurable,
  nodeDurableFs,
} from "../../src/checkpoint/fs-storage.ts";

const root = mkdtempSync(join(tmpdir(), "weir-dir-durability-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** nodeDurableFs, with its directory syncs and removals recorded. */
function recording(overrides: Partial<DurableFs> = {}): DurableFs & { synced: string[]; removed: string[] } {
  const synced: string[] = [];
  const removed: string[] = [];
  return {
    ...nodeDurableFs,
    synced,
    removed,
    async syncDirectory(dir) {
      synced.push(dir);
      await nodeDurableFs.syncDirectory(dir);
    },
    async remove(path) {
      removed.push(path);
      await nodeDurableFs.remove(path);
    },
    ...overrides,
  };
}

describe("directory durability", () => {
  it("each directory created is synced in its parent, outermost first", async () => {
    const fs = recording();
    const dir = join(root, "a", "b", "c");
    await makeDirectoryDurable(fs, dir);
    assert.ok(existsSync(dir));
    assert.deepEqual(fs.synced, [root, join(root, "a"), join(root, "a", "b")]);
  });

  it("only the directories that did not exist are synced", async () => {
    mkdirSync(join(root, "p"));
    const fs = recording();
    await makeDirectoryDurable(fs, join(root, "p", "q"));
    assert.deepEqual(fs.synced, [join(root, "p")]);
  });

  it("a directory that exists already: nothing is synced", async () => {
    mkdirSync(join(root, "there"));
    const fs = recording();
    await makeDirectoryDurable(fs, join(root, "there"));
    await makeDirectoryDurable(fs, `${join(root, "there")}/`);
    assert.deepEqual(fs.synced, []);
  });

  it('a path through ".." is made durable at its resolved place', async () => {
    const fs = recording();
    const rel = join(root, "r", "..", "r2", "s");
    await makeDirectoryDurable(fs, rel);
    assert.deepEqual(fs.synced, [root, join(root, "r2")]);
  });
});

describe("discarding a savepoint directory", () => {
  it("removes it whole through the storage's fs; the checkpoints stay", async () => {
    const fs = recording();
    const storage = new FsCheckpointStorage(join(root, "cps"), "job", fs);
    await storage.writeTaskState(1, "1-0", { n: 1 });
    const sp = join(root, "savepoints", "savepoint-job-1");
    mkdirSync(join(sp, "chk-1"), { recursive: true });
    writeFileSync(join(sp, "_metadata"), "{}");
    writeFileSync(join(sp, "chk-1", "1-0.state"), "x");
    await storage.discardSavepoint(sp);
    assert.equal(existsSync(sp), false);
    assert.deepEqual(fs.removed, [sp]);
    assert.ok(existsSync(join(storage.root, "chk-1", "1-0.state")));
    await storage.discardSavepoint(sp); // already gone: no error
  });

  it("a removal that fails does not throw", async () => {
    const fs = recording({ remove: async () => Promise.reject(new Error("EBUSY")) });
    const storage = new FsCheckpointStorage(join(root, "cps2"), "job", fs);
    await storage.discardSavepoint(join(root, "anything"));
  });
});
