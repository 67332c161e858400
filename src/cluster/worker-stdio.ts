// What a task worker prints reaches the process's stdout and stderr through the worker's message
// port, in order with the worker's other messages: Node's own relay of a worker's stdout is
// asynchronous and loses what it has not delivered when the coordinator terminates the thread.
// A worker that prints faster than stdout is read waits (backpressure), as a process writing to
// a full pipe does: a shared counter holds the characters sent and not handed to the OS yet.

import { StringDecoder } from "node:string_decoder";
import type { MessagePort } from "node:worker_threads";

/** A chunk of a worker's output: `fd` 1 is stdout, 2 is stderr. */
export interface StdioMessage {
  t: "stdio";
  fd: 1 | 2;
  text: string;
  /** With the first message: the worker's count of characters not written out yet (shared). */
  pending?: Int32Array;
}

/** Flush once this much output is buffered, without waiting for the end of the synchronous run. */
const FLUSH_BYTES = 64 * 1024;
/** A worker waits while this many characters it sent are not written out yet. */
const MAX_PENDING = 8 * 1024 * 1024;

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
  const pending = new Int32Array(new SharedArrayBuffer(4));
  let shared = false;
  const flush = () => {
    if (parts.length === 0) return;
    const m: StdioMessage = { t: "stdio", fd, text: parts.join("") };
    if (!shared) {
      m.pending = pending;
      shared = true;
    }
    parts = [];
    size = 0;
    Atomics.add(pending, 0, m.text.length);
    port.postMessage(m);
    // Backpressure: wait (in short steps, so that a terminate() is seen) until stdout catches up.
    for (let p = Atomics.load(pending, 0); p > MAX_PENDING; p = Atomics.load(pending, 0)) {
      Atomics.wait(pending, 0, p, 100);
    }
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
    // Bytes written as Buffers may split a character: the decoder keeps the partial one.
    const decoder = new StringDecoder("utf8");
    stream.write = ((chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
      if (streamFd !== fd) flush();
      fd = streamFd;
      const text =
        typeof chunk === "string"
          ? typeof encoding === "string" && encoding !== "utf8" && encoding !== "utf-8"
            ? Buffer.from(chunk, encoding as BufferEncoding).toString("utf8")
            : chunk
          : decoder.write(Buffer.from(chunk as Uint8Array));
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

/**
 * In the coordinating thread: a writer of one worker's output, where the process's own goes. A
 * chunk counts as pending until the stream has handed it to the OS (a pipe whose reader is slow
 * queues writes in memory), or failed to.
 */
export function stdioWriter(): (m: StdioMessage) => void {
  let pending: Int32Array | undefined;
  return (m) => {
    if (m.pending !== undefined) pending = m.pending;
    const counter = pending;
    const written = () => {
      if (counter === undefined) return;
      Atomics.sub(counter, 0, m.text.length);
      Atomics.notify(counter, 0);
    };
    try {
      (m.fd === 1 ? process.stdout : process.stderr).write(m.text, written);
    } catch {
      written();
    }
  };
}
