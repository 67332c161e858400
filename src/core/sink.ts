// The Sink SPI: a sink creates one writer per parallel subtask.

import type { RuntimeContext } from "./functions.ts";

export interface SinkWriterContext {
  readonly runtime: RuntimeContext;
  readonly subtaskIndex: number;
  readonly parallelism: number;
}

export interface SinkWriter<T> {
  write(value: T): void;
  /** Called once when the input has ended (bounded jobs), before close. */
  finish?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface Sink<T> {
  createWriter(ctx: SinkWriterContext): SinkWriter<T> | Promise<SinkWriter<T>>;
}
