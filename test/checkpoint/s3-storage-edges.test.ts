// S3 checkpoint storage without an S3 server: a task's state file is PUT under the checkpoint's
// key (a local HTTP server records the requests), and a savepoint written to a directory from
// any checkpoint holds every referenced file and, last, its `_metadata` (flagged a savepoint).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { CheckpointMetadata } from "../../src/checkpoint/fs-storage.ts";
import { S3CheckpointStorage, writeSavepointFrom } from "../../src/checkpoint/s3-storage.ts";
import { decodeStateFile } from "../../src/checkpoint/state-file.ts";

describe("S3 checkpoint storage: edges", () => {
  it("writeTaskState PUTs the encoded state under chk-<id>/ of the job root", async () => {
    const puts: Array<{ path: string; body: Buffer }> = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.method === "PUT")
          puts.push({ path: new URL(req.url ?? "/", "http://x").pathname, body: Buffer.concat(chunks) });
        res.writeHead(200, { etag: '"e"' });
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as AddressInfo).port;
      const storage = new S3CheckpointStorage("s3://bkt/pre", "job-1", {
        endpoint: `http://127.0.0.1:${port}`,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      });
      const r = await storage.writeTaskState(3, "map-0", { operators: { m: { n: 42 } } });
      assert.equal(r.path, "chk-3/map-0.state");
      assert.equal(puts.length, 1);
      assert.equal(puts[0]!.path, "/bkt/pre/job-1/chk-3/map-0.state");
      assert.equal(r.size, puts[0]!.body.length);
      assert.deepEqual(decodeStateFile(new Uint8Array(puts[0]!.body), "put"), {
        operators: { m: { n: 42 } },
      });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("a savepoint written to a directory holds the files and its _metadata", async () => {
    const target = mkdtempSync(join(tmpdir(), "weir-s3-sp-"));
    try {
      const metadata: CheckpointMetadata = {
        format: "weir-checkpoint",
        version: 1,
        checkpointId: 7,
        savepoint: false,
        jobName: "j",
        jobId: "abcdef0123456789",
        timestamp: 0,
        enumerators: {},
        tasks: {
          t: {
            operators: ["t"],
            parallelism: 1,
            maxParallelism: 8,
            subtasks: [
              { subtask: 0, file: "chk-7/t-0.state", keyGroups: undefined, size: 3, finished: false },
            ],
          },
        },
      };
      const dir = await writeSavepointFrom(async () => Uint8Array.from([1, 2, 3]), metadata, target);
      assert.deepEqual([...readFileSync(join(dir, "chk-7/t-0.state"))], [1, 2, 3]);
      assert.ok(existsSync(join(dir, "_metadata")), "no _metadata: the savepoint cannot be restored");
      const written = JSON.parse(readFileSync(join(dir, "_metadata"), "utf8")) as CheckpointMetadata;
      assert.equal(written.savepoint, true);
      assert.deepEqual(written.tasks, JSON.parse(JSON.stringify(metadata.tasks)));
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });
});
