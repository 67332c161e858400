// The fault-tolerance options of `weir run` (checkpoints, state backend, savepoints, restore,
// restart strategy): parsed into the engine's settings, checked against the built job, and the
// savepoint to restore from checked before any thread starts.

import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { CompiledJob, EnvironmentConfig } from "../api/environment.ts";
import { METADATA_FILE, loadCheckpoint } from "../checkpoint/fs-storage.ts";
import { type RestartStrategyConfig, RestartStrategies } from "../checkpoint/restart-strategy.ts";
import { isS3Location } from "../checkpoint/s3-location.ts";
import { errorMessage } from "../core/errors.ts";
import { type OptionSpec, choiceOption, example, integerOption, optionLabel } from "./args.ts";
import { CliUsageError, JobLoadError, oneLine } from "./cli-errors.ts";
import {
  ALLOW_NON_RESTORED_STATE,
  CHECKPOINTING_MODE,
  CHECKPOINT_DIR,
  CHECKPOINT_INTERVAL,
  FROM_SAVEPOINT,
  RESTART_STRATEGY,
  SAVEPOINT_DIR,
  STATE_BACKEND,
  STATE_DIR,
} from "./commands.ts";

export interface FaultToleranceOptions {
  /** The engine settings given (absent ones keep the engine's, or the job's, defaults). */
  readonly config: EnvironmentConfig;
  /** Where Ctrl-C puts the savepoint (absent: Ctrl-C cancels). */
  readonly savepointDir: string | undefined;
  /** The restore path as the user typed it (for messages). */
  readonly restoreShown: string | undefined;
}

const MODES = { "exactly-once": "EXACTLY_ONCE", "at-least-once": "AT_LEAST_ONCE" } as const;

/** Parse the options; mistakes that need no job are reported here (exit 2). */
export function faultToleranceOptions(
  command: string,
  values: Map<string, string>,
  flags: Set<string>,
): FaultToleranceOptions {
  const config: EnvironmentConfig = {};
  const interval = integerOption(
    command,
    CHECKPOINT_INTERVAL,
    values.get(CHECKPOINT_INTERVAL.name),
    1,
    Number.MAX_SAFE_INTEGER,
  );
  if (interval !== undefined) config.checkpointInterval = interval;
  const mode = choiceOption(command, CHECKPOINTING_MODE, values.get(CHECKPOINTING_MODE.name), [
    "exactly-once",
    "at-least-once",
  ] as const);
  if (mode !== undefined) {
    // The engine takes the mode together with the interval.
    if (interval === undefined) {
      throw new CliUsageError(
        `${optionLabel(CHECKPOINTING_MODE)} goes with ${optionLabel(CHECKPOINT_INTERVAL)}`,
        `e.g. ${example(CHECKPOINT_INTERVAL)} ${example(CHECKPOINTING_MODE)}`,
      );
    }
    config.checkpointingMode = MODES[mode];
  }
  const checkpointDir = directoryOption(command, CHECKPOINT_DIR, values.get(CHECKPOINT_DIR.name));
  if (checkpointDir !== undefined) config.checkpointDirectory = checkpointDir;
  const backend = choiceOption(command, STATE_BACKEND, values.get(STATE_BACKEND.name), [
    "heap",
    "embedded",
  ] as const);
  if (backend !== undefined) config.stateBackend = backend;
  const stateDir = directoryOption(command, STATE_DIR, values.get(STATE_DIR.name));
  if (stateDir !== undefined) {
    if (backend === "heap") {
      throw new CliUsageError(
        `${optionLabel(STATE_DIR)} is where the embedded backend keeps its stores; the heap backend has none`,
        `use ${example(STATE_BACKEND)}, or leave out ${optionLabel(STATE_DIR)}`,
      );
    }
    config.stateDirectory = stateDir;
  }
  const restart = values.get(RESTART_STRATEGY.name);
  if (restart !== undefined) config.restartStrategy = restartStrategyOption(command, restart);
  const savepointDir = directoryOption(command, SAVEPOINT_DIR, values.get(SAVEPOINT_DIR.name));
  const restoreShown = values.get(FROM_SAVEPOINT.name);
  if (restoreShown !== undefined) config.restorePath = restorePath(restoreShown);
  if (flags.has(ALLOW_NON_RESTORED_STATE.name)) config.allowNonRestoredState = true;
  return { config, savepointDir, restoreShown };
}

