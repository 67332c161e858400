// Job submission over the JobManager's REST API, in Flink's shapes: POST /jars/upload stores a job
// artifact (the esbuild bundle of src/cluster/job-artifact.ts, as the multipart field "jarfile" or
// as the raw body) under the sha256 of its bytes, which is its jar id; POST /jars/:jarid/run runs it
// (parallelism, savepointPath, allowNonRestoredState, programArgsList, and Weir's `configuration`:
// the options of a local run); GET /jars lists the stored artifacts, DELETE /jars/:jarid drops one.
// GET /jobs/:jobid/execution-result answers IN_PROGRESS until the job ends, then how it ended (its
// result, or its failure), with the attempts that failed on the way: what `weir run -m` polls.

import type { IncomingMessage } from "node:http";
import { dirname } from "node:path";
import type { EnvironmentConfig } from "../api/environment.ts";
import { type JobManager, UnknownArtifactError } from "../cluster/jobmanager/job-manager.ts";
import type { RestAnswer } from "../web/rest-handlers.ts";
import { readJson } from "../web/rest-server.ts";

/** The largest artifact taken (a bundle with its inline source map is a few MiB). */
export const MAX_ARTIFACT_BYTES = 128 * 1024 * 1024;

const error = (status: number, message: string): RestAnswer => ({ status, body: { errors: [message] } });

export async function jarRoutes(
  jm: JobManager,
  req: IncomingMessage,
  url: URL,
  parts: string[],
): Promise<RestAnswer | undefined> {
  const method = req.method ?? "GET";
  if (parts.length === 1 && method === "GET") {
    return {
      status: 200,
      body: {
        address: `http://${req.headers.host ?? "localhost"}`,
        files: jm.artifacts.list().map((a) => ({
          id: a.id,
          name: a.name,
          uploaded: a.uploaded,
          size: a.size,
          jobs: [...a.jobs],
          entry: [],
        })),
      },
    };
  }
  if (parts.length === 2 && parts[1] === "upload" && method === "POST") {
    const upload = await readUpload(req, url);
    if ("error" in upload) return upload.error;
    const stored = jm.artifacts.put(upload.name, upload.bytes);
    // Flink's answer: the jar id is the file name's last part (here the artifact's sha256).
    return { status: 200, body: { filename: dirname(stored.modulePath), status: "success" } };
  }
  const jarId = parts[1]!;
  if (parts.length === 2 && method === "DELETE") {
    if (jm.artifacts.get(jarId) === undefined) return error(404, `no artifact ${jarId} on this JobManager`);
    if (!jm.artifacts.delete(jarId)) {
      return error(409, `artifact ${jarId} is used by a running job; it goes when its jobs end`);
    }
    return { status: 200, body: {} };
  }
  if (parts.length === 3 && parts[2] === "run" && method === "POST") {
    const body = await readJson(req);
    if ("invalid" in body) return error(400, body.invalid);
    const config = runConfig(body.json);
    if (typeof config === "string") return error(400, config);
    try {
      const job = await jm.runArtifact(jarId, config);
      return { status: 200, body: { jobid: job.jobId, name: job.jobName, slots: job.slots } };
    } catch (e) {
      if (e instanceof UnknownArtifactError) return error(404, e.message);
      return error(400, e instanceof Error ? e.message : String(e));
    }
  }
  return undefined;
}

