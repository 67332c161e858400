// S3 locations and listings without an S3 server: a location is parsed into bucket and key (bad
// ones refused, credentials never shown), path style and region resolved, a location with a query
// or fragment in its key is refused, an explicit endpoint wins over the environment, and list()
// follows continuation tokens through every page (a local HTTP server answers ListObjectsV2 in two
// pages), and deletePrefix() deletes every object listed, in several batches.

import assert from "node:assert/strict";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import {
  formatS3Location,
  parseS3Location,
  redactSecrets,
  resolveS3Options,
} from "../../src/checkpoint/s3-location.ts";
import { S3ObjectStore } from "../../src/checkpoint/s3-object-store.ts";

function listPage(keys: string[], next: string | undefined): string {
  const contents = keys.map((k) => `<Contents><Key>${k}</Key><Size>1</Size></Contents>`).join("");
  return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><Prefix>p/</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>${next !== undefined}</IsTruncated>${next === undefined ? "" : `<NextContinuationToken>${next}</NextContinuationToken>`}${contents}</ListBucketResult>`;
}

describe("S3 locations and listings: edges", () => {
  it("refuses a query or a fragment after the bucket", () => {
    assert.throws(() => parseS3Location("s3://bucket/some/prefix?versionId=1"), /query or fragment/);
    assert.throws(() => parseS3Location("s3://bucket/some/prefix#top"), /query or fragment/);
    assert.deepEqual(parseS3Location("s3://bucket/some/prefix"), { bucket: "bucket", key: "some/prefix" });
  });

  it("parses a location into bucket and key prefix, normalising slashes", () => {
    assert.deepEqual(parseS3Location("s3://bucket"), { bucket: "bucket", key: "" });
    assert.deepEqual(parseS3Location("s3://bucket/"), { bucket: "bucket", key: "" });
    assert.deepEqual(parseS3Location("s3://my.bucket-1//a//b/"), { bucket: "my.bucket-1", key: "a/b" });
    assert.deepEqual(parseS3Location("s3://bucket/x"), { bucket: "bucket", key: "x" });
    assert.equal(formatS3Location("bucket", ""), "s3://bucket");
    assert.equal(formatS3Location("bucket", "a/b"), "s3://bucket/a/b");
  });

  it("refuses what is no S3 location, a bad bucket name, '.' or '..', and credentials, unshown", () => {
    assert.throws(() => parseS3Location("file:///tmp/x"), /does not start with s3:\/\//);
    assert.throws(() => parseS3Location("s3://B/x"), /names no valid bucket \('B'\)/);
    assert.throws(() => parseS3Location("s3://bucket_x"), /names no valid bucket \('bucket_x'\)/);
    assert.throws(() => parseS3Location("s3:///x"), /names no valid bucket \(''\)/);
    assert.throws(() => parseS3Location("s3://bucket/a/../b"), /'\.' or '\.\.'/);
    assert.throws(() => parseS3Location("s3://bucket/./b"), /'\.' or '\.\.'/);
    assert.throws(
      () => parseS3Location("s3://AKIA:secret@bucket/x"),
      (e: Error) =>
        /holds credentials/.test(e.message) &&
        !e.message.includes("secret") &&
        e.message.includes("s3://***@bucket/x"),
    );
    assert.throws(() => parseS3Location("s3://AKIA:secret@bucket"), /holds credentials/);
  });

  it("a message never shows a secret key or session token, explicit or from the environment", () => {
    const options = {
      credentials: { accessKeyId: "AKIA1", secretAccessKey: "s3cr3t-key", sessionToken: "tok1" },
    };
    const env = { AWS_SECRET_ACCESS_KEY: "env-secret", AWS_SESSION_TOKEN: "env-token" };
    assert.equal(
      redactSecrets("a s3cr3t-key b tok1 c env-secret d env-token e s3cr3t-key", options, env),
      "a *** b *** c *** d *** e ***",
    );
    assert.equal(redactSecrets("key AKIA1 stays", options, {}), "key AKIA1 stays", "the key id is no secret");
    // Shorter than 4 characters: too likely to match ordinary text, left alone.
    assert.equal(
      redactSecrets("abc abcd", { credentials: { accessKeyId: "x", secretAccessKey: "abc" } }, {}),
      "abc abcd",
    );
    assert.equal(
      redactSecrets("abc abcd", { credentials: { accessKeyId: "x", secretAccessKey: "abcd" } }, {}),
      "abc ***",
    );
  });

  it("path style and region: explicit, then the environment, then the defaults", () => {
    const style = (env: Record<string, string>) => resolveS3Options({}, env).forcePathStyle;
    assert.equal(style({}), false, "AWS itself: virtual-hosted");
    assert.equal(style({ AWS_ENDPOINT_URL: "http://local:9000" }), true, "a custom endpoint: path style");
    assert.equal(style({ AWS_ENDPOINT_URL: "http://local:9000", WEIR_S3_PATH_STYLE: "false" }), false);
    assert.equal(style({ WEIR_S3_PATH_STYLE: "true" }), true);
    assert.equal(style({ WEIR_S3_PATH_STYLE: "1" }), true);
    assert.equal(style({ WEIR_S3_PATH_STYLE: "yes" }), false);
    assert.equal(
      resolveS3Options({ forcePathStyle: false }, { WEIR_S3_PATH_STYLE: "1" }).forcePathStyle,
      false,
    );
    const region = (options: { region?: string }, env: Record<string, string>) =>
      resolveS3Options(options, env).region;
    assert.equal(region({}, {}), "us-east-1");
    assert.equal(region({}, { AWS_DEFAULT_REGION: "eu-west-3" }), "eu-west-3");
    assert.equal(region({}, { AWS_DEFAULT_REGION: "eu-west-3", AWS_REGION: "ap-south-1" }), "ap-south-1");
    assert.equal(region({ region: "sa-east-1" }, { AWS_REGION: "ap-south-1" }), "sa-east-1");
  });

  it("an explicit endpoint wins over the environment's, which is the fallback", () => {
    const env = { AWS_ENDPOINT_URL: "http://env:9000" };
    assert.equal(resolveS3Options({ endpoint: "http://explicit:9000" }, {}).endpoint, "http://explicit:9000");
    assert.equal(
      resolveS3Options({ endpoint: "http://explicit:9000" }, env).endpoint,
      "http://explicit:9000",
    );
    assert.equal(resolveS3Options({}, env).endpoint, "http://env:9000");
    assert.equal(
      resolveS3Options({}, { AWS_ENDPOINT_URL_S3: "http://s3:1", ...env }).endpoint,
      "http://s3:1",
    );
  });

  it("list() reads every page of a truncated listing", async () => {
    const tokens: Array<string | null> = [];
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const token = url.searchParams.get("continuation-token");
      tokens.push(token);
      res.writeHead(200, { "content-type": "application/xml" });
      res.end(token === null ? listPage(["p/a", "p/b"], "page-2") : listPage(["p/c"], undefined));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as AddressInfo).port;
      const store = new S3ObjectStore("bkt", {
        endpoint: `http://127.0.0.1:${port}`,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      });
      assert.deepEqual(await store.list("p/"), ["p/a", "p/b", "p/c"]);
      assert.deepEqual(tokens, [null, "page-2"]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("deletePrefix() deletes every listed object, more than one batch of them", async () => {
    const keys = Array.from({ length: 19 }, (_, i) => `p/k${String(i).padStart(2, "0")}`);
    const deleted: string[] = [];
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (req.method === "DELETE") {
        deleted.push(decodeURIComponent(url.pathname.replace(/^\/bkt\//, "")));
        res.writeHead(204);
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": "application/xml" });
      res.end(listPage(keys, undefined));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as AddressInfo).port;
      const store = new S3ObjectStore("bkt", {
        endpoint: `http://127.0.0.1:${port}`,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      });
      await store.deletePrefix("p/");
      assert.deepEqual(deleted.sort(), keys);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
