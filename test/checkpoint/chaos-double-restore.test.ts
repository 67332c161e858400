// The double-restore chaos mode (issue #14): every keyed operator family — process functions,
// windows with count and continuous triggers, interval joins, broadcast state — restored, cut
// again during a quiet stretch (no input for some or all keys), and restored again, on both state
// backends, must commit exactly what a run without restores commits: resumed as new jobs from
// savepoints or retained checkpoints (rescaled), or failed and restarted within one job. Seeded;
// a failure prints the seed, the plan it drew and the command that replays it (CHAOS_SEED=n).
// Async I/O has its own case in test/async/async-chaos.test.ts.

import { describe, it } from "node:test";
import {
  type Family,
  chaosSeeds,
  planFor,
  replayCommand,
  runDoubleRestore,
} from "./fixtures/chaos-double-restore.ts";

const FAMILIES: Family[] = ["process", "count-window", "continuous-window", "interval-join", "broadcast"];
const THIS_FILE = "test/checkpoint/chaos-double-restore.test.ts";

describe("chaos: two restores with a quiet stretch between them (every keyed operator family)", () => {
  for (const seed of chaosSeeds([1, 2, 9])) {
    for (const backend of ["heap", "embedded"] as const) {
      const plan = planFor(seed, backend);
      const how =
        plan.mode === "restart"
          ? `failed and restarted twice at p ${plan.parallelism[1]}`
          : `resumed from ${plan.cuts.join(", then ")}, p ${plan.parallelism.join("→")}`;
      it(`seed ${seed}, ${backend}: ${how}; keys active in the quiet stretch: [${plan.active.join(",")}]`, async () => {
        await runDoubleRestore(plan, FAMILIES, replayCommand(seed, THIS_FILE));
      });
    }
  }
});
