// Slot sharing groups on a cluster of processes: a word count whose counting runs in its own slot
// sharing group needs two slots per parallel slice (4 at p=2). On two TaskManagers of two slots,
// pack (the default) puts each group on one TaskManager, spread puts a slot of each group on
// each; either way the counts are exact.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ClusterClient } from "../../src/cluster/cluster-client.ts";
import type { SlotPlacement } from "../../src/cluster/jobmanager/resource-manager.ts";
import { corpus, countWords } from "../fixtures/helpers.ts";
import type { PlacedCount } from "../fixtures/slot-groups-job.ts";
import { startCluster, startProcess } from "./process-cluster.ts";

const JOB = fileURLToPath(new URL("../fixtures/slot-groups-job.ts", import.meta.url));
const WORDS = 20_000;
const ENV = { WEIR_TEST_WC_WORDS: String(WORDS), WEIR_TEST_WC_VOCAB: "1000", WEIR_TEST_WC_SEED: "5" };

describe("a job in two slot sharing groups on two TaskManagers", () => {
  for (const placement of ["pack", "spread"] as const satisfies readonly SlotPlacement[]) {
    it(`${placement}: slots placed as asked, counts exact`, async () => {
      const cluster = await startCluster({
        taskManagers: 2,
        slots: 2,
        env: ENV,
        ...(placement === "spread" ? { slotPlacement: placement } : {}),
      });
      const client = new ClusterClient(cluster.address, "");
      try {
        const job = await client.submit(JOB, { parallelism: 2 }, { follow: true });
        assert.equal(job.slots, 4, "two groups at parallelism 2: four slots");
        const end = await job.ended;
        assert.equal(end.status, "FINISHED", String(end.error));
        const values = end.result!.collected!.get("counts")! as PlacedCount[];
        assert.equal(values.length, WORDS, "one rolling count per word");
        const counts = new Map<string, number>();
        for (const v of values) counts.set(v.word, Math.max(counts.get(v.word) ?? 0, v.count));
        assert.deepStrictEqual(counts, countWords(corpus(WORDS, 1000, 5)));

        const [tm0, tm1] = cluster.taskManagers.map((p) => p.child.pid!);
        const ran = (field: "tokenizedOn" | "countedOn") =>
          [...new Set(values.map((v) => v[field]))].sort((a, b) => a - b);
        const log = cluster.jobManager.err();
        if (placement === "pack") {
          // Slots 0-1 (default group) fill tm-0, slots 2-3 (the counts) tm-1.
          assert.match(log, /deployment 1 slots: tm-0 \[0, 1\], tm-1 \[2, 3\]/);
          assert.deepEqual(ran("tokenizedOn"), [tm0]);
          assert.deepEqual(ran("countedOn"), [tm1]);
        } else {
          assert.match(log, /deployment 1 slots: tm-0 \[0, 2\], tm-1 \[1, 3\]/);
          const both = [tm0!, tm1!].sort((a, b) => a - b);
          assert.deepEqual(ran("tokenizedOn"), both);
          assert.deepEqual(ran("countedOn"), both);
        }
      } finally {
        client.close();
        await cluster.stop();
      }
    });
  }

  it("weir jobmanager and weir cluster start refuse an unknown --slot-placement", async () => {
    for (const args of [
      ["jobmanager", "--port", "0", "--slot-placement", "evenly"],
      [
        "cluster",
        "start",
        "--pid-dir",
        join(tmpdir(), `weir-never-${process.pid}`),
        "--slot-placement",
        "evenly",
      ],
    ]) {
      const p = startProcess(args, {});
      assert.equal(await p.exited, 2, p.err());
      assert.match(
        p.err(),
        /--slot-placement of 'weir (jobmanager|cluster)' must be pack or spread, got 'evenly'/,
      );
    }
    assert.ok(
      !existsSync(join(tmpdir(), `weir-never-${process.pid}`)),
      "refused before it made its directory",
    );
  });
});
