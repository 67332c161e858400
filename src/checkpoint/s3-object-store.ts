// The few S3 operations checkpoints need (put, get, head, list, delete) over the AWS SDK's S3
// client (SigV4), loaded on first use so that jobs without S3 storage never load it. Every failure
// becomes a WeirError naming the operation and the object, without the SDK's error object (which
// can reach the client's configuration) and with every secret redacted.

import { WeirError } from "../core/errors.ts";
import {
  formatS3Location,
  redactSecrets,
  resolveS3Options,
  type S3ConnectionOptions,
} from "./s3-location.ts";

type Sdk = typeof import("@aws-sdk/client-s3");
type Client = import("@aws-sdk/client-s3").S3Client;

let sdk: Promise<Sdk> | undefined;

function loadSdk(): Promise<Sdk> {
  // Weir pins an SDK line that runs on Node 20: the SDK's notice that later lines will not is
  // not for Weir's users (and would be printed by every worker thread).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  sdk ??= import("@aws-sdk/client-s3").catch((e: unknown) => {
    sdk = undefined;
    throw new WeirError(
      "IO",
      `checkpoint storage on S3 needs the package '@aws-sdk/client-s3' (${(e as Error).message}); install it: npm install @aws-sdk/client-s3@~3.1178.0`,
    );
  });
  return sdk;
}

/** Objects of one bucket. */
export class S3ObjectStore {
  private client: Promise<Client> | undefined;

  constructor(
    readonly bucket: string,
    private readonly options: S3ConnectionOptions = {},
  ) {}

  private connect(): Promise<Client> {
    this.client ??= loadSdk().then((s) => {
      const o = resolveS3Options(this.options);
      return new s.S3Client({
        region: o.region,
        endpoint: o.endpoint,
        forcePathStyle: o.forcePathStyle,
        credentials: o.credentials,
        // Checksums only where S3 requires them: S3-compatible servers differ on the newer ones.
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
      });
    });
    return this.client;
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const s = await loadSdk();
    await this.call("PUT", key, async (c) => {
      await c.send(new s.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
    });
  }

  /** The object's bytes, or undefined when there is none. */
  async get(key: string): Promise<Uint8Array | undefined> {
    const s = await loadSdk();
    return this.call("GET", key, async (c) => {
      try {
        const r = await c.send(new s.GetObjectCommand({ Bucket: this.bucket, Key: key }));
        return r.Body === undefined ? new Uint8Array(0) : await r.Body.transformToByteArray();
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    });
  }

  async exists(key: string): Promise<boolean> {
    const s = await loadSdk();
    return this.call("HEAD", key, async (c) => {
      try {
        await c.send(new s.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
        return true;
      } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
      }
    });
  }

  /** Every key under `prefix` (give it a trailing '/' for a "directory"). */
  async list(prefix: string): Promise<string[]> {
    const s = await loadSdk();
    return this.call("LIST", prefix, async (c) => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const r = await c.send(
          new s.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of r.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
        token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys;
    });
  }

  async delete(key: string): Promise<void> {
    const s = await loadSdk();
    await this.call("DELETE", key, async (c) => {
      await c.send(new s.DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    });
  }

  /** Delete every object under `prefix` (a few at a time). */
  async deletePrefix(prefix: string): Promise<void> {
    const keys = await this.list(prefix);
    for (let i = 0; i < keys.length; i += 8) {
      await Promise.all(keys.slice(i, i + 8).map((k) => this.delete(k)));
    }
  }

  private async call<T>(op: string, key: string, fn: (c: Client) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      return await fn(client);
    } catch (e) {
      throw this.describe(op, key, e);
    }
  }

  private describe(op: string, key: string, e: unknown): WeirError {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = err.$metadata?.httpStatusCode;
    const where = formatS3Location(this.bucket, key);
    const endpoint = resolveS3Options(this.options).endpoint ?? "AWS S3";
    const hint =
      err.name === "SignatureDoesNotMatch" || err.name === "InvalidAccessKeyId" || status === 403
        ? "check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and the bucket's permissions"
        : err.name === "NoSuchBucket"
          ? `create the bucket '${this.bucket}' or give another one`
          : `check that ${endpoint} is reachable (AWS_ENDPOINT_URL_S3) and the bucket exists`;
    const what = `${err.name ?? "Error"}: ${err.message ?? String(e)}${status === undefined ? "" : ` (HTTP ${status})`}`;
    return new WeirError(
      "IO",
      redactSecrets(`S3 ${op} of '${where}' at ${endpoint} failed: ${what}; ${hint}`, this.options),
    );
  }
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (err.name === "NoSuchBucket") return false;
  return err.name === "NoSuchKey" || err.name === "NotFound" || err.$metadata?.httpStatusCode === 404;
}
