// The cluster's client commands as a user runs them, against the JobManager's REST API (-m): a job
// run detached, then listed, savepointed, stopped with a savepoint and cancelled (weir run -m
// --detached, list, savepoint, stop, cancel); the uploaded artifact is deleted when its job ends.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ROOT, type TestCluster, startCluster, startProcess } from "./process-cluster.ts";

const UNBOUNDED = fileURLToPath(new URL("../cli/fixtures/unbounded-job.ts", import.meta.url));

describe("detached jobs: list, savepoint, stop, cancel", () => {
  let cluster: TestCluster;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "weir-cluster-cli-"));
    cluster = await startCluster({ taskManagers: 1, slots: 2 });
  });
  after(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const submit = async () => {
    const run = startProcess(
      [
        "run",
        "-m",
        cluster.address,
        UNBOUNDED,
        "-p",
        "1",
        "--detached",
        "--checkpoint-interval",
        "200",
        "--checkpoint-dir",
        join(dir, "chk"),
      ],
      {},
    );
    assert.equal(await run.exited, 0, run.err());
    return run.out().match(/^Job has been submitted with JobID (\S+)$/m)![1]!;
  };
  const weir = async (...args: string[]) => {
    const p = startProcess(args, {});
    const code = await p.exited;
    return { code, out: p.out(), err: p.err() };
  };

  it("takes a savepoint of a running job, then stops it with one", async () => {
    const jobId = await submit();
    const list = await weir("list", "-m", cluster.address);
    assert.match(list.out, new RegExp(`${jobId} : unbounded-job \\(RUNNING\\)`));
    // The first checkpoint shows the job is running its tasks.
    const until = Date.now() + 30_000;
    while (!existsSync(join(dir, "chk", jobId)) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    const sp = await weir("savepoint", "-m", cluster.address, jobId, join(dir, "sp"));
    assert.equal(sp.code, 0, sp.err);
    const path = sp.out.match(/^Savepoint completed\. Path: (\S+)$/m)![1]!;
    assert.ok(existsSync(join(path, "_metadata")), `${path}/_metadata`);
    const stop = await weir("stop", "-m", cluster.address, jobId, "--savepoint-dir", join(dir, "sp"));
    assert.equal(stop.code, 0, stop.err);
    const stopped = stop.out.match(/^Job \S+ stopped with savepoint at (\S+)$/m)![1]!;
    assert.ok(existsSync(join(stopped, "_metadata")));
    assert.match(
      (await weir("list", "-m", cluster.address)).out,
      new RegExp(`${jobId} : unbounded-job \\(CANCELED\\)`),
    );
  });

  it("runs a job that reads a data file next to its module; a failure is one clear error", async () => {
    // The bundle keeps import.meta.url naming the job's own file: the data file is found.
    const ok = await weir("run", "-m", cluster.address, join(ROOT, "examples/wordcount.ts"), "-p", "2");
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^ {2}distinct words: 507$/m);
    // A job that fails before any task runs (its source cannot open the file) ends the run at once.
    const missing = await weir(
      "run",
      "-m",
      cluster.address,
      join(ROOT, "examples/wordcount.ts"),
      "--",
      "--input",
      join(dir, "no-such-file.txt"),
    );
    assert.equal(missing.code, 1, missing.err);
    assert.match(missing.err, /no-such-file\.txt/);
    const failing = await weir(
      "run",
      "-m",
      cluster.address,
      join(ROOT, "test/cli/fixtures/failing-job.ts"),
      "-p",
      "2",
    );
    assert.equal(failing.code, 1);
    assert.match(
      failing.err,
      /^weir: job 'failing-job' failed: operator 'Explode' .*: Error: no answers allowed; /m,
    );
  });

  it("cancels a running job; an unknown job id is one clear error", async () => {
    const jobId = await submit();
    const cancel = await weir("cancel", "-m", cluster.address, jobId);
    assert.equal(cancel.code, 0, cancel.err);
    assert.match(cancel.out, new RegExp(`^Job ${jobId}: CANCELED$`, "m"));
    const unknown = await weir("cancel", "-m", cluster.address, "no-such-job");
    assert.equal(unknown.code, 1);
    assert.equal(
      unknown.err.trim(),
      `weir: no job no-such-job on the JobManager at ${cluster.address}; 'weir list -m ${cluster.address}' shows its jobs`,
    );
  });

  it("deletes an uploaded artifact once no job runs it", async () => {
    const artifacts = join(tmpdir(), `weir-jobmanager-${cluster.jobManager.child.pid}`, "artifacts");
    const jars = async () =>
      (
        (await (await fetch(`${cluster.restUrl}/jars`)).json()) as {
          files: Array<{ id: string; jobs: string[] }>;
        }
      ).files;
    // Earlier tests' jobs have ended: nothing is kept for them.
    assert.deepEqual(await jars(), []);
    const a = await submit();
    const b = await submit(); // the same bundle: one artifact, run by two jobs
    const files = await jars();
    assert.equal(files.length, 1, JSON.stringify(files));
    assert.deepEqual(files[0]!.jobs.sort(), [a, b].sort());
    assert.deepEqual(readdirSync(artifacts), [files[0]!.id]);
    assert.equal((await fetch(`${cluster.restUrl}/jars/${files[0]!.id}`, { method: "DELETE" })).status, 409);
    assert.equal((await weir("cancel", "-m", cluster.address, a)).code, 0);
    assert.equal((await jars()).length, 1, "still run by the other job");
    assert.equal((await weir("cancel", "-m", cluster.address, b)).code, 0);
    assert.deepEqual(await jars(), []);
    assert.deepEqual(readdirSync(artifacts), []);
  });
});
