// The Nexmark job module run by `weir nexmark run` on the MiniCluster: its parameters come as JSON in the
// WEIR_NEXMARK_JOB environment variable (set by the caller before runJob, inherited by worker threads), so
// every thread builds the same graph.

import { fileURLToPath } from "node:url";
import { defineJob, InvalidJobError } from "../../index.ts";
import { buildNexmarkJob, type NexmarkJobParams } from "./pipeline.ts";

/** The environment variable holding the JSON NexmarkJobParams of the job. */
export const NEXMARK_JOB_ENV = "WEIR_NEXMARK_JOB";

/** Path of this module, for runJob({ job }). */
export const NEXMARK_JOB_MODULE = fileURLToPath(import.meta.url);

export function readJobParams(): NexmarkJobParams {
  const raw = process.env[NEXMARK_JOB_ENV];
  if (raw === undefined || raw === "") {
    throw new InvalidJobError(
      `the Nexmark job module needs its parameters as JSON in ${NEXMARK_JOB_ENV}; run it with 'weir nexmark run'`,
    );
  }
  try {
    return JSON.parse(raw) as NexmarkJobParams;
  } catch (e) {
    throw new InvalidJobError(`${NEXMARK_JOB_ENV} is not valid JSON: ${(e as Error).message}`);
  }
}

export default defineJob("nexmark", (env) => {
  const params = readJobParams();
  env.defaultJobName = `nexmark ${params.query}`;
  buildNexmarkJob(env, params);
});