/** The job's configuration from a run request's body, or what is wrong with it. */
function runConfig(json: unknown): EnvironmentConfig | string {
  if (json === undefined) return {};
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return "the request body must be a JSON object";
  }
  const b = json as Record<string, unknown>;
  const given = b.configuration ?? {};
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    return "'configuration' must be an object of the job's options (those of a local run)";
  }
  const config: EnvironmentConfig = { ...(given as EnvironmentConfig) };
  if ("clock" in config) return "'configuration.clock' is not supported: cluster jobs use the system clock";
  if (b.parallelism !== undefined && b.parallelism !== null) {
    if (!Number.isInteger(b.parallelism) || (b.parallelism as number) < 1) {
      return `'parallelism' must be an integer >= 1, got ${JSON.stringify(b.parallelism)}`;
    }
    config.parallelism = b.parallelism as number;
  }
  if (b.savepointPath !== undefined && b.savepointPath !== null) {
    if (typeof b.savepointPath !== "string" || b.savepointPath.length === 0) {
      return "'savepointPath' must be a non-empty string";
    }
    config.restorePath = b.savepointPath;
  }
  if (b.allowNonRestoredState !== undefined && b.allowNonRestoredState !== null) {
    if (typeof b.allowNonRestoredState !== "boolean") return "'allowNonRestoredState' must be true or false";
    config.allowNonRestoredState = b.allowNonRestoredState;
  }
  const list = b.programArgsList;
  if (list !== undefined && list !== null) {
    if (!Array.isArray(list) || !list.every((a) => typeof a === "string")) {
      return "'programArgsList' must be an array of strings";
    }
    config.jobArguments = list;
  } else if (typeof b.programArgs === "string" && b.programArgs.trim().length > 0) {
    config.jobArguments = b.programArgs.trim().split(/\s+/);
  }
  return config;
}

/** The uploaded artifact: the multipart field "jarfile" (Flink's), or the raw body named by ?name=. */
async function readUpload(
  req: IncomingMessage,
  url: URL,
): Promise<{ name: string; bytes: Uint8Array } | { error: RestAnswer }> {
  const tooLarge = {
    error: error(413, `the artifact is larger than ${MAX_ARTIFACT_BYTES} bytes; bundle less into the job`),
  };
  if (Number(req.headers["content-length"] ?? 0) > MAX_ARTIFACT_BYTES) return tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ARTIFACT_BYTES) return tooLarge;
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const type = req.headers["content-type"] ?? "";
  let name = url.searchParams.get("name") ?? "job.mjs";
  let bytes: Uint8Array = body;
  if (type.startsWith("multipart/form-data")) {
    let file: File | string | null;
    try {
      const form = await new Request("http://upload/", {
        method: "POST",
        headers: { "content-type": type },
        body,
      }).formData();
      file = form.get("jarfile");
    } catch {
      return { error: error(400, "the multipart body cannot be read") };
    }
    if (file === null || typeof file === "string") {
      return { error: error(400, "the multipart body has no file field 'jarfile' (the job artifact)") };
    }
    name = file.name;
    bytes = new Uint8Array(await file.arrayBuffer());
  }
  if (bytes.length === 0) return { error: error(400, "the artifact is empty: upload the job's bundle") };
  return { name, bytes };
}

/** GET /jobs/:jobid/execution-result (Flink's shape, with Weir's result and failed attempts). */
export function executionResult(jm: JobManager, jobId: string): RestAnswer {
  const job = jm.jobs.get(jobId);
  if (job === undefined) return error(404, `Job ${jobId} not found`);
  const failures = jsonSafe(job.failures);
  const end = job.ended;
  // The job keeps its last failures only: a client counts from the ones dropped before them.
  const dropped = { "attempt-failures-dropped": job.failuresDropped };
  if (end === undefined)
    return { status: 200, body: { status: { id: "IN_PROGRESS" }, "attempt-failures": failures, ...dropped } };
  const e = end.error;
  return {
    status: 200,
    body: {
      status: { id: "COMPLETED" },
      "job-execution-result": {
        id: jobId,
        "application-status":
          end.status === "FINISHED" ? "SUCCEEDED" : end.status === "CANCELED" ? "CANCELED" : "FAILED",
        "accumulator-results": jsonSafe(end.result?.accumulators ?? {}),
        "net-runtime": end.result?.runtimeMs ?? 0,
        ...(e === undefined
          ? {}
          : {
              "failure-cause": {
                class: e.name,
                "stack-trace": `${e.name}: ${e.message}`,
                error: jsonSafe(e),
              },
            }),
        result: jsonSafe(end.result ?? null),
        collected: end.collected === undefined ? null : jsonSafe(Object.fromEntries(end.collected)),
      },
      "attempt-failures": failures,
      ...dropped,
    },
  };
}

/** A value as JSON carries it: Maps as objects, Sets as arrays, bigints as strings. */
function jsonSafe(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (_k, x: unknown) =>
      typeof x === "bigint"
        ? x.toString()
        : x instanceof Map
          ? Object.fromEntries(x)
          : x instanceof Set
            ? [...x]
            : x,
    ) ?? "null",
  );
}
