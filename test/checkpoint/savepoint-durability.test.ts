// The durability contract of checkpoints and savepoints, checked on a recorded file system (see
// fixtures/recording-fs.ts): a savepoint is on disk — files, _metadata and every directory entry
// fsynced — before its checkpoint is announced (the sinks commit) and before the checkpoint it
// replaces is deleted; a savepoint that cannot be written aborts its checkpoint (nothing of it is
// committed, the previous checkpoint stays); a checkpoint aborted while its metadata is written
// leaves no chk-N behind that looks complete, and a savepoint written for it is removed with it.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_CHECKPOINT_SETTINGS } from "../../src/checkpoint/checkpoint-config.ts";
import { CheckpointCoordinator, type TaskRef } from "../../src/checkpoint/coordinator.ts";
import { FsCheckpointStorage, loadCheckpoint } from "../../src/checkpoint/fs-storage.ts";
import { savepointDirectory } from "../../src/checkpoint/savepoint.ts";
import { RecordingFs } from "./fixtures/recording-fs.ts";

const TASK: TaskRef = {
  vertexId: 1,
  subtask: 0,
  operators: ["events"],
  parallelism: 1,
  maxParallelism: 128,
  isSource: true,
};

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function filesUnder(dir: string): string[] {
  const out: string[] = [dir];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** A coordinator over one source task that acknowledges every checkpoint with a state file. */
function setup(dir: string, overrides: Partial<typeof DEFAULT_CHECKPOINT_SETTINGS> = {}) {
  const fs = new RecordingFs(dir);
  const storage = new FsCheckpointStorage(join(dir, "checkpoints"), "0123abcd-job", fs);
  /** Set by a test: runs after the task's state is written, before it acknowledges. */
  const hooks: {
    beforeAck?: (id: number) => void;
    onTrigger?: (id: number, alignedOnly: boolean) => Promise<void> | undefined;
  } = {};
  let coordinator: CheckpointCoordinator;
  const ackErrors: string[] = [];
  const ack = async (id: number, alignedOnly: boolean) => {
    await hooks.onTrigger?.(id, alignedOnly);
    const { path, size } = await storage.writeTaskState(id, "1-0", {
      operators: { events: { splits: [id] } },
    });
    hooks.beforeAck?.(id);
    coordinator.acknowledge(1, 0, id, {
      subtask: 0,
      file: path,
      keyGroups: undefined,
      size,
      finished: false,
    });
  };
  coordinator = new CheckpointCoordinator(
    { ...DEFAULT_CHECKPOINT_SETTINGS, interval: 0, directory: join(dir, "checkpoints"), ...overrides },
    storage,
    { name: "durable", id: "0123abcd-job" },
    [TASK],
    () => ({}),
    {
      // A checkpoint still being written when the coordinator stops loses its directory.
      trigger: (id, _sources, alignedOnly) =>
        void ack(id, alignedOnly).catch((e: Error) => ackErrors.push(`${id}: ${e.message}`)),
      notifyComplete: (id) => fs.mark(`complete ${id}`),
      notifyAborted: (id) => fs.mark(`aborted ${id}`),
    },
    (e) => {
      throw e;
    },
  );
  const marked = (what: string) => fs.indexOf((e) => e.op === "mark" && e.path === what);
  const removed = (path: string) => fs.indexOf((e) => e.op === "remove" && e.path === path);
  return { fs, storage, coordinator, hooks, marked, removed, ackErrors };
}

describe("checkpoint and savepoint durability", () => {
  it("a savepoint is fsynced (files, _metadata, directories) before its checkpoint is announced and the one it replaces is deleted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-durable-"));
    try {
      const { fs, storage, coordinator, marked, removed, ackErrors } = setup(dir);
      coordinator.trigger(undefined);
      await waitFor(() => marked("complete 1") >= 0, "checkpoint 1");
      // Checkpoint 1: its state file and metadata, chk-1/ and the job directory itself, are on disk
      // before the sinks are told to commit.
      for (const f of filesUnder(storage.checkpointDir(1)))
        assert.equal(fs.notDurable(f, marked("complete 1")), undefined);

      const savepoint = await coordinator.triggerSavepoint(join(dir, "savepoints", "nested"));
      await waitFor(() => removed(storage.checkpointDir(1)) >= 0, "checkpoint 1 pruned");
      const files = filesUnder(savepoint);
      assert.ok(
        files.some((f) => f.endsWith("_metadata")) && files.some((f) => f.endsWith(".state")),
        `${files}`,
      );
      for (const at of [marked("complete 2"), removed(storage.checkpointDir(1))]) {
        assert.ok(at >= 0);
        for (const f of [...files, join(dir, "savepoints")]) assert.equal(fs.notDurable(f, at), undefined);
        for (const f of filesUnder(storage.checkpointDir(2))) assert.equal(fs.notDurable(f, at), undefined);
      }
      // The savepoint restores on its own.
      rmSync(storage.root, { recursive: true, force: true });
      const loaded = await loadCheckpoint(savepoint);
      assert.equal(loaded.metadata.savepoint, true);
      assert.deepEqual(await loaded.read(loaded.metadata.tasks["1"]!.subtasks[0]!.file!), {
        operators: { events: { splits: [2] } },
      });
      assert.deepEqual(ackErrors, []);
      await coordinator.stop(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a savepoint that cannot be written aborts its checkpoint: nothing of it is committed, the previous one stays", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-durable-"));
    try {
      const { storage, coordinator, marked, ackErrors } = setup(dir);
      coordinator.trigger(undefined);
      await waitFor(() => marked("complete 1") >= 0, "checkpoint 1");
      writeFileSync(join(dir, "a-file"), "not a directory");
      await assert.rejects(
        coordinator.triggerSavepoint(join(dir, "a-file", "savepoints")),
        /checkpoint 2 of job 'durable' failed: cannot write the savepoint to '.*a-file.*'/,
      );
      assert.equal(
        marked("complete 2"),
        -1,
        "the sinks were told to commit the failed savepoint's checkpoint",
      );
      assert.ok(marked("aborted 2") >= 0, "the tasks are told it was aborted");
      assert.equal(coordinator.latest?.id, 1);
      await waitFor(() => !existsSync(storage.checkpointDir(2)), "chk-2 removed");
      assert.ok(existsSync(join(storage.checkpointDir(1), "_metadata")), "chk-1 stays");
      // The job goes on checkpointing.
      coordinator.trigger(undefined);
      await waitFor(() => marked("complete 3") >= 0, "checkpoint 3");
      assert.deepEqual(ackErrors, []);
      await coordinator.stop(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a checkpoint aborted while its metadata is written leaves no chk-N that looks complete", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-durable-"));
    try {
      const { fs, storage, coordinator, hooks, removed, ackErrors } = setup(dir);
      // Hold the metadata write of checkpoint 1 at its first step (creating chk-1/).
      let acked = false;
      let release: () => void = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      let holding = false;
      hooks.beforeAck = () => {
        acked = true;
      };
      fs.before = (e) => {
        if (!acked || e.op !== "mkdir" || e.path !== storage.checkpointDir(1)) return undefined;
        holding = true;
        return held;
      };
      coordinator.trigger(undefined);
      await waitFor(() => holding, "the metadata write to start");
      // A restart aborts it now: its directory is removed before the metadata lands.
      coordinator.resetForRestart();
      await waitFor(() => removed(storage.checkpointDir(1)) >= 0, "the abort's removal");
      fs.before = undefined;
      release();
      await waitFor(
        () =>
          fs.indexOf((e) => e.op === "rename" && e.path === join(storage.checkpointDir(1), "_metadata")) >= 0,
        "the metadata rename",
      );
      await waitFor(() => !existsSync(storage.checkpointDir(1)), "chk-1 removed after its metadata landed");
      assert.equal(coordinator.latest, undefined);
      assert.deepEqual(ackErrors, []);
      await coordinator.stop(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a savepoint whose checkpoint is aborted while its metadata is written is removed with it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-durable-"));
    try {
      const { fs, storage, coordinator, marked, removed, ackErrors } = setup(dir);
      coordinator.trigger(undefined);
      await waitFor(() => marked("complete 1") >= 0, "checkpoint 1");
      const target = join(dir, "savepoints");
      const savepointDir = savepointDirectory(target, "0123abcd-job", 2);
      const checkpointMetadata = join(storage.checkpointDir(2), "_metadata");
      // Hold checkpoint 2's metadata write at its first step, once its savepoint is complete.
      let release: () => void = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      let holding = false;
      let savepointRemoval = -1;
      fs.before = (e) => {
        if (e.op === "remove" && e.path === savepointDir) savepointRemoval = fs.log.length;
        if (holding || e.op !== "mkdir" || e.path !== storage.checkpointDir(2)) return undefined;
        if (fs.indexOf((x) => x.op === "rename" && x.path === join(savepointDir, "_metadata")) < 0)
          return undefined;
        holding = true;
        return held;
      };
      const savepoint = assert.rejects(
        coordinator.triggerSavepoint(target),
        /checkpoint 2 was aborted: the job is restarting/,
      );
      await waitFor(() => holding, "checkpoint 2's metadata write");
      assert.ok(existsSync(join(savepointDir, "_metadata")), "the savepoint was written first");
      // A restart aborts the checkpoint now: the savepoint is reported failed...
      coordinator.resetForRestart();
      await savepoint;
      await waitFor(() => removed(storage.checkpointDir(2)) >= 0, "the abort's removal of chk-2");
      release();
      // ...and once the checkpoint's metadata has landed and its directory is removed again, the
      // savepoint goes too: no savepoint that looks complete for a savepoint that failed.
      const metadataLanded = () => fs.indexOf((e) => e.op === "rename" && e.path === checkpointMetadata);
      const chk2Removed = () =>
        fs.log.findLastIndex((e) => e.op === "remove" && e.path === storage.checkpointDir(2));
      await waitFor(
        () => metadataLanded() >= 0 && chk2Removed() > metadataLanded(),
        "chk-2 removed after its metadata landed",
      );
      // The savepoint's removal is asked for in the same turn as chk-2's ends.
      assert.ok(savepointRemoval > metadataLanded(), "the failed savepoint was left in place");
      await waitFor(() => !existsSync(savepointDir), "the savepoint directory removed");
      assert.equal(marked("complete 2"), -1, "the sinks were told to commit the failed savepoint");
      assert.equal(coordinator.latest?.id, 1);
      assert.deepEqual(ackErrors, []);
      await coordinator.stop(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("no periodic checkpoint starts while a savepoint is pending (none can subsume it)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-durable-"));
    try {
      const { coordinator, hooks, marked, ackErrors } = setup(dir, {
        interval: 2,
        maxConcurrentCheckpoints: 4,
      });
      const triggered: number[] = [];
      let release: () => void = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      let savepointId = 0;
      hooks.onTrigger = (id, alignedOnly) => {
        triggered.push(id);
        if (!alignedOnly) return undefined;
        savepointId = id;
        return held;
      };
      coordinator.start();
      await waitFor(() => marked("complete 2") >= 0, "periodic checkpoints");
      const savepoint = coordinator.triggerSavepoint(join(dir, "savepoints"));
      await waitFor(() => savepointId > 0, "the savepoint's trigger");
      // Many periodic intervals pass while the savepoint waits for its acknowledgement.
      for (let i = 0; i < 40; i++) await new Promise((r) => setTimeout(r, 2));
      assert.deepEqual(
        triggered.filter((id) => id > savepointId),
        [],
        "a periodic checkpoint started while the savepoint was pending",
      );
      release();
      await savepoint;
      await waitFor(() => marked(`complete ${savepointId + 1}`) >= 0, "periodic checkpoints again");
      assert.deepEqual(ackErrors, []);
      await coordinator.stop(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("every file the storage writes is durable once the write resolves (state, shared, task-owned, metadata)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-durable-"));
    try {
      const fs = new RecordingFs(dir);
      const storage = new FsCheckpointStorage(join(dir, "a", "checkpoints"), "0123abcd-job", fs);
      const written = [
        (await storage.writeTaskState(3, "1-0", { operators: {} })).path,
        (await storage.writeShared("1-0-op-kg7-chk3", { entries: [] })).path,
        (await storage.writeTaskOwned("1-0-final-0", { operators: {} })).path,
      ].map((p) => join(storage.root, p));
      await storage.writeSharedBytes("1-0-op-kg8-chk3", new Uint8Array([1, 2, 3]));
      written.push(join(storage.sharedDir, "1-0-op-kg8-chk3.kg"));
      written.push(join(await storage.writeMetadata(3, { checkpointId: 3 } as never), "_metadata"));
      for (const f of written) {
        assert.ok(existsSync(f), f);
        assert.equal(fs.notDurable(f), undefined);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
