// What S3ObjectStore makes of S3's refusals, against s3rver (a real S3-compatible server on a free
// loopback port): a missing object is "none" (get → undefined, exists → false), but
// a missing bucket, refused credentials and an unreachable endpoint are failures whose message
// names the operation, the object, the HTTP status and what to check — never the secret. (s3rver
// checks the access key id but not the SigV4 signature, so a wrong secret cannot be refused here:
// S3 answers it with SignatureDoesNotMatch and HTTP 403, which the unknown key id's case covers.)

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import type { S3ConnectionOptions } from "../../src/checkpoint/s3-location.ts";
import { S3ObjectStore } from "../../src/checkpoint/s3-object-store.ts";
import { type S3TestServer, startS3Server } from "../fixtures/s3-server.ts";

const BUCKET = "weir-errors";
let s3: S3TestServer;

before(async () => {
  s3 = await startS3Server([BUCKET]);
});

after(async () => {
  await s3?.close();
});

function options(credentials?: { accessKeyId: string; secretAccessKey: string }): S3ConnectionOptions {
  return {
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: credentials ?? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  };
}

/** The error `p` rejects with (fails the test when it resolves). */
async function failure(p: Promise<unknown>, what: string): Promise<Error> {
  return p.then(
    (v) => assert.fail(`${what} should fail, resolved with ${String(v)}`),
    (e: Error) => e,
  );
}

const CREDENTIALS_HINT =
  "check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and the bucket's permissions";

describe("S3ObjectStore against s3rver: not found and refusals", () => {
  it("a missing object: get gives undefined, exists false; a present one is read back", async () => {
    const store = new S3ObjectStore(BUCKET, options());
    assert.equal(await store.get("missing/object"), undefined);
    assert.equal(await store.exists("missing/object"), false);
    await store.put("present/object", "abc");
    assert.equal(await store.exists("present/object"), true);
    assert.deepEqual([...((await store.get("present/object")) ?? [])], [97, 98, 99]);
    await store.put("present/empty", new Uint8Array(0));
    assert.deepEqual(await store.get("present/empty"), new Uint8Array(0));
  });

  it("a missing bucket is a failure, not a missing object, and the message says to create it", async () => {
    const store = new S3ObjectStore("weir-no-such-bucket", options());
    for (const [op, p] of [
      ["GET", () => store.get("chk-1/_metadata")],
      ["PUT", () => store.put("chk-1/_metadata", "x")],
      ["LIST", () => store.list("chk-1/")],
    ] as const) {
      const e = await failure(p(), `${op} in a missing bucket`);
      assert.match(
        e.message,
        new RegExp(
          `^S3 ${op} of 's3://weir-no-such-bucket/chk-1/(_metadata)?' at http://127\\.0\\.0\\.1:\\d+ failed: NoSuchBucket: The specified bucket does not exist \\(HTTP 404\\); create the bucket 'weir-no-such-bucket' or give another one$`,
        ),
      );
    }
  });

  it("an unknown access key id (HTTP 403): every operation fails, naming the credentials to check", async () => {
    const store = new S3ObjectStore(
      BUCKET,
      options({ accessKeyId: "UNKNOWNKEYID", secretAccessKey: "s3cr3t-unknown" }),
    );
    for (const [op, p] of [
      ["GET", () => store.get("a/b")],
      ["HEAD", () => store.exists("a/b")],
      ["PUT", () => store.put("a/b", "x")],
      ["DELETE", () => store.delete("a/b")],
    ] as const) {
      const e = await failure(p(), `${op} with an unknown key id`);
      assert.match(
        e.message,
        new RegExp(`^S3 ${op} of 's3://${BUCKET}/a/b' at http://127\\.0\\.0\\.1:\\d+ failed: `),
      );
      // the server's name and message once each (the SDK error's String() would repeat the name)
      assert.match(
        e.message,
        /failed: (InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records\.|Unknown: UnknownError) \(HTTP 403\); /,
      );
      assert.ok(e.message.endsWith(CREDENTIALS_HINT), e.message);
      assert.ok(!e.message.includes("s3cr3t-unknown"));
    }
  });

  it("an endpoint nobody listens on: no HTTP status, and the message says to check it is reachable", async () => {
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const store = new S3ObjectStore(BUCKET, { ...options(), endpoint });
    const e = await failure(store.get("a/b"), "a GET from a closed port");
    assert.match(
      e.message,
      new RegExp(`^S3 GET of 's3://${BUCKET}/a/b' at ${endpoint.replace(/\./g, "\\.")} failed: `),
    );
    assert.ok(!e.message.includes("(HTTP"), e.message);
    assert.ok(
      e.message.endsWith(`; check that ${endpoint} is reachable (AWS_ENDPOINT_URL_S3) and the bucket exists`),
      e.message,
    );
  });
});

/** A loopback port that was free a moment ago and is closed now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