/**
 * Mistakes that show only once the job is built (it may configure checkpoints, its backend or its
 * restore path itself): options that would have no effect.
 */
export function checkAgainstJob(options: FaultToleranceOptions, job: CompiledJob): void {
  const c = options.config;
  const checkpointing = job.checkpoint.interval > 0;
  const enable = `add ${example(CHECKPOINT_INTERVAL)} (or enable checkpointing in the job)`;
  if (options.savepointDir !== undefined && !checkpointing) {
    throw new CliUsageError(
      `${optionLabel(SAVEPOINT_DIR)} needs checkpointing (a savepoint is a checkpoint taken on Ctrl-C), and job '${job.jobName}' does not checkpoint`,
      enable,
    );
  }
  if (c.checkpointDirectory !== undefined && !checkpointing) {
    throw new CliUsageError(
      `${optionLabel(CHECKPOINT_DIR)} has no effect: job '${job.jobName}' does not checkpoint`,
      enable,
    );
  }
  if (c.stateDirectory !== undefined && job.stateBackend.kind !== "embedded") {
    throw new CliUsageError(
      `${optionLabel(STATE_DIR)} has no effect: job '${job.jobName}' keeps its state on the heap`,
      `add ${example(STATE_BACKEND)}`,
    );
  }
  if (c.allowNonRestoredState === true && job.restorePath === undefined) {
    throw new CliUsageError(
      `${optionLabel(ALLOW_NON_RESTORED_STATE)} goes with ${optionLabel(FROM_SAVEPOINT)}`,
      `e.g. ${example(FROM_SAVEPOINT)} ${optionLabel(ALLOW_NON_RESTORED_STATE)}`,
    );
  }
}

/** A directory option: a path that is not an existing file (missing directories are created). */
function directoryOption(command: string, spec: OptionSpec, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let isFile = false;
  try {
    isFile = !statSync(raw).isDirectory();
  } catch {
    // missing: created when first written
  }
  if (isFile) {
    throw new CliUsageError(
      `${optionLabel(spec)} of 'weir ${command}' must be a directory, but '${raw}' is a file`,
      "give a directory (it is created if missing)",
    );
  }
  return raw;
}

// ---- --restart-strategy ----------------------------------------------------------------------

const STRATEGIES =
  "none, fixed-delay:<attempts>:<delayMs>, exponential[:<initialMs>:<maxMs>] or failure-rate:<max>:<intervalMs>:<delayMs>";

/** `none`, `fixed-delay:3:1000`, `exponential`, `exponential:500:30000`, `failure-rate:3:60000:1000`. */
export function restartStrategyOption(command: string, raw: string): RestartStrategyConfig {
  const label = optionLabel(RESTART_STRATEGY);
  const [kind = "", ...parts] = raw.trim().toLowerCase().split(":");
  const bad = (what: string) =>
    new CliUsageError(
      `${label} of 'weir ${command}' ${what}, got '${raw}'`,
      `e.g. ${example(RESTART_STRATEGY)} (see 'weir ${command} --help')`,
    );
  /** The i-th number of the spec: a whole number >= min (or Infinity where 'unlimited' is allowed). */
  const num = (i: number, name: string, min: number, unlimited = false): number => {
    const s = parts[i]!;
    if (unlimited && s === "unlimited") return Number.POSITIVE_INFINITY;
    const n = /^\d+$/.test(s) ? Number(s) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min) {
      const what = min === 0 ? "an integer >= 0" : `an integer >= ${min}`;
      throw bad(`${kind}: <${name}> must be ${what}${unlimited ? " or 'unlimited'" : ""}`);
    }
    return n;
  };
  const arity = (n: number, syntax: string) => {
    if (parts.length !== n) throw bad(`${kind} is written ${syntax}`);
  };
  switch (kind) {
    case "none":
      arity(0, "none");
      return RestartStrategies.noRestart();
    case "fixed-delay":
      arity(2, "fixed-delay:<attempts>:<delayMs>");
      return RestartStrategies.fixedDelay(num(0, "attempts", 0, true), num(1, "delayMs", 0));
    case "exponential": {
      if (parts.length === 0) return RestartStrategies.exponentialDelay();
      arity(2, "exponential or exponential:<initialMs>:<maxMs>");
      const initialDelayMs = num(0, "initialMs", 0);
      const maxDelayMs = num(1, "maxMs", 0);
      if (maxDelayMs < initialDelayMs) throw bad("exponential: <maxMs> must be at least <initialMs>");
      return RestartStrategies.exponentialDelay({ initialDelayMs, maxDelayMs });
    }
    case "failure-rate":
      arity(3, "failure-rate:<max>:<intervalMs>:<delayMs>");
      return RestartStrategies.failureRate(num(0, "max", 1), num(1, "intervalMs", 1), num(2, "delayMs", 0));
    default:
      throw bad(`must be ${STRATEGIES}`);
  }
}

