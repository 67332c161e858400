// A text or JSON-lines file sink: each parallel writer writes its own part file in a directory.
// (At-least-once on failure; FileSink.forRowFormat is the exactly-once, two-phase-commit one.)

import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { WeirError } from "../../core/errors.ts";
import type { Sink, SinkWriter, SinkWriterContext } from "../../core/sink.ts";
import { ExactlyOnceFileSink, type RowFormatOptions } from "./exactly-once-file-sink.ts";
import { formatRecord } from "./print-sink.ts";

export type FileFormat = "text" | "jsonl";

const FLUSH_BYTES = 64 * 1024;

export class FileSink<T> implements Sink<T> {
  readonly directory: string;

  private constructor(
    directory: string,
    readonly format: FileFormat,
  ) {
    this.directory = resolve(directory);
  }

  /** One line per record: strings as they are, other values as JSON. */
  static forText<T>(directory: string): FileSink<T> {
    return new FileSink<T>(directory, "text");
  }

  /** One JSON document per line. */
  static forJsonLines<T>(directory: string): FileSink<T> {
    return new FileSink<T>(directory, "jsonl");
  }

  /**
   * The exactly-once file sink (two-phase commit): part files become visible when the checkpoint
   * that covers them completes, or when a bounded job ends. Rolling by size and time.
   */
  static forRowFormat<T>(directory: string, options: RowFormatOptions = {}): ExactlyOnceFileSink<T> {
    return new ExactlyOnceFileSink<T>(directory, options);
  }

  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    const ext = this.format === "jsonl" ? "jsonl" : "txt";
    const path = join(this.directory, `part-${ctx.subtaskIndex}.${ext}`);
    let fd: number;
    try {
      mkdirSync(this.directory, { recursive: true });
      fd = openSync(path, "w");
    } catch (e) {
      throw new WeirError(
        "IO",
        `file sink: cannot create '${path}': ${(e as Error).message}; check that the directory is writable`,
      );
    }
    const format = this.format === "jsonl" ? (v: T) => JSON.stringify(v) : formatRecord;
    let pending = "";
    const flush = () => {
      if (pending.length > 0) writeSync(fd, pending);
      pending = "";
    };
    return {
      write(value: T): void {
        pending += `${format(value)}\n`;
        if (pending.length >= FLUSH_BYTES) flush();
      },
      finish: flush,
      close(): void {
        if (fd < 0) return;
        flush();
        closeSync(fd);
        fd = -1;
      },
    };
  }
}
