// Finding, loading and building the job module named on the command line, with errors that say
// which of those steps went wrong and what to do about it.

import { statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type CompiledJob,
  type EnvironmentConfig,
  type JobDefinition,
  type StreamExecutionEnvironment,
  isJobDefinition,
} from "../api/environment.ts";
import { buildJobEnvironment } from "../cluster/job-module.ts";
import { prepareJobImport } from "../cluster/job-module-loader.ts";
import { errorMessage } from "../core/errors.ts";
import { bufferTimeoutOption, integerOption } from "./args.ts";
import { CliUsageError, JobLoadError, oneLine } from "./cli-errors.ts";
import { BUFFER_TIMEOUT, MAX_PARALLELISM, PARALLELISM } from "./commands.ts";

/** Upper bound of key groups (as the engine checks it). */
export const MAX_KEY_GROUPS = 1 << 15;

/** The engine settings given on the command line (absent ones keep the engine's defaults). */
export function configFromArgs(command: string, values: Map<string, string>): EnvironmentConfig {
  const config: EnvironmentConfig = {};
  const p = integerOption(command, PARALLELISM, values.get("parallelism"), 1, MAX_KEY_GROUPS);
  const maxP = integerOption(command, MAX_PARALLELISM, values.get("max-parallelism"), 1, MAX_KEY_GROUPS);
  const timeout = bufferTimeoutOption(command, BUFFER_TIMEOUT, values.get("buffer-timeout"));
  if (p !== undefined) config.parallelism = p;
  if (maxP !== undefined) config.maxParallelism = maxP;
  if (timeout !== undefined) config.bufferTimeout = timeout;
  if (p !== undefined && maxP !== undefined && p > maxP) {
    throw new CliUsageError(
      `-p/--parallelism ${p} is above --max-parallelism ${maxP}`,
      "keyed operators cannot have more subtasks than key groups: raise --max-parallelism",
    );
  }
  return config;
}

/** The job file as the user named it (relative when under the current directory). */
export function shownPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel.startsWith("..") ? abs : rel;
}

/** The absolute path of an existing job file, or a usage error. */
export function resolveJobFile(command: string, path: string | undefined): string {
  if (path === undefined) {
    throw new CliUsageError(
      `'weir ${command}' needs a job file`,
      `e.g. weir ${command} examples/wordcount.ts`,
    );
  }
  const abs = resolve(path);
  let isFile = false;
  try {
    isFile = statSync(abs).isFile();
  } catch {
    throw new CliUsageError(
      `job file '${path}' not found`,
      "check the path (it is relative to the current directory)",
    );
  }
  if (!isFile) {
    throw new CliUsageError(
      `job file '${path}' is not a file`,
      "give the job module (.ts or .js) whose default export is defineJob(...)",
    );
  }
  return abs;
}

/** Import the module and return its job (its default export). */
export async function importJob(path: string, shown: string): Promise<JobDefinition> {
  let mod: Record<string, unknown>;
  try {
    await prepareJobImport(path);
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    throw new JobLoadError(
      `cannot load job module '${shown}': ${oneLine(errorMessage(e))}`,
      "fix the module (run with --verbose for the stack trace)",
      e,
    );
  }
  if (!isJobDefinition(mod.default)) {
    const what =
      mod.default === undefined ? "has no default export" : "has a default export that is not a job";
    throw new JobLoadError(
      `job module '${shown}' ${what}`,
      `make it 'export default defineJob((env) => { ... })' with defineJob imported from "weir-stream"`,
    );
  }
  return mod.default;
}

/** Run the job's build function and compile its graphs, as the MiniCluster will. */
export async function buildJob(
  def: JobDefinition,
  config: EnvironmentConfig,
  path: string,
  shown: string,
): Promise<{ env: StreamExecutionEnvironment; job: CompiledJob }> {
  let env: StreamExecutionEnvironment;
  try {
    env = await buildJobEnvironment(def, config, path);
  } catch (e) {
    throw new JobLoadError(
      `the build function of job '${shown}' failed: ${oneLine(errorMessage(e))}`,
      "fix the job's build function (run with --verbose for the stack trace)",
      e,
    );
  }
  try {
    return { env, job: env.compile() };
  } catch (e) {
    throw new JobLoadError(`invalid job '${shown}': ${oneLine(errorMessage(e))}`, "fix the job graph", e);
  }
}
