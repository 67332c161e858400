// The resource manager's slot placement: pack (Flink's default: fill one TaskManager first) and
// spread (Flink's cluster.evenly-spread-out-slots), and what an attempt that cannot get its slots
// is told.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ResourceManager,
  type SlotPlacement,
  placeSlots,
} from "../../src/cluster/jobmanager/resource-manager.ts";
import type { FrameSocket } from "../../src/cluster/rpc/frame-socket.ts";

const socket = { send() {}, destroy() {} } as unknown as FrameSocket;

function manager(placement: SlotPlacement, tms: Array<[string, number]>): ResourceManager {
  const rm = new ResourceManager(1_000, 10_000, () => {}, placement);
  for (const [id, slots] of tms) {
    rm.register({ id, host: "h", pid: 1, dataHost: "127.0.0.1", dataPort: 1, slots, socket });
  }
  return rm;
}

const count = (ids: string[]) =>
  Object.fromEntries([...new Set(ids)].sort().map((id) => [id, ids.filter((x) => x === id).length]));

describe("slot placement", () => {
  it("pack fills one TaskManager before the next; spread evens them out", () => {
    const fresh = [
      { id: "tm-1", free: 3 },
      { id: "tm-0", free: 3 },
      { id: "tm-2", free: 3 },
    ];
    assert.deepEqual(placeSlots(fresh, 4, "pack"), ["tm-0", "tm-0", "tm-0", "tm-1"]);
    assert.deepEqual(placeSlots(fresh, 4, "spread"), ["tm-0", "tm-1", "tm-2", "tm-0"]);
    // The offers are not changed.
    assert.deepEqual(
      fresh.map((o) => o.free),
      [3, 3, 3],
    );
  });

  it("pack fills a partly used TaskManager first; spread takes the freest", () => {
    const used = [
      { id: "tm-0", free: 4 },
      { id: "tm-1", free: 1 },
      { id: "tm-2", free: 0 },
    ];
    assert.deepEqual(placeSlots(used, 3, "pack"), ["tm-1", "tm-0", "tm-0"]);
    assert.deepEqual(placeSlots(used, 3, "spread"), ["tm-0", "tm-0", "tm-0"]);
    assert.deepEqual(placeSlots(used, 5, "spread"), ["tm-0", "tm-0", "tm-0", "tm-0", "tm-1"]);
    assert.equal(placeSlots(used, 6, "pack"), undefined, "5 free slots do not make 6");
    assert.deepEqual(placeSlots([], 0, "pack"), []);
  });

  it("the resource manager takes the slots it places, and frees them on release", async () => {
    const pack = manager("pack", [
      ["tm-0", 2],
      ["tm-1", 2],
    ]);
    const a = await pack.allocate(3, 1_000, "a");
    assert.deepEqual(
      a.map((t) => t.id),
      ["tm-0", "tm-0", "tm-1"],
    );
    assert.deepEqual(
      pack.info().map((t) => [t.id, t.freeSlots]),
      [
        ["tm-0", 0],
        ["tm-1", 1],
      ],
    );
    pack.release("tm-0");
    pack.release("tm-0");
    // The next job fills the partly used tm-1 first.
    assert.deepEqual(
      (await pack.allocate(2, 1_000, "b")).map((t) => t.id),
      ["tm-1", "tm-0"],
    );
    const spread = manager("spread", [
      ["tm-0", 2],
      ["tm-1", 2],
    ]);
    assert.deepEqual(count((await spread.allocate(4, 1_000, "c")).map((t) => t.id)), {
      "tm-0": 2,
      "tm-1": 2,
    });
    // The default is pack, as in Flink.
    assert.equal(new ResourceManager(1_000, 10_000, () => {}).placement, "pack");
  });

  it("waits for a TaskManager that registers within the slot timeout", async () => {
    const rm = manager("spread", [["tm-0", 1]]);
    const pending = rm.allocate(2, 60_000, "wait");
    rm.register({ id: "tm-1", host: "h", pid: 2, dataHost: "127.0.0.1", dataPort: 2, slots: 1, socket });
    assert.deepEqual(
      (await pending).map((t) => t.id),
      ["tm-0", "tm-1"],
    );
  });

  it("fails after the slot timeout, naming the slots needed, the groups and what is free", async () => {
    const rm = manager("pack", [
      ["tm-0", 2],
      ["tm-1", 1],
    ]);
    // Pack puts a one-slot job on the TaskManager it fills: tm-1.
    await rm.allocate(1, 1_000, "other");
    await assert.rejects(
      rm.allocate(4, 50, "two-groups", " (slot sharing groups 'default' 2, 'sums' 2)"),
      (e: Error) => {
        assert.equal(
          e.message,
          "job 'two-groups' needs 4 slot(s) (slot sharing groups 'default' 2, 'sums' 2), but the cluster has 2 free of 3 on 2 TaskManager(s) after waiting 50 ms (--slot-timeout); start more TaskManagers (weir taskmanager --slots N), lower the job's parallelism or use fewer slot sharing groups",
        );
        return true;
      },
    );
    // Nothing was taken by the failed request.
    assert.deepEqual(
      rm.info().map((t) => t.freeSlots),
      [2, 0],
    );
  });
});