// ---- --from-savepoint ------------------------------------------------------------------------

const WHAT_TO_GIVE =
  "give the directory of a savepoint (savepoint-<id>-<N>, printed when a job stops with a savepoint) or of a retained checkpoint (chk-N), each holding a _metadata file";

/** The checkpoint or savepoint directory named by `raw`, or a usage error saying what to give. */
function restorePath(raw: string): string {
  const label = optionLabel(FROM_SAVEPOINT);
  // An S3 location is checked when its metadata is read (checkRestorePoint).
  if (isS3Location(raw)) return raw.replace(/\/+$/, "");
  const abs = resolve(raw);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(abs).isDirectory();
  } catch {
    throw new CliUsageError(`${label} '${raw}' not found`, WHAT_TO_GIVE);
  }
  if (!isDirectory) {
    if (basename(abs) === METADATA_FILE) return dirname(abs);
    throw new CliUsageError(`${label} '${raw}' is a file, not a savepoint directory`, WHAT_TO_GIVE);
  }
  if (!existsSync(join(abs, METADATA_FILE))) {
    const newest = newestRestorePoint(abs);
    throw new CliUsageError(
      `${label} '${raw}' is not a savepoint or checkpoint: it has no ${METADATA_FILE}`,
      newest !== undefined ? `did you mean '${join(raw, newest)}' (the newest one inside it)?` : WHAT_TO_GIVE,
    );
  }
  return abs;
}

/** The newest directory with a _metadata up to two levels under `dir` (relative), if any. */
function newestRestorePoint(dir: string): string | undefined {
  let best: { rel: string; time: number } | undefined;
  const visit = (rel: string, depth: number) => {
    let entries: string[];
    try {
      entries = readdirSync(join(dir, rel));
    } catch {
      return;
    }
    for (const name of entries) {
      const sub = join(rel, name);
      try {
        const meta = statSync(join(dir, sub, METADATA_FILE));
        if (best === undefined || meta.mtimeMs > best.time) best = { rel: sub, time: meta.mtimeMs };
      } catch {
        if (depth < 2 && statSync(join(dir, sub), { throwIfNoEntry: false })?.isDirectory()) {
          visit(sub, depth + 1);
        }
      }
    }
  };
  visit("", 1);
  return best?.rel;
}

/**
 * Read the savepoint's metadata and check that the files this job will restore exist: a corrupt,
 * foreign or newer metadata file, or a missing state file, is named here (exit 1) before any
 * thread starts. (The state files' contents are checked as the tasks read them.)
 */
export async function checkRestorePoint(options: FaultToleranceOptions, job: CompiledJob): Promise<void> {
  if (job.restorePath === undefined) return;
  const shown = options.restoreShown ?? job.restorePath;
  const hint = "restore from another savepoint or checkpoint";
  let cp: Awaited<ReturnType<typeof loadCheckpoint>>;
  try {
    cp = await loadCheckpoint(job.restorePath);
  } catch (e) {
    throw new JobLoadError(`cannot restore from '${shown}': ${oneLine(errorMessage(e))}`, hint, e);
  }
  const uids = new Set(job.jobGraph.vertices.flatMap((v) => v.nodes.map((n) => n.uid)));
  for (const task of Object.values(cp.metadata.tasks ?? {})) {
    if (!task.operators.some((uid) => uids.has(uid))) continue;
    for (const s of task.subtasks) {
      for (const f of [s.file, ...Object.values(s.keyGroups ?? {})]) {
        if (f === undefined) continue;
        const path = cp.location(f);
        if (!(await cp.exists(f))) {
          throw new JobLoadError(`cannot restore from '${shown}': its file '${path}' is missing`, hint);
        }
      }
    }
  }
}
