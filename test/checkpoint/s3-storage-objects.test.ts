// S3 checkpoint storage object by object, against s3rver (a real S3-compatible server on a free
// loopback port), without running jobs: which keys each write puts, what each removal takes away
// and leaves, savepoints written to and discarded from S3, the newest complete checkpoint, and the
// order that keeps a half-finished removal from leaving a checkpoint that looks complete (a proxy
// in front of s3rver refuses the requests a test names).

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type CheckpointMetadata, FsCheckpointStorage } from "../../src/checkpoint/fs-storage.ts";
import type { S3ConnectionOptions } from "../../src/checkpoint/s3-location.ts";
import { S3ObjectStore } from "../../src/checkpoint/s3-object-store.ts";
import {
  discardSavepointAt,
  latestS3Checkpoint,
  loadS3Checkpoint,
  S3CheckpointStorage,
} from "../../src/checkpoint/s3-storage.ts";
import { type S3TestServer, startS3Server } from "../fixtures/s3-server.ts";

const BUCKET = "weir-objects";
let s3: S3TestServer;
let options: S3ConnectionOptions;
let run = 0;

before(async () => {
  s3 = await startS3Server([BUCKET]);
  options = connection(s3.endpoint);
});

after(async () => {
  await s3?.close();
});

function connection(endpoint: string): S3ConnectionOptions {
  return {
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  };
}

/** A fresh s3:// prefix (and its key) for one test. */
function prefix(name: string): { location: string; key: string } {
  const key = `${name}-${process.pid}-${++run}`;
  return { location: `s3://${BUCKET}/${key}`, key };
}

/** Every key under `key/`, relative to it, sorted. */
async function keysUnder(key: string): Promise<string[]> {
  const all = await new S3ObjectStore(BUCKET, options).list(`${key}/`);
  return all.map((k) => k.slice(key.length + 1)).sort();
}

function metadata(
  jobId: string,
  id: number,
  files: string[],
  keyGroups?: Record<string, string>,
): CheckpointMetadata {
  return {
    format: "weir-checkpoint",
    version: 1,
    checkpointId: id,
    savepoint: false,
    jobName: "j",
    jobId,
    timestamp: 0,
    tasks: {
      "1": {
        operators: ["op"],
        parallelism: files.length,
        maxParallelism: 128,
        subtasks: files.map((file, subtask) => ({
          subtask,
          file,
          keyGroups: subtask === 0 ? keyGroups : undefined,
          size: 1,
          finished: false,
        })),
      },
    },
    enumerators: {},
  } as CheckpointMetadata;
}

/**
 * A proxy in front of s3rver that answers 500 to the requests `refuse` picks (the request's
 * method and path) and forwards the rest unchanged (headers and signature included).
 */
