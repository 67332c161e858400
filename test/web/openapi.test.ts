// GET /openapi.json: an OpenAPI 3.0 description of the REST API, walked against a live server:
// every documented GET answers 200 for real ids (with the documented content type), and every
// documented PATCH/POST is routed (a finished job gets Flink's 409, not a 404 or 405).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ManagedJobClient, StreamExecutionEnvironment } from "../../src/index.ts";
import { type RestServer, startRestServer } from "../../src/web/rest-server.ts";
import { buildMetricsJob } from "../fixtures/metrics-job.ts";

describe("GET /openapi.json", () => {
  let job: ManagedJobClient;
  let server: RestServer;
  let spec: any;

  before(async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    buildMetricsJob(env, false);
    job = await env.executeAsync("openapi-job");
    await job.wait();
    server = await startRestServer({ port: 0, jobs: () => [job.metrics], control: () => job });
    const res = await fetch(`${server.url}/openapi.json`);
    assert.equal(res.status, 200);
    spec = await res.json();
  });

  after(async () => {
    await server?.close();
  });

  it("is an OpenAPI 3.0 document with the package's version", async () => {
    assert.equal(spec.openapi, "3.0.3");
    assert.match(spec.info.version, /^\d+\.\d+\.\d+/);
    assert.ok(Object.keys(spec.paths).length >= 14);
  });

  it("every documented route answers as documented", async () => {
    const details = (await (await fetch(`${server.url}/jobs/${job.jobId}`)).json()) as any;
    const ids: Record<string, string> = {
      jobid: job.jobId,
      vertexid: details.vertices[0].id,
      subtaskindex: "0",
      triggerid: "none-yet",
      checkpointid: "1",
    };
    // Routes that answer 404 for this job: no savepoint triggered, no checkpoints taken, no
    // checkpointing configured.
    const notThere = new Set([
      "/jobs/{jobid}/checkpoints/config",
      "/jobs/{jobid}/savepoints/{triggerid}",
      "/jobs/{jobid}/checkpoints/details/{checkpointid}",
      "/jobs/{jobid}/checkpoints/details/{checkpointid}/subtasks/{vertexid}",
    ]);
    let checked = 0;
    for (const [template, methods] of Object.entries<any>(spec.paths)) {
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => ids[name]!);
      for (const [method, op] of Object.entries<any>(methods)) {
        const res = await fetch(`${server.url}${path}`, {
          method: method.toUpperCase(),
          body: method === "post" ? "{}" : undefined,
        });
        const documented = Object.keys(op.responses);
        assert.ok(documented.includes(String(res.status)), `${method} ${path}: ${res.status} is documented`);
        if (method === "get" && !notThere.has(template)) {
          assert.equal(res.status, 200, `GET ${path}`);
          const type = Object.keys(op.responses["200"].content)[0]!;
          assert.ok(
            (res.headers.get("content-type") ?? "").startsWith(type.split(";")[0]!),
            `${path}: ${type}`,
          );
        } else if (method !== "get") {
          assert.equal(res.status, 409, `${method} ${path} on a finished job`);
        } else {
          assert.equal(res.status, 404, `GET ${path}: nothing there`);
        }
        await res.arrayBuffer();
        checked++;
      }
    }
    assert.ok(checked >= 15, `${checked} routes checked`);
  });
});
