// A task's checkpoint responder (src/execution/task-deployment.ts) reports to the coordinator in
// the order the task took its snapshots: an acknowledgement whose state is still being written
// when the task finishes goes out before the task's final state. The coordinator counts a final
// state in every checkpoint still waiting for the task; reported first, it would stand in for a
// checkpoint whose barrier the task had already passed (seen in CI as a double completion that
// removed the latest checkpoint: coordinator-edges.test.ts). Real file-system storage; the
// checkpoint's state file is held at its rename.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  type DurableFs,
  FsCheckpointStorage,
  nodeDurableFs,
  type SubtaskStateHandle,
} from "../../src/checkpoint/fs-storage.ts";
import { type CheckpointHooks, checkpointResponder } from "../../src/execution/task-deployment.ts";
import { ValueStateDescriptor } from "../../src/index.ts";
import type { TaskSnapshot } from "../../src/runtime/snapshot.ts";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { createKeyedStateBackend } from "../../src/state/index.ts";
import { readStateFileAt } from "../../src/checkpoint/indexed-state-file.ts";

const root = mkdtempSync(join(tmpdir(), "weir-responder-"));
after(() => rmSync(root, { recursive: true, force: true }));

function setup(incremental: boolean, failCheckpointWrite = false) {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  let holding = false;
  const fs: DurableFs = {
    ...nodeDurableFs,
    rename: async (from, to) => {
      if (to.includes("chk-7")) {
        holding = true;
        await held;
        if (failCheckpointWrite) throw new Error("disk full");
      }
      return nodeDurableFs.rename(from, to);
    },
  };
  const events: string[] = [];
  const hooks: CheckpointHooks = {
    acknowledge: (_v, _s, id) => void events.push(`ack ${id}`),
    decline: (id) => void events.push(`decline ${id}`),
    finished: (_v, _s, h, error) =>
      void events.push(error === undefined && h.finished ? "finished" : `finished: ${error}`),
  };
  const storage = new FsCheckpointStorage(root, `job-${incremental}-${failCheckpointWrite}`, fs);
  const responder = checkpointResponder(
    { exactlyOnce: true, unaligned: false, alignedTimeout: 0, incremental, storage, hooks },
    1,
    0,
    0,
  );
  return { responder, events, release, holding: () => holding };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("a task's checkpoint responder", () => {
  for (const incremental of [false, true]) {
    it(`reports a checkpoint still being written before the task's final state (${incremental ? "incremental" : "full"})`, async () => {
      const s = setup(incremental);
      s.responder.acknowledge(7, { operators: {} });
      await until(s.holding, "the checkpoint's state file is being written");
      s.responder.finished({ operators: {} });
      await new Promise((r) => setTimeout(r, 200)); // the final state's file is written meanwhile
      assert.deepEqual(s.events, [], "nothing is reported while the checkpoint's state is held");
      s.release();
      await until(() => s.events.length === 2, "both reports");
      assert.deepEqual(s.events, ["ack 7", "finished"]);
    });
  }

  it("a checkpoint whose state could not be written is declined before the final state goes out", async () => {
    const s = setup(false, true);
    s.responder.acknowledge(7, { operators: {} });
    await until(s.holding, "the checkpoint's state file is being written");
    s.responder.finished({ operators: {} });
    await new Promise((r) => setTimeout(r, 200));
    s.release();
    await until(() => s.events.length === 2, "both reports");
    assert.deepEqual(s.events, ["decline 7", "finished"]);
  });

  it("with nothing pending, the final state goes out on its own", async () => {
    const s = setup(false);
    s.responder.finished({ operators: {} });
    await until(() => s.events.length === 1, "the report");
    assert.deepEqual(s.events, ["finished"]);
  });

  it("incremental: a key-group file whose write failed is never referenced by a later checkpoint", async () => {
    // Checkpoint 8 starts while 7's key-group file is being written, and its key group did not
    // change: it would reference 7's file. That write fails (7 is declined): 8 must not be
    // acknowledged with a file that does not exist; 9, after both, writes the group again.
    let failWrite: () => void = () => {};
    const failing = new Promise<void>((r) => {
      failWrite = r;
    });
    const fs: DurableFs = {
      ...nodeDurableFs,
      rename: async (from, to) => {
        if (to.endsWith("-chk7.kg")) {
          await failing;
          throw new Error("disk full");
        }
        return nodeDurableFs.rename(from, to);
      },
    };
    const handles = new Map<number, SubtaskStateHandle>();
    const events: string[] = [];
    const storage = new FsCheckpointStorage(root, "job-incremental-failed-write", fs);
    const responder = checkpointResponder(
      {
        exactlyOnce: true,
        unaligned: false,
        alignedTimeout: 0,
        incremental: true,
        storage,
        hooks: {
          acknowledge: (_v, _s, id, h) => {
            handles.set(id, h);
            events.push(`ack ${id}`);
          },
          decline: (id) => void events.push(`decline ${id}`),
          finished: () => void events.push("finished"),
        },
      },
      1,
      0,
      0,
    );
    const backend = createKeyedStateBackend("heap", { start: 0, end: 7 }, { maxParallelism: 8 });
    const n = backend.getState(new ValueStateDescriptor<number>("n"));
    backend.setCurrentKey("k", assignToKeyGroup("k", 8));
    n.update(1);
    const snapshot = (): TaskSnapshot => ({
      operators: { op: { keyedState: { state: backend.snapshot(), timers: [] } } },
    });
    responder.acknowledge(7, snapshot());
    responder.acknowledge(8, snapshot());
    await new Promise((r) => setTimeout(r, 100));
    failWrite();
    await until(() => events.length === 2, "checkpoints 7 and 8 answered");
    responder.acknowledge(9, snapshot());
    await until(() => events.length === 3, "checkpoint 9 answered");
    assert.ok(events.includes("decline 7"), events.join(", "));
    assert.equal(events.at(-1), "ack 9");
    backend.dispose();
    assert.equal(
      Object.keys(handles.get(9)!.keyGroups ?? {}).length,
      1,
      "checkpoint 9 has the key group's file",
    );
    for (const [id, h] of handles) {
      for (const f of Object.values(h.keyGroups ?? {}))
        assert.ok(existsSync(join(storage.root, f)), `checkpoint ${id} references ${f}, which exists`);
    }
  });

  for (const incremental of [false, true]) {
    it(`a sink's asynchronous pre-commit is in the task's state file (${incremental ? "incremental" : "full"})`, async () => {
      // A two-phase-commit sink's prepareCommit resolves after the barrier (pendingCustom): the
      // writer awaits it into the state, or a restore would lose the transaction to commit.
      const storage = new FsCheckpointStorage(root, `job-pending-custom-${incremental}`);
      const handles: SubtaskStateHandle[] = [];
      const declines: string[] = [];
      const responder = checkpointResponder(
        {
          exactlyOnce: true,
          unaligned: false,
          alignedTimeout: 0,
          incremental,
          storage,
          hooks: {
            acknowledge: (_v, _s, _id, h) => void handles.push(h),
            decline: (id, reason) => void declines.push(`declined ${id}: ${reason}`),
            finished: () => {},
          },
        },
        1,
        0,
        0,
      );
      const backend = createKeyedStateBackend("heap", { start: 0, end: 7 }, { maxParallelism: 8 });
      backend.getState(new ValueStateDescriptor<number>("n"));
      backend.setCurrentKey("k", assignToKeyGroup("k", 8));
      backend.getState(new ValueStateDescriptor<number>("n")).update(1);
      const snapshot: TaskSnapshot = {
        operators: {
          op: { keyedState: { state: backend.snapshot(), timers: [] } },
          sink: { pendingCustom: new Promise((r) => setTimeout(() => r({ txn: "t-3" }), 20)) },
        },
      };
      responder.acknowledge(3, snapshot);
      await until(() => handles.length + declines.length === 1, "the answer");
      backend.dispose();
      assert.deepEqual(declines, []);
      const state = (await readStateFileAt(
        join(storage.root, handles[0]!.file!),
        "is missing",
      )) as TaskSnapshot;
      assert.deepEqual(state.operators.sink?.custom, { txn: "t-3" });
      assert.equal(state.operators.sink?.pendingCustom, undefined);
    });
  }
});
