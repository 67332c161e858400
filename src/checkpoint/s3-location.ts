// S3 locations (`s3://bucket/prefix`) and how to reach them: endpoint, region, path-style and
// credentials, from explicit options or the standard AWS environment variables. Credentials are
// never part of a location, and never appear in a message: `redactSecrets` removes them.

import { WeirError } from "../core/errors.ts";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** How to reach an S3-compatible service. Absent fields come from the environment. */
export interface S3ConnectionOptions {
  /** e.g. `http://127.0.0.1:9000` (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS itself). */
  endpoint?: string;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, else `us-east-1`. */
  region?: string;
  /** Path-style URLs (`host/bucket/key`), as local servers need (default: WEIR_S3_PATH_STYLE, else true with a custom endpoint). */
  forcePathStyle?: boolean;
  /** Default: the AWS SDK's chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, profiles, instance roles). */
  credentials?: S3Credentials;
}

export interface S3Location {
  bucket: string;
  /** The key prefix, without leading or trailing slash ("" for the bucket's root). */
  key: string;
}

export function isS3Location(location: string): boolean {
  return location.startsWith("s3://");
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parse `s3://bucket/some/prefix`; refuses credentials, queries and bad bucket names. */
export function parseS3Location(location: string): S3Location {
  const bad = (what: string) =>
    new WeirError(
      "INVALID_ARGUMENT",
      `S3 location '${safeLocation(location)}' ${what}; write it as s3://<bucket>/<prefix> (credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the endpoint from AWS_ENDPOINT_URL_S3)`,
    );
  if (!isS3Location(location)) throw bad("does not start with s3://");
  const rest = location.slice("s3://".length);
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  if (authority.includes("@")) throw bad("holds credentials; never put them in a location");
  if (rest.includes("?") || rest.includes("#")) throw bad("has a query or fragment");
  if (!BUCKET.test(authority)) throw bad(`names no valid bucket ('${authority}')`);
  const key = (slash < 0 ? "" : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, "").replace(/\/{2,}/g, "/");
  if (key.split("/").some((part) => part === "." || part === "..")) throw bad("has '.' or '..' in its path");
  return { bucket: authority, key };
}

/** `s3://bucket/key` */
export function formatS3Location(bucket: string, key: string): string {
  return key === "" ? `s3://${bucket}` : `s3://${bucket}/${key}`;
}

/** Join key parts with '/', skipping empty ones. */
export function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/");
}

/** The parent of a key ("" at the top). */
export function parentKey(key: string): string {
  const i = key.lastIndexOf("/");
  return i < 0 ? "" : key.slice(0, i);
}

/** A location as it may be shown: anything between `s3://` and `@` removed. */
function safeLocation(location: string): string {
  return location.replace(/^(s3:\/\/)[^/]*@/, "$1***@");
}

/** The options in effect: explicit ones, then the environment. */
export function resolveS3Options(
  options: S3ConnectionOptions = {},
  env = process.env,
): Required<Omit<S3ConnectionOptions, "credentials" | "endpoint">> & {
  endpoint: string | undefined;
  credentials: S3Credentials | undefined;
} {
  const endpoint = options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const pathStyleEnv = env.WEIR_S3_PATH_STYLE;
  const forcePathStyle =
    options.forcePathStyle ??
    (pathStyleEnv !== undefined ? pathStyleEnv === "true" || pathStyleEnv === "1" : endpoint !== undefined);
  return {
    endpoint,
    region: options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    forcePathStyle,
    credentials: options.credentials,
  };
}

/** `text` with every secret known here (explicit or from the environment) replaced by `***`. */
export function redactSecrets(text: string, options: S3ConnectionOptions = {}, env = process.env): string {
  const secrets = [
    options.credentials?.secretAccessKey,
    options.credentials?.sessionToken,
    env.AWS_SECRET_ACCESS_KEY,
    env.AWS_SESSION_TOKEN,
  ].filter((s): s is string => s !== undefined && s.length >= 4);
  let out = text;
  for (const s of secrets) out = out.split(s).join("***");
  return out;
}
