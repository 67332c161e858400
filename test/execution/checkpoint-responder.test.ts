// A task's checkpoint responder (src/execution/task-deployment.ts) reports to the coordinator in
// the order the task took its snapshots: an acknowledgement whose state is still being written
// when the task finishes goes out before the task's final state. The coordinator counts a final
// state in every checkpoint still waiting for the task; reported first, it would stand in for a
// checkpoint whose barrier the task had already passed (seen in CI as a double completion that
// removed the latest checkpoint: coordinator-edges.test.ts). Real file-system storage; the
// checkpoint's state file is held at its rename.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type DurableFs, FsCheckpointStorage, nodeDurableFs } from "../../src/checkpoint/fs-storage.ts";
import { type CheckpointHooks, checkpointResponder } from "../../src/execution/task-deployment.ts";

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
    ["op"],
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
});