async function refusingProxy(refuse: (method: string, path: string) => boolean): Promise<{
  endpoint: string;
  refused: string[];
  close(): Promise<void>;
}> {
  const target = new URL(s3.endpoint);
  const refused: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (refuse(req.method ?? "", path)) {
      refused.push(`${req.method} ${path}`);
      req.resume();
      res.writeHead(500, { "content-type": "application/xml" });
      res.end("<Error><Code>InternalError</Code><Message>refused by the test</Message></Error>");
      return;
    }
    const out = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("S3 checkpoint storage, object by object (s3rver)", () => {
  it("each write puts its object under the job root, and a loaded checkpoint reads them back", async () => {
    const { location, key } = prefix("writes");
    const storage = new S3CheckpointStorage(location, "job-w", options);
    assert.equal(storage.root, `${location}/job-w`);
    assert.equal(storage.checkpointDir(4), `${location}/job-w/chk-4`);
    const task = await storage.writeTaskState(4, "1-0", { n: 1 });
    const shared = await storage.writeShared("kg-7", { g: 7 });
    await storage.writeSharedBytes("raw", new Uint8Array([1, 2, 3]));
    const owned = await storage.writeTaskOwned("own-1", { o: true });
    assert.deepEqual(
      [task.path, shared.path, owned.path],
      ["chk-4/1-0.state", "shared/kg-7.kg", "taskowned/own-1.state"],
    );
    assert.ok(task.size > 0 && shared.size > 0 && owned.size > 0);
    assert.equal(await latestS3Checkpoint(storage.root, options), undefined, "no _metadata yet");
    assert.equal(await storage.writeMetadata(4, metadata("job-w", 4, [task.path])), `${storage.root}/chk-4`);
    assert.deepEqual(await keysUnder(`${key}/job-w`), [
      "chk-4/1-0.state",
      "chk-4/_metadata",
      "shared/kg-7.kg",
      "shared/raw.kg",
      "taskowned/own-1.state",
    ]);
    for (const at of [`${storage.root}/chk-4`, `${storage.root}/chk-4/_metadata`]) {
      const cp = await loadS3Checkpoint(at, options);
      assert.equal(cp.root, storage.root);
      assert.equal(cp.path, `${storage.root}/chk-4`);
      assert.equal(cp.metadata.checkpointId, 4);
      assert.deepEqual(await cp.read(task.path), { n: 1 });
      assert.deepEqual(await cp.read(shared.path), { g: 7 });
      assert.deepEqual(await cp.read(owned.path), { o: true });
      assert.equal(cp.location(shared.path), `${storage.root}/shared/kg-7.kg`);
      assert.equal(await cp.exists(task.path), true);
      assert.equal(await cp.exists("chk-4/2-0.state"), false);
      await assert.rejects(
        cp.read("chk-4/2-0.state"),
        /chk-4\/2-0\.state.*is missing; the checkpoint at .*chk-4' cannot be restored/,
      );
    }
    await assert.rejects(
      loadS3Checkpoint(`${storage.root}/chk-5`, options),
      /no checkpoint at '.*chk-5': '.*chk-5\/_metadata' does not exist/,
    );
  });

  it("the newest complete checkpoint is the highest id with a _metadata, not the last listed", async () => {
    const { location } = prefix("latest");
    const storage = new S3CheckpointStorage(location, "job-l", options);
    for (const id of [2, 10, 9]) {
      const t = await storage.writeTaskState(id, "1-0", { id });
      await storage.writeMetadata(id, metadata("job-l", id, [t.path]));
    }
    await storage.writeTaskState(11, "1-0", { id: 11 }); // no _metadata: not complete
    assert.equal(await latestS3Checkpoint(storage.root, options), `${storage.root}/chk-10`);
  });

  it("removals take exactly their objects: one checkpoint (not chk-10 beside chk-1), one shared file, one file", async () => {
    const { location, key } = prefix("removals");
    const storage = new S3CheckpointStorage(location, "job-r", options);
    for (const id of [1, 10]) {
      const t = await storage.writeTaskState(id, "1-0", { id });
      await storage.writeMetadata(id, metadata("job-r", id, [t.path]));
    }
    await storage.writeShared("a", 1);
    await storage.writeShared("b", 2);
    await storage.writeTaskOwned("x", 1);
    await storage.writeTaskOwned("y", 2);
    await storage.discardCheckpoint(1);
    await storage.deleteShared("shared/a.kg");
    await storage.deleteFile("taskowned/x.state");
    await storage.deleteFile("taskowned/none.state"); // absent: nothing to do, no error
    assert.deepEqual(await keysUnder(`${key}/job-r`), [
      "chk-10/1-0.state",
      "chk-10/_metadata",
      "shared/b.kg",
      "taskowned/y.state",
    ]);
    await storage.deleteAll();
    assert.deepEqual(await keysUnder(`${key}/job-r`), []);
  });

  it("a removal that fails midway leaves no checkpoint that looks complete: _metadata goes first", async () => {
    const { location, key } = prefix("halfway");
    // Ten task files: listed before `_metadata` ('1' < '_'), removed eight at a time, so a removal
    // that does not take `_metadata` first stops at the refused first batch with it still there.
    const direct = new S3CheckpointStorage(location, "job-h", options);
    for (const id of [1, 2]) {
      const files: string[] = [];
      for (let s = 0; s < 10; s++) files.push((await direct.writeTaskState(id, `1-${s}`, { s })).path);
      await direct.writeMetadata(id, metadata("job-h", id, files));
    }
    const proxy = await refusingProxy((method, path) => method === "DELETE" && path.endsWith(".state"));
    try {
      const storage = new S3CheckpointStorage(location, "job-h", connection(proxy.endpoint));
      await storage.discardCheckpoint(1); // never throws: removal is best effort
      assert.ok(proxy.refused.length > 0, "the proxy refused the task files' removal");
      let keys = await keysUnder(`${key}/job-h`);
      assert.equal(keys.filter((k) => k.startsWith("chk-1/")).length, 10, "the task files stay");
      assert.ok(!keys.includes("chk-1/_metadata"), "chk-1 no longer looks complete");
      assert.ok(keys.includes("chk-2/_metadata"));
      assert.equal(await latestS3Checkpoint(`${location}/job-h`, options), `${location}/job-h/chk-2`);
      await storage.deleteAll();
      keys = await keysUnder(`${key}/job-h`);
      assert.equal(keys.filter((k) => k.endsWith("_metadata")).length, 0, keys.join(", "));
      assert.equal(keys.length, 20);
      assert.equal(await latestS3Checkpoint(`${location}/job-h`, options), undefined);
    } finally {
      await proxy.close();
    }
  });

  it("a savepoint written to S3 holds every referenced file and its _metadata; discarding it takes only it", async () => {
    const { location, key } = prefix("savepoint");
    const storage = new S3CheckpointStorage(location, "job-s-0123456789", options);
    const t0 = await storage.writeTaskState(3, "1-0", { v: 0 });
    const t1 = await storage.writeTaskState(3, "1-1", { v: 1 });
    const kg = await storage.writeShared("kg-3", { k: 3 });
    await storage.writeShared("unreferenced", 0);
    const meta = metadata("job-s-0123456789", 3, [t0.path, t1.path], { "3": kg.path });
    await storage.writeMetadata(3, meta);
    const target = `${location}/savepoints`;
    const sp = await storage.writeSavepoint(meta, target);
    assert.equal(sp, `${target}/savepoint-job-s-01-3`);
    // A sibling whose name extends the savepoint's: discarding must not reach it.
    const sibling = await storage.writeSavepoint({ ...meta, checkpointId: 30 }, target);
    assert.equal(sibling, `${target}/savepoint-job-s-01-30`);
    assert.deepEqual(await keysUnder(`${key}/savepoints/savepoint-job-s-01-3`), [
      "_metadata",
      "chk-3/1-0.state",
      "chk-3/1-1.state",
      "shared/kg-3.kg",
    ]);
    assert.equal(meta.savepoint, false, "the checkpoint's metadata is not changed");
    const loaded = await loadS3Checkpoint(sp, options);
    assert.equal(loaded.metadata.savepoint, true);
    assert.equal(loaded.root, sp, "a savepoint is its own root");
    assert.deepEqual(await loaded.read(t1.path), { v: 1 });
    assert.deepEqual(await loaded.read(kg.path), { k: 3 });

    await storage.discardSavepoint(sp);
    assert.deepEqual(await keysUnder(`${key}/savepoints/savepoint-job-s-01-3`), []);
    assert.equal((await keysUnder(`${key}/savepoints/savepoint-job-s-01-30`)).length, 4, "the sibling stays");
    assert.equal((await keysUnder(`${key}/job-s-0123456789`)).length, 5, "the checkpoint stays");
    await discardSavepointAt(sp, options); // already gone: no error
  });

  it("a savepoint missing a referenced file is not written: nothing is left under its name", async () => {
    const { location, key } = prefix("broken");
    const storage = new S3CheckpointStorage(location, "job-b-0123456789", options);
    const t0 = await storage.writeTaskState(1, "1-0", { v: 0 });
    const meta = metadata("job-b-0123456789", 1, [t0.path, "chk-1/1-1.state"]);
    await assert.rejects(
      storage.writeSavepoint(meta, `${location}/sp`),
      /cannot write the savepoint to 's3:\/\/.*\/sp\/savepoint-job-b-01-1': .*chk-1\/1-1\.state' is missing/,
    );
    assert.deepEqual(await keysUnder(`${key}/sp`), []);
  });

  it("discarding a savepoint directory removes it; a missing one is no error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-s3-discard-"));
    try {
      const sp = join(dir, "savepoint-x-1");
      mkdirSync(join(sp, "chk-1"), { recursive: true });
      writeFileSync(join(sp, "_metadata"), "{}");
      writeFileSync(join(sp, "chk-1", "1-0.state"), "x");
      const storage = new S3CheckpointStorage(`s3://${BUCKET}/unused`, "job", options);
      await storage.discardSavepoint(sp);
      assert.equal(existsSync(sp), false);
      assert.equal(existsSync(dir), true);
      await discardSavepointAt(sp);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("a local checkpoint saved to S3 (FsCheckpointStorage.writeSavepoint) holds its files and _metadata", async () => {
    const { location, key } = prefix("from-local");
    const dir = mkdtempSync(join(tmpdir(), "weir-s3-from-local-"));
    const saved = new Map<string, string | undefined>();
    // The local storage reaches S3 through the environment, as a job's does.
    for (const [k, v] of Object.entries(s3.env)) {
      saved.set(k, process.env[k]);
      process.env[k] = v;
    }
    try {
      const local = new FsCheckpointStorage(dir, "job-f-0123456789");
      const t = await local.writeTaskState(2, "1-0", { local: true });
      const meta = metadata("job-f-0123456789", 2, [t.path]);
      await local.writeMetadata(2, meta);
      const sp = await local.writeSavepoint(meta, location);
      assert.equal(sp, `${location}/savepoint-job-f-01-2`);
      assert.deepEqual(await keysUnder(`${key}/savepoint-job-f-01-2`), ["_metadata", "chk-2/1-0.state"]);
      assert.deepEqual(await (await loadS3Checkpoint(sp, options)).read(t.path), { local: true });
    } finally {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a savepoint to a directory that cannot be completed leaves no directory behind", async () => {
    const { location } = prefix("to-dir");
    const dir = mkdtempSync(join(tmpdir(), "weir-s3-to-dir-"));
    try {
      const storage = new S3CheckpointStorage(location, "job-d-0123456789", options);
      const t = await storage.writeTaskState(1, "1-0", { v: 0 });
      const meta = metadata("job-d-0123456789", 1, [t.path, "chk-1/1-1.state"]);
      await assert.rejects(
        storage.writeSavepoint(meta, dir),
        /cannot write the savepoint to '.*': .*is missing/,
      );
      assert.deepEqual(readdirSync(dir), [], "the partly written savepoint was removed");
      const ok = await storage.writeSavepoint(metadata("job-d-0123456789", 1, [t.path]), dir);
      assert.deepEqual(readdirSync(ok).sort(), ["_metadata", "chk-1"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
