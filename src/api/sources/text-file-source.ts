// Text files as lines: a file or a directory of files, cut into byte-range splits read by
// parallel readers. A line belongs to the split in which it starts, so no line is lost or read
// twice at a split boundary.

import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { InvalidJobError } from "../../core/errors.ts";
import type { ReaderOutput, Source, SourceReaderContext, SplitEnumeratorContext } from "../../core/source.ts";
import { Types } from "../../core/types/types.ts";
import { SplitQueueReader, StaticSplitEnumerator } from "./split-queue.ts";

export type FileSplit = { path: string; start: number; end: number };

export interface TextFileOptions {
  /** Bytes per split; default: enough splits for two per reader, between 64 KiB and 8 MiB. */
  splitSize?: number;
}

const CHUNK = 64 * 1024;
const LINES_PER_POLL = 32;
const NL = 10;

export class TextFileSource implements Source<string, FileSplit> {
  readonly boundedness = "bounded" as const;
  readonly type = Types.STRING;
  readonly path: string;

  constructor(
    path: string,
    private readonly options: TextFileOptions = {},
  ) {
    this.path = resolve(path);
  }

  /** Files under the path, sorted, with their sizes. */
  listFiles(): Array<{ path: string; size: number }> {
    if (!existsSync(this.path)) {
      throw new InvalidJobError(
        `text file source: '${this.path}' does not exist; check the path (a file or a directory)`,
      );
    }
    const st = statSync(this.path);
    if (st.isFile()) return [{ path: this.path, size: st.size }];
    return readdirSync(this.path)
      .filter((n) => !n.startsWith(".") && !n.startsWith("_"))
      .sort()
      .map((n) => join(this.path, n))
      .filter((p) => statSync(p).isFile())
      .map((p) => ({ path: p, size: statSync(p).size }));
  }

  createEnumerator(ctx: SplitEnumeratorContext<FileSplit>) {
    return new StaticSplitEnumerator(ctx, () => {
      const files = this.listFiles();
      const total = files.reduce((s, f) => s + f.size, 0);
      const splitSize =
        this.options.splitSize ??
        Math.min(8 << 20, Math.max(64 << 10, Math.ceil(total / (ctx.parallelism * 2))));
      const splits: FileSplit[] = [];
      for (const f of files) {
        for (let start = 0; start < f.size; start += splitSize) {
          splits.push({ path: f.path, start, end: Math.min(f.size, start + splitSize) });
        }
      }
      return splits;
    });
  }

  restoreEnumerator(ctx: SplitEnumeratorContext<FileSplit>, splits: FileSplit[]) {
    return new StaticSplitEnumerator(ctx, splits);
  }

  createReader(ctx: SourceReaderContext) {
    return new TextSplitReader(ctx);
  }
}

class TextSplitReader extends SplitQueueReader<string, FileSplit> {
  private fd = -1;
  private buf: Buffer = Buffer.alloc(0);
  /** File offset of buf[0]. */
  private bufOffset = 0;
  private cursor = 0;
  private limit = 0;
  private end = 0;
  private eof = false;
  private path = "";

  protected openSplit(split: FileSplit): void {
    this.path = split.path;
    try {
      this.fd = openSync(split.path, "r");
    } catch (e) {
      throw new InvalidJobError(`text file source: cannot open '${split.path}': ${(e as Error).message}`);
    }
    this.end = split.end;
    this.eof = false;
    this.buf = Buffer.alloc(CHUNK * 2);
    this.limit = 0;
    this.cursor = 0;
    if (split.start === 0) {
      this.bufOffset = 0;
    } else {
      // Start one byte early: if that byte is a newline, a line starts exactly at `start`.
      this.bufOffset = split.start - 1;
      this.fill();
      const nl = this.buf.indexOf(NL, 0);
      this.skipTo(nl);
    }
  }

  /** Drop everything up to and including position `nl` (or, without a newline, keep reading). */
  private skipTo(nl: number): void {
    let at = nl;
    while (at < 0 || at >= this.limit) {
      if (this.eof) {
        this.cursor = this.limit;
        return;
      }
      this.cursor = this.limit;
      this.fill();
      at = this.buf.indexOf(NL, this.cursor);
      if (at >= this.limit) at = -1;
    }
    this.cursor = at + 1;
  }

  /** Read the next chunk after what the buffer holds, keeping unread bytes. */
  private fill(): void {
    if (this.cursor > 0) {
      this.buf.copy(this.buf, 0, this.cursor, this.limit);
      this.bufOffset += this.cursor;
      this.limit -= this.cursor;
      this.cursor = 0;
    }
    if (this.buf.length - this.limit < CHUNK) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.limit);
      this.buf = bigger;
    }
    const n = readSync(this.fd, this.buf, this.limit, CHUNK, this.bufOffset + this.limit);
    if (n === 0) this.eof = true;
    this.limit += n;
  }

  protected override currentProgress(split: FileSplit): FileSplit {
    // The next line starts at bufOffset + cursor; a split starting there skips nothing.
    return { path: split.path, start: this.bufOffset + this.cursor, end: split.end };
  }

  protected readSplit(output: ReaderOutput<string>): boolean {
    for (let emitted = 0; emitted < LINES_PER_POLL; ) {
      const lineStart = this.bufOffset + this.cursor;
      if (lineStart >= this.end) return this.done();
      let nl = this.buf.indexOf(NL, this.cursor);
      if (nl >= this.limit) nl = -1;
      if (nl < 0) {
        if (this.eof) {
          if (this.cursor < this.limit) output.collect(this.line(this.cursor, this.limit));
          this.cursor = this.limit;
          return this.done();
        }
        this.fill();
        continue;
      }
      output.collect(this.line(this.cursor, nl));
      emitted++;
      this.cursor = nl + 1;
    }
    return false;
  }

  private line(from: number, to: number): string {
    if (to > from && this.buf[to - 1] === 13) to--;
    return this.buf.toString("utf8", from, to);
  }

  private done(): boolean {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    return true;
  }

  override close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    void this.path;
  }
}
