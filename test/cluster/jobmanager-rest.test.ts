// The JobManager's REST API in one process (a JobManager, one TaskManager, the REST server of
// `weir jobmanager`): job submission as in Flink (upload, run, execution result, artifacts deleted
// with their last job), and every route of its OpenAPI description answering as documented.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startJobManagerRest } from "../../src/cli/jobmanager-rest.ts";
import { bundleJob } from "../../src/cluster/job-artifact.ts";
import { JobManager } from "../../src/cluster/jobmanager/job-manager.ts";
import { TaskManager } from "../../src/cluster/taskmanager/task-manager.ts";
import { CLUSTER_PATHS } from "../../src/web/openapi.ts";
import type { RestServer } from "../../src/web/rest-server.ts";

const WORDCOUNT = fileURLToPath(new URL("../fixtures/wordcount-job.ts", import.meta.url));

describe("the JobManager's REST API", () => {
  let dir: string;
  let jm: JobManager;
  let tm: TaskManager;
  let rest: RestServer;
  let artifact: { name: string; bytes: Uint8Array };
  const quiet = () => {};

  before(async () => {
    process.env.WEIR_TEST_WC_WORDS = "2000";
    process.env.WEIR_TEST_WC_VOCAB = "50";
    dir = mkdtempSync(join(tmpdir(), "weir-jm-rest-"));
    jm = new JobManager({ port: 0, token: "", artifactDir: join(dir, "jm"), log: quiet });
    await jm.start();
    tm = new TaskManager({
      jobManagerHost: "127.0.0.1",
      jobManagerPort: jm.port,
      slots: 1,
      token: "",
      id: "tm-a",
      artifactDir: join(dir, "tm"),
      log: quiet,
    });
    await tm.start();
    rest = await startJobManagerRest(jm, { port: 0, address: "127.0.0.1", token: "" });
    artifact = await bundleJob(WORDCOUNT);
  });
  after(async () => {
    await rest?.close();
    await tm?.stop();
    await jm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const upload = async () => {
    const form = new FormData();
    form.append("jarfile", new Blob([artifact.bytes]), artifact.name);
    const r = await fetch(`${rest.url}/jars/upload`, { method: "POST", body: form });
    assert.equal(r.status, 200);
    const { filename, status } = (await r.json()) as { filename: string; status: string };
    assert.equal(status, "success");
    return filename.split("/").pop()!;
  };
  const waitForEnd = async (jobId: string) => {
    const until = Date.now() + 60_000;
    for (;;) {
      const r = (await (await fetch(`${rest.url}/jobs/${jobId}/execution-result`)).json()) as any;
      if (r.status.id === "COMPLETED") return r;
      if (Date.now() > until) throw new Error(`job ${jobId} did not end: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };

  it("uploads, runs and reports a job in Flink's shapes; its artifact goes when it ends", async () => {
    const jarId = await upload();
    assert.match(jarId, /^[0-9a-f]{64}$/);
    const run = await fetch(`${rest.url}/jars/${jarId}/run`, {
      method: "POST",
      body: JSON.stringify({ parallelism: 1, programArgsList: [], configuration: { bufferTimeout: 0 } }),
    });
    assert.equal(run.status, 200);
    const { jobid, name, slots } = (await run.json()) as { jobid: string; name: string; slots: number };
    assert.deepEqual([name, slots], ["wordcount-fixture", 1]);
    const end = await waitForEnd(jobid);
    const result = end["job-execution-result"];
    assert.equal(result["application-status"], "SUCCEEDED");
    assert.equal(result.collected.counts.length, 2000);
    assert.ok(result["net-runtime"] > 0);
    assert.deepEqual(end["attempt-failures"], []);
    const jars = (await (await fetch(`${rest.url}/jars`)).json()) as { files: unknown[] };
    assert.deepEqual(jars.files, [], "the artifact went with its job");
    // Bad requests say what is wrong.
    const bad = await fetch(`${rest.url}/jars/${jarId}/run`, { method: "POST", body: '{"parallelism": 0}' });
    assert.equal(bad.status, 400);
    assert.match(
      ((await bad.json()) as { errors: string[] }).errors[0]!,
      /'parallelism' must be an integer >= 1/,
    );
    const gone = await fetch(`${rest.url}/jars/${jarId}/run`, { method: "POST" });
    assert.equal(gone.status, 404);
    const raw = await fetch(`${rest.url}/jars/upload?name=x.mjs`, { method: "POST", body: "" });
    assert.equal(raw.status, 400);
  });

  it("answers every route of its OpenAPI description as documented", async () => {
    const spec = (await (await fetch(`${rest.url}/openapi.json`)).json()) as any;
    for (const path of Object.keys(CLUSTER_PATHS)) assert.ok(spec.paths[path], `${path} documented`);
    const jarId = await upload();
    const job = (await (
      await fetch(`${rest.url}/jars/${jarId}/run`, { method: "POST", body: '{"parallelism": 1}' })
    ).json()) as { jobid: string };
    await waitForEnd(job.jobid);
    const ids: Record<string, string> = { jarid: jarId, jobid: job.jobid, taskmanagerid: "tm-a" };
    const expected: Record<string, number> = {
      "post /jars/upload": 200,
      "post /jars/{jarid}/run": 404, // the walk's DELETE went first
      "get /jobmanager/log": 404, // no --log-file here
    };
    for (const [template, methods] of Object.entries<any>(CLUSTER_PATHS)) {
      const path = template.replace(/\{(\w+)\}/g, (_, n: string) => ids[n]!);
      for (const [method, op] of Object.entries<any>(methods)) {
        const key = `${method} ${template}`;
        const body =
          key === "post /jars/upload"
            ? (() => {
                const f = new FormData();
                f.append("jarfile", new Blob([artifact.bytes]), artifact.name);
                return f;
              })()
            : undefined;
        const res = await fetch(`${rest.url}${path}`, { method: method.toUpperCase(), body });
        const want = expected[key] ?? 200;
        assert.equal(res.status, want, `${key}: ${res.status}`);
        assert.ok(Object.keys(op.responses).includes(String(res.status)), `${key}: ${res.status} documented`);
        const type = Object.keys(op.responses[String(want)].content)[0]!;
        assert.ok((res.headers.get("content-type") ?? "").startsWith(type.split(";")[0]!), `${key}: ${type}`);
        await res.arrayBuffer();
      }
    }
    // The walk's upload (the job's artifact again) was kept until its DELETE.
    assert.deepEqual(((await (await fetch(`${rest.url}/jars`)).json()) as { files: unknown[] }).files, []);
  });
});
