// writeSavepoint on files of its own, without a job: it copies exactly the files the checkpoint
// references (task files and shared key-group files, not a stateless subtask's), writes metadata
// marked as a savepoint, makes its directory even for a checkpoint without files, and leaves
// nothing behind when a file cannot be copied; a failed stop-with-savepoint says what it restores.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { type CheckpointMetadata, METADATA_FILE } from "../../src/checkpoint/fs-storage.ts";
import {
  StopWithSavepointError,
  savepointDirectory,
  writeSavepoint,
} from "../../src/checkpoint/savepoint.ts";

const root = mkdtempSync(join(tmpdir(), "weir-savepoint-copy-"));

function metadata(subtasks: CheckpointMetadata["tasks"][string]["subtasks"]): CheckpointMetadata {
  return {
    format: "weir-checkpoint",
    version: 1,
    checkpointId: 7,
    savepoint: false,
    jobName: "copy",
    jobId: "0123456789abcdef",
    timestamp: 1,
    inFlightData: false,
    enumerators: {},
    tasks: { "1": { operators: ["count"], parallelism: subtasks.length, maxParallelism: 128, subtasks } },
  };
}

function file(jobRoot: string, rel: string, text: string): void {
  mkdirSync(dirname(join(jobRoot, rel)), { recursive: true });
  writeFileSync(join(jobRoot, rel), text);
}

describe("writeSavepoint", () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it("copies every referenced file, skips a subtask without state, and marks the metadata", async () => {
    const jobRoot = join(root, "job-a");
    file(jobRoot, "chk-7/task-1-0.state", "zero");
    file(jobRoot, "shared/kg-3.sst", "three");
    file(jobRoot, "chk-7/unreferenced.state", "not copied");
    const m = metadata([
      {
        subtask: 0,
        file: "chk-7/task-1-0.state",
        keyGroups: { "3": "shared/kg-3.sst" },
        size: 9,
        finished: false,
      },
      { subtask: 1, file: undefined, keyGroups: undefined, size: 0, finished: true },
    ]);
    const dir = await writeSavepoint(jobRoot, m, join(root, "target-a"));
    assert.equal(dir, savepointDirectory(join(root, "target-a"), "0123456789abcdef", 7));
    assert.match(dir, /savepoint-01234567-7$/);
    assert.equal(readFileSync(join(dir, "chk-7/task-1-0.state"), "utf8"), "zero");
    assert.equal(readFileSync(join(dir, "shared/kg-3.sst"), "utf8"), "three");
    assert.equal(existsSync(join(dir, "chk-7/unreferenced.state")), false);
    const written = JSON.parse(readFileSync(join(dir, METADATA_FILE), "utf8")) as CheckpointMetadata;
    assert.equal(written.savepoint, true);
    assert.deepEqual(
      written.tasks,
      JSON.parse(JSON.stringify(m.tasks)),
      "paths stay relative, to the savepoint's directory",
    );
    assert.equal(m.savepoint, false, "the checkpoint's own metadata is not changed");
  });

  it("a checkpoint without any file still gets its directory and metadata", async () => {
    const m = metadata([{ subtask: 0, file: undefined, keyGroups: undefined, size: 0, finished: false }]);
    const dir = await writeSavepoint(join(root, "job-b"), m, join(root, "target-b"));
    assert.equal(
      (JSON.parse(readFileSync(join(dir, METADATA_FILE), "utf8")) as CheckpointMetadata).savepoint,
      true,
    );
  });

  it("a file that cannot be copied fails the savepoint and leaves no directory of it", async () => {
    const jobRoot = join(root, "job-c");
    file(jobRoot, "chk-7/a.state", "a");
    const m = metadata([
      { subtask: 0, file: "chk-7/a.state", keyGroups: undefined, size: 1, finished: false },
      { subtask: 1, file: "chk-7/missing.state", keyGroups: undefined, size: 1, finished: false },
    ]);
    const target = join(root, "target-c");
    await assert.rejects(writeSavepoint(jobRoot, m, target), (e: Error & { code?: string }) => {
      assert.equal(e.code, "IO");
      assert.match(e.message, /cannot write the savepoint to '.*savepoint-01234567-7'/);
      return true;
    });
    assert.equal(existsSync(savepointDirectory(target, "0123456789abcdef", 7)), false);
  });

  it("a failed stop-with-savepoint says the job runs on, from its latest checkpoint if it has one", () => {
    const withCheckpoint = new StopWithSavepointError("orders", "/cp/chk-4", new Error("disk full"));
    assert.equal(
      withCheckpoint.message,
      "job 'orders' could not stop with a savepoint: disk full. Nothing of the savepoint was committed; the job kept running from its latest checkpoint, '/cp/chk-4'",
    );
    assert.equal(withCheckpoint.latestCheckpoint, "/cp/chk-4");
    const without = new StopWithSavepointError("orders", undefined, new Error("disk full"));
    assert.match(without.message, /the job kept running \(no checkpoint of it had completed yet\)$/);
  });
});
