// Failover across processes: an exactly-once job (keyed windows, the exactly-once file sink) runs
// on two TaskManagers; one of them is killed (kill -9), or frozen (SIGSTOP: its connections stay
// open, only the heartbeat timeout notices), after a checkpoint has completed. The JobManager
// restarts the job from its latest checkpoint on the slots left, and the committed output equals
// the output of a run without failures: nothing lost, nothing duplicated.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ClusterClient } from "../../src/cluster/cluster-client.ts";
import { type ChaosParams, WINDOW_MS, event } from "../checkpoint/fixtures/chaos-job.ts";
import { startCluster } from "./process-cluster.ts";

const JOB = fileURLToPath(new URL("../checkpoint/fixtures/chaos-job.ts", import.meta.url));
const EVENTS = 40_000;
const KEYS = 13;

function expected(): string[] {
  const m = new Map<string, { key: string; window: number; count: number; sum: number }>();
  for (let i = 0; i < EVENTS; i++) {
    const e = event(i, KEYS);
    const w = Math.floor(e.time / WINDOW_MS) * WINDOW_MS;
    const k = `${e.key}@${w}`;
    const r = m.get(k) ?? { key: e.key, window: w, count: 0, sum: 0 };
    r.count++;
    r.sum += e.value;
    m.set(k, r);
  }
  return [...m.values()].map((r) => JSON.stringify(r)).sort();
}

function committed(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const lines: string[] = [];
  for (const f of readdirSync(dir)) {
    if (f.startsWith(".")) continue;
    for (const l of readFileSync(join(dir, f), "utf8").split("\n")) if (l.length > 0) lines.push(l);
  }
  return lines.sort();
}

/** Some checkpoint of the job has completed (its _metadata is written last, atomically). */
function checkpointCompleted(checkpoints: string, jobId: string): boolean {
  const dir = join(checkpoints, jobId);
  if (!existsSync(dir)) return false;
  return readdirSync(dir).some((d) => d.startsWith("chk-") && existsSync(join(dir, d, "_metadata")));
}

async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("a TaskManager lost while an exactly-once job runs", () => {
  for (const how of ["kill -9", "SIGSTOP (heartbeat timeout)"] as const) {
    it(`${how}: restarted from the latest checkpoint, committed output exact`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-tm-failover-"));
      const params: ChaosParams = {
        out: join(dir, "out"),
        checkpoints: join(dir, "checkpoints"),
        events: EVENTS,
        keys: KEYS,
        rate: 8_000,
      };
      const cluster = await startCluster({
        taskManagers: 2,
        slots: 2,
        env: { WEIR_CHAOS_JOB: JSON.stringify(params) },
        heartbeatIntervalMs: 200,
        heartbeatTimeoutMs: 2_000,
      });
      const client = await ClusterClient.connect("127.0.0.1", cluster.port, "");
      try {
        const job = await client.submit(JOB, { parallelism: 2 }, { follow: true });
        // Spread: one slot on each TaskManager.
        await waitFor(
          () => /deployment 1 on (tm-0, tm-1|tm-1, tm-0)/.test(cluster.jobManager.err()),
          "deployment",
        );
        await waitFor(() => checkpointCompleted(params.checkpoints, job.jobId), "a completed checkpoint");
        const victim = cluster.taskManagers[1]!;
        victim.child.kill(how === "kill -9" ? "SIGKILL" : "SIGSTOP");
        const end = await job.ended;
        assert.equal(end.status, "FINISHED", String(end.error));
        assert.ok(end.result!.restarts >= 1, "the job restarted");
        const log = cluster.jobManager.err();
        assert.match(
          log,
          how === "kill -9"
            ? /TaskManager tm-1 \(pid \d+ on .+\) lost: (its connection closed|no heartbeat)/
            : /TaskManager tm-1 \(pid \d+ on .+\) lost: no heartbeat for 2000 ms/,
        );
        // The restart ran on the slots left: both on tm-0.
        assert.match(log, /deployment \d+ on tm-0\n/);
        assert.deepEqual(committed(params.out), expected());
      } finally {
        client.close();
        await cluster.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
