// What the JobManager's REST API shows of subtasks running on TaskManager processes: a JobManager
// (with --flamegraph) and two TaskManagers of one slot each, slots spread, and a job whose keyed
// exchange crosses from one TaskManager to the other (test/cluster/observed-job.ts).
// - checkpointStartDelayNanos: a barrier that crossed the TCP data exchange still carries its
//   trigger time, so every downstream subtask's start delay is known (≥ 0, not -1).
// - the flame graph of a vertex whose subtasks run on both TaskManagers: the profiles of the worker
//   threads of each TaskManager, merged.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ClusterClient } from "../../src/cluster/cluster-client.ts";
import type { FlameGraphNode } from "../../src/runtime/metrics/cpu-profiler.ts";
import { type TestCluster, startCluster } from "./process-cluster.ts";

const JOB = fileURLToPath(new URL("./observed-job.ts", import.meta.url));

interface SubtaskDetail {
  index: number;
  status: string;
  start_delay_nanos?: number;
}

function names(node: FlameGraphNode, into = new Set<string>()): Set<string> {
  into.add(node.name);
  for (const c of node.children) names(c, into);
  return into;
}

describe("observing a job on TaskManager processes", () => {
  let cluster: TestCluster;
  let client: ClusterClient;
  let dir: string;
  let jobId: string;
  let burnVertex: string;

  const get = async (path: string): Promise<{ status: number; body: any }> => {
    const r = await fetch(`${cluster.restUrl}${path}`);
    return { status: r.status, body: await r.json() };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "weir-cluster-observe-"));
    cluster = await startCluster({
      taskManagers: 2,
      slots: 1,
      slotPlacement: "spread",
      jobManagerArgs: ["--flamegraph"],
    });
    client = new ClusterClient(cluster.address, "");
    const job = await client.submit(
      JOB,
      { parallelism: 2, checkpointInterval: 300, checkpointDirectory: join(dir, "checkpoints") },
      { follow: false },
    );
    jobId = job.jobId;
    assert.match(cluster.jobManager.err(), /deployment \d+ on (tm-0, tm-1|tm-1, tm-0)/);
    const until = Date.now() + 120_000;
    for (;;) {
      const j = await get(`/jobs/${jobId}`);
      const v = (j.body.vertices ?? []) as Array<{ id: string; name: string; status: string }>;
      const burn = v.find((x) => x.name.includes("burn"));
      if (j.body.state === "RUNNING" && burn !== undefined) {
        burnVertex = String(burn.id);
        break;
      }
      if (Date.now() > until) throw new Error(`the job did not run: ${JSON.stringify(j.body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    await client?.cancel(jobId).catch(() => {});
    client?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("knows the checkpoint start delay of subtasks whose barriers came over TCP", async () => {
    // A completed checkpoint every one of whose keyed subtasks has reported its account.
    const until = Date.now() + 120_000;
    let subtasks: SubtaskDetail[] = [];
    for (;;) {
      const c = await get(`/jobs/${jobId}/checkpoints`);
      const id = c.body.latest?.completed?.id as number | undefined;
      if (id !== undefined) {
        const d = await get(`/jobs/${jobId}/checkpoints/details/${id}/subtasks/${burnVertex}`);
        if (d.status === 200) {
          subtasks = d.body.subtasks as SubtaskDetail[];
          if (subtasks.length === 2 && subtasks.every((s) => s.status === "completed")) break;
        }
      }
      if (Date.now() > until) {
        throw new Error(`no checkpoint acknowledged by both keyed subtasks: ${JSON.stringify(c.body)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const s of subtasks) {
      assert.ok(
        s.start_delay_nanos !== undefined && s.start_delay_nanos >= 0,
        `keyed subtask ${s.index} knows when its checkpoint was triggered: ${JSON.stringify(s)}`,
      );
    }
    // The task metric too (what dashboards read).
    const m = await get(`/jobs/${jobId}/vertices/${burnVertex}/metrics?get=1.checkpointStartDelayNanos`);
    assert.equal(m.body[0]?.id, "1.checkpointStartDelayNanos", JSON.stringify(m.body));
    assert.ok(Number(m.body[0].value) >= 0, JSON.stringify(m.body));
  });

  it("serves the flame graph of a vertex from the worker threads of both TaskManagers", async () => {
    const base = `/jobs/${jobId}/vertices/${burnVertex}/flamegraph`;
    // Sampling is statistical: profile until both subtasks' hot functions were caught.
    const seen = new Set<string>();
    const until = Date.now() + 120_000;
    while (!(seen.has("burnOnSubtask0") && seen.has("burnOnSubtask1"))) {
      if (Date.now() > until)
        throw new Error(`not both subtasks in the flame graphs: ${[...seen].join(", ")}`);
      const r = await get(`${base}?duration=1000`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.data.name, "root");
      for (const n of names(r.body.data as FlameGraphNode)) {
        const fn = /^(burnOnSubtask\d)\b/.exec(n)?.[1];
        if (fn !== undefined) seen.add(fn);
      }
    }
  });
});
