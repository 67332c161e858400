// ContinuousFileSource: a directory watched for new files (JSON lines or CSV), each file read once.
//
// Discovery: the enumerator lists the directory every `discoveryIntervalMs` (polling, not
// fs.watch: watch events are lost on some file systems, coalesced, or missing for files that
// existed before the job started; a listing is complete and the same everywhere). A file is picked
// up when its name does not end with `inProgressSuffix` (".inprogress" by default: write to
// "x.csv.inprogress", then rename to "x.csv", which is atomic) AND, unless `requireStable: false`,
// its size and modification time were the same at two consecutive listings. A picked-up file is
// read as it is then; bytes appended later are not read.
//
// Splits: one per file, handed to whichever reader asks. A split's progress is the byte offset
// and line number of the next record and the number of records consumed; readers keep it in
// checkpoints, so a restore (at any parallelism) resumes each file right after its last record.
// Which files are done is also in checkpoints, as marker splits: the enumerator writes a
// "handed out" marker for every file it gave a reader, readers write a "finished" marker for a
// file they finished (kept until a later enumerator snapshot surely has its handed-out marker).
// On restore, a file with a progress split and no finished marker is resumed; any other marked
// file is done and never handed out again. The marker set grows with the number of files seen.

import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { InvalidArgumentError, WeirError } from "../../core/errors.ts";
import type {
  Source,
  SourceReader,
  SourceReaderContext,
  SplitEnumerator,
  SplitEnumeratorContext,
} from "../../core/source.ts";
import { ContinuousFileReader } from "./continuous-file-reader.ts";

/** One file with its progress, or (finished) the marker of a file that is done. Plain data. */
export interface ContinuousFileSplit {
  path: string;
  /** Byte offset where the next record starts. */
  offset: number;
  /** 1-based line number where the next record starts. */
  line: number;
  /** Records (and dead-lettered malformed records) consumed so far. */
  records: number;
  /** A reader's marker: this file was read to its end. */
  finished?: boolean;
  /** The enumerator's marker: this file was handed to a reader (its progress, if any, is the reader's). */
  handedOut?: boolean;
}

export type ContinuousFileFormat =
  /** One JSON value per line; empty lines are skipped. */
  | "jsonl"
  /** CSV through csv-parse: quotes, escaped quotes, delimiters and newlines inside fields. */
  | "csv";

export interface CsvFormatOptions {
  /** true (default): the first line names the columns and records are objects; false: arrays. */
  header?: boolean;
  /** Field delimiter (default ","). */
  delimiter?: string;
  /** Quote character (default '"'). */
  quote?: string;
}

export interface ContinuousFileSourceOptions {
  /** The directory to watch (files directly in it; names starting with "." or "_" are ignored). */
  directory: string;
  format: ContinuousFileFormat;
  csv?: CsvFormatOptions;
  /** Only files whose name matches (default: every file). */
  include?: RegExp;
  /** How often the directory is listed, ms (default 1000). */
  discoveryIntervalMs?: number;
  /** Files whose name ends with it are still being written (default ".inprogress"). */
  inProgressSuffix?: string;
  /** Pick up a file only once its size and mtime did not change between two listings (default true). */
  requireStable?: boolean;
  /** Read the files there when the job starts, then finish (default false: watch forever). */
  bounded?: boolean;
  /**
   * A malformed line or record: "fail" (default) fails the job naming file and line;
   * "dead-letter" skips it and counts it in the counter FILE_DEAD_LETTER_COUNTER.
   */
  onMalformed?: "fail" | "dead-letter";
}

/** The Counter that counts malformed records skipped under onMalformed: "dead-letter". */
export const FILE_DEAD_LETTER_COUNTER = "continuous-file-dead-letters";

/** A line or CSV record that could not be parsed. */
export class MalformedFileRecordError extends WeirError {
  constructor(
    message: string,
    readonly path: string,
    readonly line: number,
    cause?: unknown,
  ) {
    super("SERIALIZATION", message, { cause });
  }
}

export class ContinuousFileSource<T = unknown> implements Source<T, ContinuousFileSplit> {
  readonly boundedness: "bounded" | "unbounded";
  readonly options: ContinuousFileSourceOptions;
  readonly directory: string;

  constructor(options: ContinuousFileSourceOptions) {
    validate(options);
    this.options = options;
    this.directory = resolve(options.directory);
    this.boundedness = options.bounded === true ? "bounded" : "unbounded";
  }

  createEnumerator(ctx: SplitEnumeratorContext<ContinuousFileSplit>): SplitEnumerator<ContinuousFileSplit> {
    return new ContinuousFileEnumerator(ctx, this.directory, this.options, []);
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<ContinuousFileSplit>,
    splits: ContinuousFileSplit[],
  ): SplitEnumerator<ContinuousFileSplit> {
    return new ContinuousFileEnumerator(ctx, this.directory, this.options, splits);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, ContinuousFileSplit> {
    return new ContinuousFileReader<T>(ctx, this.options);
  }
}

/** Lists the directory on a timer; hands each new stable file to the next reader that asks. */
class ContinuousFileEnumerator implements SplitEnumerator<ContinuousFileSplit> {
  /** Every file handed out or queued (by path): never listed as new again. */
  private readonly known = new Set<string>();
  private readonly pending: ContinuousFileSplit[] = [];
  private readonly waiting: number[] = [];
  /** size:mtime of candidate files at the previous listing. */
  private readonly lastSeen = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private listedOnce = false;

