// Who owns a part file of the exactly-once file sink. A staged file's name says which run (job
// id), which sink operator (a hash of its uid), which execution attempt and which subtask wrote
// it: the committer uses the subtask to commit each restored committable on one new subtask only,
// and leftover removal uses run, operator and attempt to touch only its own job's staged files,
// never those of another job writing to the same directory.

import { existsSync, renameSync } from "node:fs";
import { basename } from "node:path";
import type { SinkWriterContext } from "../../core/sink.ts";

/** The file operations the committer performs (a seam: tests interpose on them to order a race). */
export interface StagedFileOps {
  exists(path: string): boolean;
  rename(from: string, to: string): void;
}

export const NODE_FILE_OPS: StagedFileOps = { exists: existsSync, rename: renameSync };

/** 32-bit FNV-1a of a string, as 8 hex digits: short, stable across processes and versions. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/**
 * The part of a part file's name that names its owner: the run (the job id's first 12 hex
 * digits; a restarted attempt keeps it, a restore into a new run does not) and the operator.
 */
export function ownerToken(ctx: SinkWriterContext): string {
  const run = ctx.runtime.jobId.replace(/-/g, "").slice(0, 12);
  return `${run}-${fnv1a(ctx.runtime.operatorUid)}`;
}

/**
 * `<prefix>-<subtask>-<run>-<operator>-<attempt>-<seq><ext>`: unique per run, operator, attempt
 * and subtask. The subtask comes first, as before names carried an owner (readers sort by it).
 */
export function partFileName(prefix: string, ctx: SinkWriterContext, seq: number, ext: string): string {
  return `${prefix}-${ctx.subtaskIndex}-${ownerToken(ctx)}-${ctx.runtime.attemptNumber}-${seq}${ext}`;
}

/**
 * The subtask that commits a restored committable at parallelism `parallelism`: the writing
 * subtask modulo the new parallelism (as the write-ahead and upsert sinks split theirs). A
 * committable from a checkpoint written before committables named their subtask is placed by a
 * hash of its final path: any fixed choice commits it once.
 */
export function committingSubtask(c: { subtask?: number; final: string }, parallelism: number): number {
  const writer = c.subtask ?? Number.parseInt(fnv1a(c.final), 16);
  return writer % parallelism;
}

/**
 * Whether a staging file is a leftover of an earlier attempt of this run and operator: written
 * by this job's sink (same run and operator in its name) in another attempt than the current one,
 * and not staged for a commit that the restored checkpoint still owes (`keep`, by file name).
 * Staged files of other runs and other operators — other jobs writing here — are never leftovers.
 */
export function isOwnLeftover(
  file: string,
  prefix: string,
  ctx: SinkWriterContext,
  keep: ReadonlySet<string>,
): boolean {
  if (keep.has(file) || !file.startsWith(`${prefix}-`)) return false;
  const subtask = /^\d+-/.exec(file.slice(prefix.length + 1));
  if (subtask === null) return false;
  const owner = `${prefix}-${subtask[0]}${ownerToken(ctx)}-`;
  if (!file.startsWith(owner)) return false;
  const attempt = /^(\d+)-\d+\./.exec(file.slice(owner.length));
  return attempt !== null && Number(attempt[1]) !== ctx.runtime.attemptNumber;
}

/** The staging file names referenced by restored committables (they stay until committed). */
export function referencedNames(restored: ReadonlyArray<{ pending: string }>): Set<string> {
  return new Set(restored.map((c) => basename(c.pending)));
}
