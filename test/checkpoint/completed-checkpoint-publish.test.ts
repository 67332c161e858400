// Publishing completed checkpoints (what high availability keeps: the latest checkpoint's pointer,
// written fenced by the JobManager's leadership): a checkpoint is published after its metadata is
// written and before any task is told (so nothing is committed that a new leader would not restore
// from); when publishing is refused (a deposed leader), the checkpoint does not complete: no task
// is told, nothing is pruned, and its files stay (a new leader may write a checkpoint of that id).

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { NotLeaderError } from "../../src/cluster/ha/ha-stores.ts";
import { harness, SINK, SOURCE, until } from "../harness/coordinator-harness.ts";

describe("checkpoint coordinator: publishing completed checkpoints", () => {
  it("publishes each checkpoint, metadata written, before the tasks are told", async (t) => {
    const events: string[] = [];
    let h: ReturnType<typeof harness> | undefined;
    h = harness(t, {}, [SOURCE, SINK], undefined, async (c) => {
      events.push(
        `publish ${c.id} metadata=${existsSync(join(c.path, "_metadata"))} told=${h!.completed.length}`,
      );
    });
    h.coordinator.start();
    t.mock.timers.tick(100);
    await h.ack(SOURCE, 1);
    await h.ack(SINK, 1);
    await until(() => h!.completed.includes(1), "checkpoint 1 completes");
    assert.deepEqual(events, ["publish 1 metadata=true told=0"]);
    assert.equal(h.coordinator.latest?.id, 1);
  });

  it("a refused publish: not told, not the latest, nothing pruned or removed", async (t) => {
    let refuse = false;
    const h = harness(t, { retainedCheckpoints: 1 }, [SOURCE, SINK], undefined, async (c) => {
      if (refuse) throw new NotLeaderError(`publishing checkpoint ${c.id} of job job`);
    });
    h.coordinator.start();
    t.mock.timers.tick(100);
    await h.ack(SOURCE, 1);
    await h.ack(SINK, 1);
    await until(() => h.completed.includes(1), "checkpoint 1 completes");
    refuse = true;
    t.mock.timers.tick(100);
    assert.deepEqual(h.triggered, [1, 2]);
    await h.ack(SOURCE, 2);
    await h.ack(SINK, 2);
    await until(() => h.aborted.includes(2), "checkpoint 2 is aborted");
    assert.deepEqual(h.completed, [1], "no task is told of checkpoint 2");
    assert.equal(h.coordinator.latest?.id, 1);
    assert.equal(h.coordinator.stats.failed, 1);
    assert.deepEqual(h.removed, [], "checkpoint 1 is not pruned, checkpoint 2's files stay");
    assert.ok(existsSync(join(h.storage.checkpointDir(1), "_metadata")));
  });
});