  constructor(
    private readonly ctx: SplitEnumeratorContext<ContinuousFileSplit>,
    private readonly directory: string,
    private readonly options: ContinuousFileSourceOptions,
    restored: ContinuousFileSplit[],
  ) {
    const finished = new Set<string>();
    const resumed = new Map<string, ContinuousFileSplit>();
    for (const s of restored) {
      this.known.add(s.path);
      if (s.finished === true) finished.add(s.path);
      else if (s.handedOut !== true && (resumed.get(s.path)?.records ?? -1) < s.records)
        resumed.set(s.path, s);
    }
    for (const [path, s] of [...resumed].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (!finished.has(path)) this.pending.push(s);
    }
  }

  start(): void {
    this.discover();
    if (this.options.bounded !== true) {
      this.timer = setInterval(() => this.discover(), this.options.discoveryIntervalMs ?? 1000);
      this.timer.unref?.();
    }
  }

  private discover(): void {
    let names: string[];
    try {
      names = readdirSync(this.directory);
    } catch (e) {
      // A directory that is gone or not yet there is retried at the next listing.
      if (this.options.bounded === true) {
        throw new InvalidArgumentError(
          `continuous file source: cannot list '${this.directory}': ${(e as Error).message}; check the directory`,
        );
      }
      return;
    }
    const suffix = this.options.inProgressSuffix ?? ".inprogress";
    const stable = this.options.requireStable !== false && this.options.bounded !== true;
    for (const name of names.sort()) {
      if (name.startsWith(".") || name.startsWith("_")) continue;
      if (suffix !== "" && name.endsWith(suffix)) continue;
      if (this.options.include !== undefined && !this.options.include.test(name)) continue;
      const path = join(this.directory, name);
      if (this.known.has(path)) continue;
      let sig: string;
      try {
        const st = statSync(path);
        if (!st.isFile()) continue;
        sig = `${st.size}:${st.mtimeMs}`;
      } catch {
        continue; // renamed or removed between the listing and the stat
      }
      if (stable && this.lastSeen.get(path) !== sig) {
        this.lastSeen.set(path, sig);
        continue;
      }
      this.lastSeen.delete(path);
      this.known.add(path);
      this.pending.push({ path, offset: 0, line: 1, records: 0 });
    }
    this.listedOnce = true;
    this.assignWaiting();
  }

  private assignWaiting(): void {
    while (this.waiting.length > 0 && this.pending.length > 0) {
      this.ctx.assignSplit(this.pending.shift()!, this.waiting.shift()!);
    }
    if (this.options.bounded === true && this.listedOnce && this.pending.length === 0) {
      for (const subtask of this.waiting.splice(0)) this.ctx.signalNoMoreSplits(subtask);
    }
  }

  handleSplitRequest(subtask: number): void {
    if (!this.waiting.includes(subtask)) this.waiting.push(subtask);
    this.assignWaiting();
  }

  addSplitsBack(splits: ContinuousFileSplit[]): void {
    this.pending.unshift(...splits.filter((s) => s.finished !== true && s.handedOut !== true));
  }

  /** Unassigned files plus a handed-out marker for every file given to a reader. */
  snapshotState(): ContinuousFileSplit[] {
    const queued = new Set(this.pending.map((s) => s.path));
    const markers: ContinuousFileSplit[] = [];
    for (const path of this.known) {
      if (!queued.has(path)) markers.push({ path, offset: 0, line: 0, records: 0, handedOut: true });
    }
    return [...this.pending, ...markers];
  }

  addReader(): void {}

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function validate(o: ContinuousFileSourceOptions): void {
  const fail = (what: string): never => {
    throw new InvalidArgumentError(`ContinuousFileSource: ${what}`);
  };
  if (o === undefined || o === null) fail('needs options { directory, format: "jsonl" | "csv" }');
  if (typeof o.directory !== "string" || o.directory === "") fail("`directory` must be a path");
  if (o.format !== "jsonl" && o.format !== "csv")
    fail(`format must be "jsonl" or "csv", got ${JSON.stringify(o.format)}`);
  const iv = o.discoveryIntervalMs;
  if (iv !== undefined && (!Number.isSafeInteger(iv) || iv < 1))
    fail(`discoveryIntervalMs must be an integer >= 1, got ${iv}`);
  const m = o.onMalformed;
  if (m !== undefined && m !== "fail" && m !== "dead-letter")
    fail(`onMalformed must be "fail" or "dead-letter", got ${JSON.stringify(m)}`);
}
