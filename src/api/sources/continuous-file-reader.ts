// The reader of the continuous file source: reads its files one after another, a bounded number
// of records per poll, keeping the position of the next record (byte offset, line, records
// consumed) for checkpoints, and the files it finished as markers until the enumerator's own
// snapshots cover them. A picked-up file is complete (see the enumerator's rule), so a file is
// read whole into memory when it is opened: JSON lines from the offset, CSV parsed from the start
// (the header is needed) with the first `records` records skipped.

import { readFileSync } from "node:fs";
import { parse as parseCsv } from "csv-parse/sync";
import { InvalidJobError } from "../../core/errors.ts";
import type { Counter } from "../../core/functions.ts";
import type { ReaderOutput, SourceReaderContext } from "../../core/source.ts";
import {
  type ContinuousFileSourceOptions,
  type ContinuousFileSplit,
  FILE_DEAD_LETTER_COUNTER,
  MalformedFileRecordError,
} from "./continuous-file-source.ts";
import { SplitQueueReader } from "./split-queue.ts";

const RECORDS_PER_POLL = 64;
const NL = 10;

/** A parsed CSV record, or the error of one that is not, with where it ends. */
type CsvItem = { value: unknown; error?: string; bytes: number; lines: number };

export class ContinuousFileReader<T> extends SplitQueueReader<T, ContinuousFileSplit> {
  private buf: Buffer = Buffer.alloc(0);
  private csv: CsvItem[] | undefined;
  private pos: ContinuousFileSplit = { path: "", offset: 0, line: 1, records: 0 };
  /** Files finished, with the first checkpoint whose snapshot had their marker. */
  private readonly finishedMarkers: Array<{ path: string; firstCheckpoint: number | undefined }> = [];
  private deadLetters: Counter | undefined;

  constructor(
    ctx: SourceReaderContext,
    private readonly options: ContinuousFileSourceOptions,
  ) {
    super(ctx);
  }

  protected override splitId(split: ContinuousFileSplit): string {
    return split.path;
  }

  protected openSplit(split: ContinuousFileSplit): void {
    try {
      this.buf = readFileSync(split.path);
    } catch (e) {
      throw new InvalidJobError(
        `continuous file source: cannot read '${split.path}': ${(e as Error).message}; files must stay in the directory until they are read`,
      );
    }
    this.pos = { path: split.path, offset: split.offset, line: split.line, records: split.records };
    this.csv = this.options.format === "csv" ? this.parseCsv(split.path) : undefined;
  }

  protected override currentProgress(_split: ContinuousFileSplit): ContinuousFileSplit {
    return { ...this.pos };
  }

  override snapshotState(checkpointId: number): ContinuousFileSplit[] {
    for (const m of this.finishedMarkers) m.firstCheckpoint ??= checkpointId;
    const markers = this.finishedMarkers.map((m) => ({
      path: m.path,
      offset: 0,
      line: 0,
      records: 0,
      finished: true,
    }));
    return [...super.snapshotState(checkpointId), ...markers];
  }

  /**
   * A marker first in checkpoint n belongs to a file handed out before n's reader snapshot, so
   * the enumerator's snapshot of every later checkpoint has its handed-out marker: drop it then.
   */
  notifyCheckpointComplete(checkpointId: number): void {
    for (let i = this.finishedMarkers.length - 1; i >= 0; i--) {
      const first = this.finishedMarkers[i]!.firstCheckpoint;
      if (first !== undefined && first + 1 < checkpointId) this.finishedMarkers.splice(i, 1);
    }
  }

  protected readSplit(output: ReaderOutput<T>): boolean {
    const done = this.csv === undefined ? this.readJsonLines(output) : this.readCsv(output, this.csv);
    if (done) {
      this.finishedMarkers.push({ path: this.pos.path, firstCheckpoint: undefined });
      this.buf = Buffer.alloc(0);
      this.csv = undefined;
    }
    return done;
  }

  private readJsonLines(output: ReaderOutput<T>): boolean {
    const buf = this.buf;
    for (let n = 0; n < RECORDS_PER_POLL; ) {
      const start = this.pos.offset;
      if (start >= buf.length) return true;
      let end = buf.indexOf(NL, start);
      const next = end < 0 ? buf.length : end + 1;
      if (end < 0) end = buf.length;
      const text = buf.toString("utf8", start, end > start && buf[end - 1] === 13 ? end - 1 : end);
      const line = this.pos.line;
      let value: unknown;
      let bad: unknown;
      let ok = text.trim() !== "";
      if (ok) {
        try {
          value = JSON.parse(text);
        } catch (e) {
          bad = e;
          ok = false;
        }
      }
      if (bad !== undefined) this.malformed(line, (bad as Error).message, bad);
      this.pos = { path: this.pos.path, offset: next, line: line + 1, records: this.pos.records + 1 };
      if (ok) {
        output.collect(value as T);
        n++;
      }
    }
    return this.pos.offset >= buf.length;
  }

  private readCsv(output: ReaderOutput<T>, items: CsvItem[]): boolean {
    for (let n = 0; n < RECORDS_PER_POLL; n++) {
      const item = items[this.pos.records];
      if (item === undefined) return true;
      if (item.error !== undefined) this.malformed(item.lines, item.error);
      this.pos = {
        path: this.pos.path,
        offset: item.bytes,
        line: item.lines + 1,
        records: this.pos.records + 1,
      };
      if (item.error === undefined) output.collect(item.value as T);
    }
    return this.pos.records >= items.length;
  }

  /** The whole file's records in order, malformed ones as errors (so good ones before them are read). */
  private parseCsv(path: string): CsvItem[] {
    const o = this.options.csv ?? {};
    const items: CsvItem[] = [];
    try {
      parseCsv(this.buf, {
        columns: o.header !== false,
        delimiter: o.delimiter ?? ",",
        quote: o.quote ?? '"',
        skip_empty_lines: true,
        skip_records_with_error: true,
        on_record: (value: unknown, info: { bytes: number; lines: number }) => {
          items.push({ value, bytes: info.bytes, lines: info.lines });
          return null;
        },
        on_skip: (e: { message: string; bytes?: number; lines?: number } | undefined) => {
          const last = items[items.length - 1];
          items.push({
            value: undefined,
            error: e?.message ?? "malformed record",
            bytes: e?.bytes ?? last?.bytes ?? 0,
            lines: e?.lines ?? last?.lines ?? 0,
          });
        },
      });
    } catch (e) {
      // Errors csv-parse does not skip (e.g. a bad option or header) fail at once.
      throw new MalformedFileRecordError(
        `continuous file source: cannot parse CSV file '${path}': ${(e as Error).message}; fix the file or the csv options`,
        path,
        0,
        e,
      );
    }
    return items;
  }

  private malformed(line: number, message: string, cause?: unknown): void {
    const path = this.pos.path;
    if ((this.options.onMalformed ?? "fail") === "fail") {
      throw new MalformedFileRecordError(
        `continuous file source: malformed record in '${path}' at line ${line}: ${message}; fix the file, or set onMalformed: "dead-letter" to skip and count such records`,
        path,
        line,
        cause,
      );
    }
    this.deadLetters ??= this.ctx.runtime.getCounter(FILE_DEAD_LETTER_COUNTER);
    this.deadLetters.add(1);
  }
}
