// The last part of a TaskManager's log and of what its tasks printed, kept in memory (at most
// `limit` characters each) for the JobManager's REST API (/taskmanagers/:id/logs and /stdout), and
// the last part of a log file (when the process logs to one, that file is what /logs serves).

import { type FileHandle, open } from "node:fs/promises";

export class OutputTail {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly limit = 1 << 20) {}

  append(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    while (this.size > this.limit && this.parts.length > 1) this.size -= this.parts.shift()!.length;
    if (this.size > this.limit) {
      const only = this.parts[0]!.slice(-this.limit);
      this.parts = [only];
      this.size = only.length;
    }
  }

  text(): string {
    return this.parts.join("");
  }
}

/** The last `limit` bytes of a log file (from a line start when it is longer); "" when it is missing. */
export async function fileTail(path: string, limit = 1 << 20): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - limit);
    const buf = Buffer.alloc(size - start);
    await handle.read(buf, 0, buf.length, start);
    const text = buf.toString("utf8");
    return start === 0 ? text : text.slice(text.indexOf("\n") + 1);
  } finally {
    await handle.close();
  }
}
