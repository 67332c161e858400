// GET /jobs/:jid/vertices/:vid/flamegraph: off unless the server is started with it (as Flink's
// rest.flamegraph.enabled); on, a CPU profile of the threads running the vertex, in Flink's shape
// ({endTimestamp, data: {name, value, children}}), in which the vertex's hot function shows — for
// an in-thread job (the calling thread) and on worker threads (each asked over the protocol).

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { submitJob } from "../../src/cluster/index.ts";
import { StreamExecutionEnvironment, Types } from "../../src/index.ts";
import { type FlameGraphNode, toFlameGraph } from "../../src/runtime/metrics/cpu-profiler.ts";
import type { JobMetrics } from "../../src/runtime/metrics/job-metrics.ts";
import { type RestServer, startRestServer } from "../../src/web/rest-server.ts";
import { waitFor } from "../fixtures/helpers.ts";

const BACKPRESSURE_JOB = fileURLToPath(new URL("../fixtures/backpressure-job.ts", import.meta.url));

const servers: RestServer[] = [];

async function serve(jobs: JobMetrics[], flameGraph: boolean): Promise<RestServer> {
  const s = await startRestServer({ port: 0, jobs: () => jobs, flameGraph });
  servers.push(s);
  return s;
}

function names(node: FlameGraphNode, into: string[] = []): string[] {
  into.push(node.name);
  for (const c of node.children) names(c, into);
  return into;
}

/** A flame graph's invariant: a frame's value is at least the sum of its children's. */
function assertConsistent(node: FlameGraphNode): void {
  const sum = node.children.reduce((s, c) => s + c.value, 0);
  assert.ok(node.value >= sum, `${node.name}: ${node.value} < ${sum}`);
  for (const c of node.children) assertConsistent(c);
}

/** Busy work under a name the profile can show. */
function burnForFlameGraph(x: number): number {
  let acc = x;
  for (let i = 0; i < 20_000; i++) acc = (acc * 31 + i) % 1_000_003;
  return acc;
}

describe("flame graphs", () => {
  after(async () => {
    for (const s of servers) await s.close();
  });

  it("folds a V8 CPU profile into {name, value, children}", () => {
    const f = (id: number, functionName: string, children: number[] = []) => ({
      id,
      callFrame: { functionName, url: `file:///x/job-${id}.ts`, lineNumber: id },
      children,
    });
    const graph = toFlameGraph({
      nodes: [f(1, "(root)", [2, 4]), f(2, "map", [3]), f(3, "hot"), f(4, "(idle)")],
      samples: [3, 3, 2, 4, 3],
    });
    assert.equal(graph.name, "root");
    assert.equal(graph.value, 5);
    const map = graph.children.find((c) => c.name === "map (job-2.ts:3)")!;
    assert.equal(map.value, 4);
    assert.equal(map.children[0]!.name, "hot (job-3.ts:4)");
    assert.equal(map.children[0]!.value, 3);
  });

  it("in-thread: off by default; on, the vertex's hot function shows in the graph", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    env
      .fromGenerator((i) => i, { type: Types.NUMBER })
      .map(function hotMap(x: number) {
        return burnForFlameGraph(x);
      })
      .sinkTo({ createWriter: () => ({ write(): void {} }) }, "drop");
    const client = await env.executeAsync("flamegraph-in-thread");
    try {
      const vertex = client.metrics.vertices[0]!.id;
      const off = await serve([client.metrics], false);
      const r0 = await fetch(`${off.url}/jobs/${client.jobId}/vertices/${vertex}/flamegraph`);
      assert.equal(r0.status, 200);
      const b0 = (await r0.json()) as { data: unknown; message: string };
      assert.equal(b0.data, null);
      assert.match(b0.message, /off.*--flamegraph/);

      const on = await serve([client.metrics], true);
      const base = `${on.url}/jobs/${client.jobId}/vertices`;
      assert.equal((await fetch(`${base}/99/flamegraph`)).status, 404);
      assert.equal((await fetch(`${base}/${vertex}/flamegraph?duration=soon`)).status, 400);
      const r = await fetch(`${base}/${vertex}/flamegraph?duration=500`);
      assert.equal(r.status, 200);
      const body = (await r.json()) as { endTimestamp: number; data: FlameGraphNode };
      assert.ok(body.endTimestamp > 0);
      assert.equal(body.data.name, "root");
      assert.ok(body.data.value > 0, "samples were taken");
      assertConsistent(body.data);
      // The map's function, or what it calls: V8 may inline burnForFlameGraph into it (Node 24
      // does, in the source's generated loop), and then its samples are the map's.
      assert.ok(
        names(body.data).some((n) => n.startsWith("burnForFlameGraph") || n.startsWith("hotMap")),
        `the map's hot function is in the graph: ${[...new Set(names(body.data))].slice(0, 40).join(", ")}`,
      );
    } finally {
      await client.cancel();
    }
  });

  it("worker threads: each thread of the vertex is profiled, the graphs merged", async () => {
    const client = await submitJob({ job: BACKPRESSURE_JOB, parallelism: 2, jobName: "flamegraph-workers" });
    try {
      const on = await serve([client.metrics], true);
      const sink = client.metrics.vertices.find((v) => v.name.includes("slow sink"))!;
      await waitFor(() => client.metrics.tasks().length === 4, "every subtask reported");
      const r = await fetch(`${on.url}/jobs/${client.jobId}/vertices/${sink.id}/flamegraph?duration=500`);
      assert.equal(r.status, 200, await r.clone().text());
      const body = (await r.json()) as { data: FlameGraphNode };
      assert.ok(body.data.value > 0);
      assertConsistent(body.data);
      // The slow sink burns CPU in the fixture's writer. V8 may inline the writer (and `burn`)
      // into the engine's input loop, and the source's generator into its reader (a CI run on
      // Node 20 showed no frame of the fixture at all), so the sink's own work shows either as
      // the fixture's frames or as its input path, which only the sink has in this job.
      const seen = [...new Set(names(body.data))];
      assert.ok(
        seen.some(
          (n) => n.includes("(backpressure-job.ts:") || n.startsWith("burn ") || n.startsWith("stepInput "),
        ),
        seen.join(" | "),
      );
    } finally {
      await client.cancel();
    }
  });
});
