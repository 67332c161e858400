// Checkpoints on S3-compatible storage (s3rver, started by the test on a free loopback port): a
// keyed exactly-once job checkpoints to s3://, loses a worker thread or its whole process
// (SIGKILL), and restores from S3 with exactly the output of a run without failure; savepoints go
// to S3 and restore at another parallelism and state backend; incremental embedded-backend
// checkpoints share their files on S3; a checkpoint without _metadata is not complete; and the
// secret key never shows in an error or a log line.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadCheckpoint } from "../../src/checkpoint/fs-storage.ts";
import { parseS3Location } from "../../src/checkpoint/s3-location.ts";
import { S3ObjectStore } from "../../src/checkpoint/s3-object-store.ts";
import { latestS3Checkpoint, S3CheckpointStorage } from "../../src/checkpoint/s3-storage.ts";
import { submitJob } from "../../src/cluster/mini-cluster.ts";
import {
  DataGeneratorSource,
  JobCancelledError,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { spawnWeir, weir } from "../cli/cli-harness.ts";
import { type CountingParams, countingReference } from "../fixtures/s3-counting-job.ts";
import { type S3TestServer, startS3Server } from "../fixtures/s3-server.ts";
import { gatedSource, SourceGate } from "../harness/gated-source.ts";

const JOB = fileURLToPath(new URL("../fixtures/s3-counting-job.ts", import.meta.url));
const BUCKET = "weir-checkpoints";

let s3: S3TestServer;
const saved = new Map<string, string | undefined>();
let run = 0;

before(async () => {
  s3 = await startS3Server([BUCKET]);
  // Worker threads inherit the environment: the job's checkpoint storage reaches s3rver through it.
  for (const [k, v] of Object.entries(s3.env)) {
    saved.set(k, process.env[k]);
    process.env[k] = v;
  }
});

after(async () => {
  for (const [k, v] of saved) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await s3?.close();
});

/** A fresh s3:// prefix for one test. */
function prefix(name: string): string {
  return `s3://${BUCKET}/${name}-${process.pid}-${++run}`;
}

async function keysUnder(location: string): Promise<string[]> {
  const { bucket, key } = parseS3Location(location);
  return (await new S3ObjectStore(bucket).list(`${key}/`)).map((k) => k.slice(key.length + 1));
}

const COMPLETED = (k: string) => /\/chk-\d+\/_metadata$/.test(k);

/** Resolves once `found` holds for some object under `location` (default: a chk-N/_metadata). */
async function untilObject(location: string, exited?: Promise<unknown>, found = COMPLETED): Promise<void> {
  let done = false;
  void exited?.then(() => (done = true));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await keysUnder(location)).some(found)) return;
    if (done) throw new Error("the job exited before a checkpoint completed");
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no such object under ${location} within 60 s`);
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

describe("checkpoints on S3 (s3rver)", () => {
  it("a worker thread killed: the job restores from S3 (incremental, embedded backend), output exact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-s3-"));
    const location = prefix("incremental");
    try {
      const params: CountingParams = {
        checkpoints: location,
        out: join(dir, "out"),
        // 5 s of events: under load (or coverage) the first checkpoint with keyed state on S3
        // took most of 2 s, and the job sometimes finished before the kill below (no restart).
        events: 30_000,
        keys: 11,
        rate: 6_000,
        stateBackend: "embedded",
        incremental: true,
      };
      process.env.WEIR_S3_JOB = JSON.stringify(params);
      const client = await submitJob({ job: JOB, parallelism: 2 });
      // A checkpoint with keyed state: its key groups are in shared/ (written before its metadata).
      await untilObject(location, undefined, (k) => /\/shared\/.+\.kg$/.test(k));
      await untilObject(location);
      client.killWorker(0);
      const keys = await keysUnder(location);
      assert.ok(
        keys.some((k) => /\/shared\/.+\.kg$/.test(k)),
        `incremental key-group files on S3: ${keys.join(", ")}`,
      );
      const r = await client.wait();
      assert.ok(r.restarts >= 1, "the job restarted after the kill");
      assert.deepEqual(committed(params.out), countingReference(params.events, params.keys));
      // A job that finished deletes its checkpoints (none is retained): every object under its root.
      assert.deepEqual(await keysUnder(location), []);
      assert.ok(!existsSync(join(dir, "s3:")), "nothing written to a local directory named after the URL");
    } finally {
      delete process.env.WEIR_S3_JOB;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("weir run --checkpoint-dir s3://… killed with SIGKILL: --from-savepoint s3://…/chk-N restores, output exact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-s3-"));
    const location = prefix("sigkill");
    try {
      const params: CountingParams = {
        out: join(dir, "out"),
        // Slow enough (10 s) that the first checkpoint lands well before the end even on a loaded
        // machine; the restored run reads the rest fast.
        events: 30_000,
        keys: 7,
        rate: 3_000,
      };
      const env = { WEIR_S3_JOB: JSON.stringify(params) };
      const fastEnv = { WEIR_S3_JOB: JSON.stringify({ ...params, rate: 200_000 }) };
      const first = spawnWeir(["run", JOB, "-p", "2", "--checkpoint-dir", location], env);
      await untilObject(location, first.exited);
      first.child.kill("SIGKILL");
      const killed = await first.exited;
      assert.equal(killed.signal, "SIGKILL", `killed mid-run (stderr: ${first.stderr()})`);
      const [jobRoot] = new Set((await keysUnder(location)).map((k) => `${location}/${k.split("/")[0]}`));
      const latest = await latestS3Checkpoint(jobRoot!);
      assert.ok(latest !== undefined, "a completed checkpoint on S3");
      assert.ok(committed(params.out).length < params.events, "the first run was cut short");

      const second = await weir(
        ["run", JOB, "-p", "3", "--from-savepoint", latest, "--checkpoint-dir", `${location}/after`],
        fastEnv,
      );
      assert.equal(second.code, 0, `restored run (stderr: ${second.stderr})`);
      assert.deepEqual(committed(params.out), countingReference(params.events, params.keys));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The keyed counting job of the savepoint tests (output collected), its source gated when given.
  const N = 20_000;
  const KEYS = 17;
  const build = (env: StreamExecutionEnvironment, gate?: SourceGate) => {
    const generator = new DataGeneratorSource((i) => `k${i % KEYS}`, { count: N });
    return env
      .fromSource(gate === undefined ? generator : gatedSource(generator, gate), "events")
      .uid("events")
      .keyBy((k) => k)
      .process<string>({
        processElement(k, ctx, out) {
          const st = ctx.runtime.getState(new ValueStateDescriptor<number>("count"));
          const n = (st.value() ?? 0) + 1;
          st.update(n);
          out.collect(`${k}:${n}`);
        },
      })
      .uid("counter")
      .collect();
  };
  const expectedCounts = (): string[] => {
    const out: string[] = [];
    for (let i = 0, counts = new Map<string, number>(); i < N; i++) {
      const k = `k${i % KEYS}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
      out.push(`${k}:${counts.get(k)}`);
    }
    return out.sort();
  };

  const cases: Array<{
    checkpoints: "s3" | "dir";
    savepoints: "s3" | "dir";
    p: number;
    to: "heap" | "embedded";
  }> = [
    { checkpoints: "s3", savepoints: "s3", p: 3, to: "embedded" },
    { checkpoints: "dir", savepoints: "s3", p: 1, to: "heap" },
    { checkpoints: "s3", savepoints: "dir", p: 4, to: "heap" },
  ];
  for (const c of cases) {
    it(`checkpoints in ${c.checkpoints}, savepoint to ${c.savepoints} at p=2 (heap), restored at p=${c.p} (${c.to}): counts continue exactly`, async () => {
      const location = prefix("savepoint");
      const dir = mkdtempSync(join(tmpdir(), "weir-s3-sp-"));
      const where = (kind: "s3" | "dir", name: string) =>
        kind === "s3" ? `${location}/${name}` : join(dir, name);
      try {
        const env1 = new StreamExecutionEnvironment({
          parallelism: 2,
          checkpointInterval: 50,
          checkpointDirectory: where(c.checkpoints, "cp1"),
        });
        const gate = new SourceGate(N / 4);
        const h1 = build(env1, gate);
        const client = await env1.executeAsync("counts");
        await gate.whenClosed();
        const savepoint = await client.stopWithSavepoint(where(c.savepoints, "savepoints"));
        await assert.rejects(client.wait(), JobCancelledError);
        if (c.savepoints === "s3") {
          assert.match(savepoint, /^s3:\/\/weir-checkpoints\/.+\/savepoints\/savepoint-[0-9a-f]{8}-\d+$/);
        } else {
          assert.ok(existsSync(join(savepoint, "_metadata")));
        }
        // Self-contained: the job's checkpoints can go.
        if (c.checkpoints === "s3") {
          const { bucket, key } = parseS3Location(`${location}/cp1`);
          await new S3ObjectStore(bucket).deletePrefix(`${key}/`);
        } else {
          rmSync(join(dir, "cp1"), { recursive: true, force: true });
        }
        assert.ok((await loadCheckpoint(savepoint)).metadata.savepoint);

        const env2 = new StreamExecutionEnvironment({
          parallelism: c.p,
          checkpointInterval: 50,
          checkpointDirectory: where(c.checkpoints, "cp2"),
          restorePath: savepoint,
          stateBackend: c.to,
        });
        const h2 = build(env2);
        await env2.execute("counts");
        assert.deepEqual([...h1.values, ...h2.values].sort(), expectedCounts());
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("a savepoint that cannot be written (no such bucket) is not taken; the job goes on, output exact", async () => {
    const env = new StreamExecutionEnvironment({
      parallelism: 2,
      checkpointInterval: 50,
      checkpointDirectory: `${prefix("sp-fails")}/cp`,
    });
    const gate = new SourceGate(N / 4);
    const h = build(env, gate);
    const client = await env.executeAsync("counts");
    await gate.whenClosed();
    await assert.rejects(
      client.stopWithSavepoint("s3://weir-no-such-bucket/savepoints"),
      (e: Error) =>
        e.name === "StopWithSavepointError" &&
        /cannot write the savepoint to 's3:\/\/weir-no-such-bucket\/savepoints\/savepoint-.*NoSuchBucket/.test(
          e.message,
        ),
    );
    assert.equal(client.getStatus(), "RUNNING");
    gate.open();
    await client.wait();
    assert.deepEqual(h.values.sort(), expectedCounts());
  });

  it("metadata goes last: files without _metadata are no checkpoint, and pruning removes them", async () => {
    const location = prefix("metadata");
    const storage = new S3CheckpointStorage(location, "job-a");
    const state = await storage.writeTaskState(1, "1-0", { count: 3 });
    await assert.rejects(
      loadCheckpoint(`${storage.root}/chk-1`),
      /no checkpoint at .*chk-1.*_metadata' does not exist/,
    );
    assert.equal(await latestS3Checkpoint(storage.root), undefined);
    const metadata = {
      format: "weir-checkpoint" as const,
      version: 1,
      checkpointId: 1,
      savepoint: false,
      jobName: "j",
      jobId: "job-a",
      timestamp: 0,
      tasks: {
        "1": {
          operators: ["op"],
          parallelism: 1,
          maxParallelism: 128,
          subtasks: [
            { subtask: 0, file: state.path, keyGroups: undefined, size: state.size, finished: false },
          ],
        },
      },
      enumerators: {},
    };
    assert.equal(await storage.writeMetadata(1, metadata), `${storage.root}/chk-1`);
    assert.equal(await latestS3Checkpoint(storage.root), `${storage.root}/chk-1`);
    const cp = await loadCheckpoint(`${storage.root}/chk-1/_metadata`);
    assert.deepEqual(await cp.read(state.path), { count: 3 });
    assert.equal(await cp.exists("chk-1/nothing.state"), false);
    await storage.discardCheckpoint(1);
    assert.deepEqual(await keysUnder(storage.root), []);
    await assert.rejects(cp.read(state.path), /is missing; the checkpoint at .* cannot be restored/);
  });
});

describe("S3 credentials stay secret", () => {
  it("a location with credentials in it is refused without repeating them", () => {
    assert.throws(
      () => new S3CheckpointStorage("s3://AKIDEXAMPLE:TopSecret123@bucket/x", "j"),
      (e: Error) => /holds credentials/.test(e.message) && !e.message.includes("TopSecret123"),
    );
    assert.throws(() => new S3CheckpointStorage("s3://B/x", "j"), /names no valid bucket/);
  });

  it("refused credentials: the error says what to check, never the secret", async () => {
    const secret = "wrong-secret-7f3a9c1e5b";
    const storage = new S3CheckpointStorage(prefix("denied"), "job", {
      credentials: { accessKeyId: "UNKNOWNKEYID", secretAccessKey: secret },
    });
    const e = await storage.writeTaskState(1, "1-0", { x: 1 }).then(
      () => assert.fail("an unknown access key is refused"),
      (err: Error) => err,
    );
    assert.match(
      e.message,
      /S3 PUT of 's3:\/\/weir-checkpoints\/.+' at http:\/\/127\.0\.0\.1:\d+ failed: InvalidAccessKeyId/,
    );
    assert.match(e.message, /check the credentials \(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\)/);
    assert.ok(!`${e.message}\n${e.stack}\n${JSON.stringify(e)}`.includes(secret));
    assert.equal((e as { cause?: unknown }).cause, undefined, "the SDK's error (and its client) is not kept");
  });

  it("weir run with refused credentials fails clearly; the secret is in no output, even with WEIR_DEBUG", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-s3-"));
    const secret = s3.secretAccessKey;
    try {
      const params: CountingParams = {
        checkpoints: prefix("cli-denied"),
        out: join(dir, "out"),
        events: 4_000,
        keys: 3,
        rate: 4_000,
        restarts: 0,
      };
      const r = await weir(["run", JOB, "--verbose"], {
        WEIR_S3_JOB: JSON.stringify(params),
        WEIR_DEBUG: "1",
        AWS_ACCESS_KEY_ID: "UNKNOWNKEYID",
        AWS_SECRET_ACCESS_KEY: secret,
      });
      assert.notEqual(r.code, 0, "the job fails");
      assert.match(r.stderr, /InvalidAccessKeyId/);
      assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), `no secret in:\n${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
