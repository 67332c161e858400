// The Nexmark job module run by `weir nexmark run` on the MiniCluster. Its parameters are job
// arguments (`--query q5 --events 1000000 --seed 7 ...`, see nexmarkJobArguments), handed to the
// build function of every worker thread alike, so every thread builds the same graph; it can also
// be run directly: `weir run src/nexmark/job.ts -- --query q1 --events 100000`.

import { fileURLToPath } from "node:url";
import { defineJob, type ParameterTool } from "../index.ts";
import { buildNexmarkJob, type NexmarkJobParams } from "./pipeline.ts";

/** Path of this module, for runJob({ job }). */
export const NEXMARK_JOB_MODULE = fileURLToPath(import.meta.url);

/** The job arguments that make this module build the job of `params`. */
export function nexmarkJobArguments(params: NexmarkJobParams): string[] {
  const args = ["--query", params.query];
  if (params.generator?.numEvents !== undefined) args.push("--events", String(params.generator.numEvents));
  if (params.generator?.seed !== undefined) args.push("--seed", String(params.generator.seed));
  if (params.generator?.firstEventRate !== undefined)
    args.push("--rate", String(params.generator.firstEventRate));
  if (params.generator?.timelines !== undefined) args.push("--timelines", String(params.generator.timelines));
  if (params.input !== undefined) args.push("--input", params.input);
  if (params.outDir !== undefined) args.push("--out-dir", params.outDir);
  if (params.progressChannel !== undefined) args.push("--progress-channel", params.progressChannel);
  if (params.exactlyOnce === true) args.push("--exactly-once", "true");
  if (params.sideInput !== undefined) args.push("--side-input", params.sideInput);
  return args;
}

/** The job's parameters from its arguments (the inverse of nexmarkJobArguments). */
export function nexmarkJobParams(args: ParameterTool): NexmarkJobParams {
  const params: NexmarkJobParams = { query: args.getRequired("query") };
  const input = args.get("input");
  if (input !== undefined) params.input = input;
  else {
    params.generator = { numEvents: args.getInt("events", 0), seed: args.getInt("seed", 0) };
    if (args.has("rate")) params.generator.firstEventRate = args.getNumber("rate");
    if (args.has("timelines")) params.generator.timelines = args.getInt("timelines");
  }
  const outDir = args.get("out-dir");
  if (outDir !== undefined) params.outDir = outDir;
  const channel = args.get("progress-channel");
  if (channel !== undefined) params.progressChannel = channel;
  if (args.getBoolean("exactly-once", false)) params.exactlyOnce = true;
  const sideInput = args.get("side-input");
  if (sideInput !== undefined) params.sideInput = sideInput;
  return params;
}

export default defineJob("nexmark", (env, args) => {
  const params = nexmarkJobParams(args);
  env.defaultJobName = `nexmark ${params.query}`;
  buildNexmarkJob(env, params);
});
