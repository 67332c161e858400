// print(): each record on its own line of standard output (or error), prefixed with the subtask
// ("2> ") when the sink runs in parallel, as Flink does.

import type { Sink, SinkWriter, SinkWriterContext } from "../../core/sink.ts";

export function formatRecord(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && !(value instanceof Date)) {
    try {
      return JSON.stringify(value, (_k, v) =>
        typeof v === "bigint" ? `${v}n` : v instanceof Map ? [...v] : v,
      );
    } catch {
      return String(value);
    }
  }
  return String(value);
}

export class PrintSink<T> implements Sink<T> {
  constructor(
    private readonly prefix = "",
    private readonly stream: "stdout" | "stderr" = "stdout",
  ) {}

  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    const sub = ctx.parallelism > 1 ? `${ctx.subtaskIndex + 1}> ` : "";
    const head = this.prefix.length > 0 ? `${this.prefix}:${sub.length > 0 ? sub : " "}` : sub;
    const out = this.stream === "stdout" ? process.stdout : process.stderr;
    let pending: string[] = [];
    const flush = () => {
      if (pending.length > 0) out.write(`${pending.join("\n")}\n`);
      pending = [];
    };
    let timer: NodeJS.Timeout | undefined;
    return {
      write(value: T): void {
        pending.push(head + formatRecord(value));
        if (pending.length >= 256) flush();
        else
          timer ??= setTimeout(() => {
            timer = undefined;
            flush();
          }, 20);
      },
      close(): void {
        if (timer !== undefined) clearTimeout(timer);
        flush();
      },
    };
  }
}
