// What a task worker prints reaches the process's stdout and stderr through the worker's message
// port, in order with the worker's other messages: Node's own relay of a worker's stdout is
// asynchronous and loses what it has not delivered when the coordinator terminates the thread.

import type { MessagePort } from "node:worker_threads";

/** A chunk of a worker's output: `fd` 1 is stdout, 2 is stderr. */
export interface StdioMessage {
  t: "stdio";
  fd: 1 | 2;
  text: string;
}

/** Flush once this much output is buffered, without waiting for the end of the synchronous run. */
const FLUSH_BYTES = 64 * 1024;

/**
 * In a worker: send everything written to process.stdout and process.stderr through `port`.
 * Writes are gathered and sent at the end of the current synchronous run (a microtask), or
 * sooner when large; call the returned flush() before any other message, so that output
 * printed before it arrives before it.
 */
export function relayStdio(port: MessagePort | { postMessage(m: unknown): void }): () => void {
  let fd: 1 | 2 = 1;
  let parts: string[] = [];
  let size = 0;
  let scheduled = false;
  const flush = () => {
    if (parts.length === 0) return;
    const m: StdioMessage = { t: "stdio", fd, text: parts.join("") };
    parts = [];
    size = 0;
    port.postMessage(m);
  };
  const scheduleFlush = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      flush();
    });
  };
  const capture = (stream: NodeJS.WriteStream, streamFd: 1 | 2) => {
    stream.write = ((chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
      if (streamFd !== fd) flush();
      fd = streamFd;
      const text =
        typeof chunk === "string"
          ? chunk
          : Buffer.from(chunk as Uint8Array).toString(
              typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8",
            );
      parts.push(text);
      size += text.length;
      if (size >= FLUSH_BYTES) flush();
      else scheduleFlush();
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") queueMicrotask(() => (done as (e?: Error | null) => void)(null));
      return true;
    }) as NodeJS.WriteStream["write"];
  };
  capture(process.stdout, 1);
  capture(process.stderr, 2);
  return flush;
}

export function isStdioMessage(m: unknown): m is StdioMessage {
  return typeof m === "object" && m !== null && (m as { t?: unknown }).t === "stdio";
}

/** In the coordinating thread: write a worker's output where the process's own goes. */
export function writeStdio(m: StdioMessage): void {
  (m.fd === 1 ? process.stdout : process.stderr).write(m.text);
}
