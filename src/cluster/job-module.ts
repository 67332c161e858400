// Loading a job module: its default export must be a job made with defineJob().

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type EnvironmentConfig,
  type JobDefinition,
  StreamExecutionEnvironment,
  isJobDefinition,
} from "../api/environment.ts";
import { InvalidJobError } from "../core/errors.ts";
import { prepareJobImport } from "./job-module-loader.ts";

export async function loadJobModule(path: string): Promise<JobDefinition> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new InvalidJobError(`job file '${abs}' does not exist`);
  let mod: Record<string, unknown>;
  try {
    await prepareJobImport(abs);
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidJobError(`cannot load job module '${abs}': ${(e as Error).message}`);
  }
  const def = mod.default;
  if (!isJobDefinition(def)) {
    throw new InvalidJobError(
      `'${abs}' has no job: its default export must be defineJob((env) => { ... }) (imported from "weir-stream")`,
    );
  }
  return def;
}

/** Build the job's environment: config first, then the job's own settings on top. */
export async function buildJobEnvironment(
  def: JobDefinition,
  config: EnvironmentConfig,
  modulePath: string,
): Promise<StreamExecutionEnvironment> {
  const env = new StreamExecutionEnvironment(config);
  env.defaultJobName = def.name ?? modulePath.replace(/^.*[\\/]/, "").replace(/\.[cm]?[jt]s$/, "");
  await def.build(env, env.getJobParameters());
  return env;
}
