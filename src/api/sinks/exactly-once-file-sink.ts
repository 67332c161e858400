// An exactly-once file sink (two-phase commit). Each writer appends to an in-progress part file
// under <dir>/.staging/; at a checkpoint barrier (and at the end of input) it closes the file,
// fsyncs it and renames it to .pending — its committable; when the checkpoint completes the
// committer renames it into <dir>, where readers see only committed parts. Part files roll by
// size and age. Names carry run, operator, attempt and subtask (staged-part-files.ts): a restarted
// attempt never reuses a name, a restored committable is committed by one new subtask, and only
// this job's staged files of its earlier attempts that no checkpoint refers to are removed.

import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { InvalidArgumentError, WeirError } from "../../core/errors.ts";
import type {
  Committer,
  PrecommittingSinkWriter,
  SinkWriterContext,
  TwoPhaseCommittingSink,
} from "../../core/sink.ts";
import { formatRecord } from "./print-sink.ts";
import {
  committingSubtask,
  isOwnLeftover,
  NODE_FILE_OPS,
  partFileName,
  referencedNames,
  type StagedFileOps,
} from "./staged-part-files.ts";

export interface RollingPolicy {
  /** Roll a part file once it holds this many bytes (default 128 MiB). */
  maxPartSize?: number;
  /** Roll a part file this many ms after it was opened (default 60 s). */
  rolloverInterval?: number;
}

export interface RowFormatOptions {
  format?: "text" | "jsonl";
  rollingPolicy?: RollingPolicy;
  /** Part file name prefix (default "part"). */
  partPrefix?: string;
}

/** A part file staged for commit: its pending path and its final path. */
export interface FileCommittable {
  pending: string;
  final: string;
  /** The subtask that wrote it (absent in checkpoints written before committables named it). */
  subtask?: number;
}

const STAGING = ".staging";
const BUFFER_BYTES = 64 * 1024;

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not every filesystem fsyncs directories
  }
}

export class ExactlyOnceFileSink<T> implements TwoPhaseCommittingSink<T, FileCommittable> {
  readonly directory: string;
  private readonly maxPartSize: number;
  private readonly rolloverInterval: number;
  private readonly prefix: string;
  private readonly ext: string;
  private readonly format: (v: T) => string;

  constructor(directory: string, options: RowFormatOptions = {}) {
    if (typeof directory !== "string" || directory.length === 0) {
      throw new InvalidArgumentError("the file sink needs a directory path");
    }
    this.directory = resolve(directory);
    this.maxPartSize = options.rollingPolicy?.maxPartSize ?? 128 << 20;
    this.rolloverInterval = options.rollingPolicy?.rolloverInterval ?? 60_000;
    if (!(this.maxPartSize > 0) || !(this.rolloverInterval > 0)) {
      throw new InvalidArgumentError("rolling policy: maxPartSize and rolloverInterval must be > 0");
    }
    this.prefix = options.partPrefix ?? "part";
    const jsonl = options.format === "jsonl";
    this.ext = jsonl ? ".jsonl" : ".txt";
    this.format = jsonl ? (v: T) => JSON.stringify(v) : formatRecord;
  }

  private staging(): string {
    return join(this.directory, STAGING);
  }

  createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<T, FileCommittable> {
    const staging = this.staging();
    try {
      mkdirSync(staging, { recursive: true });
    } catch (e) {
      throw new WeirError(
        "IO",
        `file sink: cannot create '${staging}': ${(e as Error).message}; check that the directory is writable`,
      );
    }
    let seq = 0;
    let fd = -1;
    let name = "";
    let size = 0;
    let openedAt = 0;
    let buffered = "";
    let ready: FileCommittable[] = [];
    const sink = this;
    const flush = () => {
      if (buffered.length > 0) writeSync(fd, buffered);
      buffered = "";
    };
    const roll = () => {
      if (fd < 0) return;
      flush();
      fsyncSync(fd);
      closeSync(fd);
      fd = -1;
      const inProgress = join(staging, `${name}.inprogress`);
      const pending = join(staging, `${name}.pending`);
      renameSync(inProgress, pending);
      ready.push({ pending, final: join(sink.directory, name), subtask: ctx.subtaskIndex });
    };
    return {
      write(value: T): void {
        if (fd < 0) {
          name = partFileName(sink.prefix, ctx, seq++, sink.ext);
          fd = openSync(join(staging, `${name}.inprogress`), "w");
          size = 0;
          openedAt = Date.now();
        }
        const line = `${sink.format(value)}\n`;
        buffered += line;
        size += line.length;
        if (buffered.length >= BUFFER_BYTES) flush();
        if (size >= sink.maxPartSize || Date.now() - openedAt >= sink.rolloverInterval) roll();
      },
      prepareCommit(): FileCommittable[] {
        roll();
        syncDir(staging);
        const out = ready;
        ready = [];
        return out;
      },
      close(): void {
        // An in-progress file at close belongs to no checkpoint: it is rewritten after a restore.
        if (fd >= 0) {
          closeSync(fd);
          fd = -1;
        }
      },
    };
  }

  /**
   * After a restore every new subtask receives every old subtask's committables: each is
   * committed by new subtask `old % parallelism` only, so no two subtasks rename the same file.
   * Without a context (a subclass calling it bare) the committer commits everything it is given.
   * `files` is a seam for tests; the sink operator passes only the context.
   */
  createCommitter(ctx?: SinkWriterContext, files: StagedFileOps = NODE_FILE_OPS): Committer<FileCommittable> {
    const dir = this.directory;
    return {
      commit(committables: FileCommittable[]): void {
        let moved = false;
        for (const c of committables) {
          if (ctx !== undefined && committingSubtask(c, ctx.parallelism) !== ctx.subtaskIndex) continue;
          if (commitPartFile(c, files, ctx)) moved = true;
        }
        if (moved) syncDir(dir);
      },
    };
  }

  /**
   * Remove what earlier attempts of this run staged and no restored committable refers to:
   * in-progress files and never-committed pending files. Files of other runs or other sink
   * operators (another job writing to this directory) are not touched.
   */
  abortLeftovers(ctx: SinkWriterContext, restored: readonly FileCommittable[] = []): void {
    const staging = this.staging();
    if (!existsSync(staging)) return;
    const keep = referencedNames(restored);
    for (const f of readdirSync(staging)) {
      if (isOwnLeftover(f, this.prefix, ctx, keep)) rmSync(join(staging, f), { force: true });
    }
  }
}

/** Rename one staged part file into place; false when it already was (a repeated commit). */
function commitPartFile(
  c: FileCommittable,
  files: StagedFileOps,
  ctx: SinkWriterContext | undefined,
): boolean {
  const where =
    ctx === undefined ? "" : ` (operator uid ${ctx.runtime.operatorUid}, subtask ${ctx.subtaskIndex})`;
  if (files.exists(c.pending)) {
    try {
      files.rename(c.pending, c.final);
      return true;
    } catch (e) {
      // Committed meanwhile by someone else (another job restored from the same checkpoint).
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && files.exists(c.final)) return false;
      throw new WeirError(
        "IO",
        `file sink${where}: cannot commit '${c.pending}' to '${c.final}': ${(e as Error).message}; check that the output directory is writable`,
        { cause: e },
      );
    }
  }
  if (files.exists(c.final)) return false;
  throw new WeirError(
    "IO",
    `file sink${where}: cannot commit '${c.final}': its staged file '${c.pending}' is gone; the output directory was changed outside the job (another job must not remove files in its .staging/)`,
  );
}
