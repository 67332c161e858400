// SocketTextSource: the lines a TCP server sends, as a source (`env.socketTextStream(host, port)`,
// as in Flink: the `nc -lk 9999` of every streaming tutorial). One reader (maxParallelism 1)
// connects, splits the bytes into UTF-8 text at the delimiter and emits each piece; when the
// server closes the connection it reconnects `maxRetry` times (-1: for ever), 500 ms apart, and
// otherwise ends, emitting a last piece that had no delimiter. A socket has no offsets: a
// checkpoint holds only the address, and a restored job reads what the server sends after it
// reconnects (lines received before a failure and not yet covered by a checkpoint are lost).

import { StringDecoder } from "node:string_decoder";
import { type Socket, connect } from "node:net";
import { InvalidArgumentError, WeirError } from "../../core/errors.ts";
import {
  InputStatus,
  type ReaderOutput,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumerator,
  type SplitEnumeratorContext,
} from "../../core/source.ts";
import { Types } from "../../core/types/types.ts";
import { StaticSplitEnumerator } from "./split-queue.ts";

/** The one split: where to connect. Plain data (it goes into checkpoints). */
export interface SocketSplit {
  host: string;
  port: number;
}

export interface SocketTextOptions {
  /** What ends a record (default "\n"; with it a "\r" before the "\n" is dropped too). */
  delimiter?: string;
  /** Reconnections after the server closes the connection: 0 (default) ends the source, -1 never does. */
  maxRetry?: number;
  /** Milliseconds between a closed connection and the next attempt (default 500). */
  retryDelayMs?: number;
}

/** The server could not be reached, or the connection failed while reading. */
export class SocketSourceError extends WeirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("IO", message, options);
  }
}

/** Lines waiting in memory before the reader stops reading the socket (TCP then pushes back). */
const HIGH_WATER = 4096;
const POLL = 256;

export class SocketTextSource implements Source<string, SocketSplit> {
  readonly boundedness = "unbounded" as const;
  readonly maxParallelism = 1;
  readonly type = Types.STRING;
  readonly delimiter: string;
  readonly maxRetry: number;
  readonly retryDelayMs: number;

  constructor(
    readonly host: string,
    readonly port: number,
    options: SocketTextOptions = {},
  ) {
    const fail = (what: string): never => {
      throw new InvalidArgumentError(`socketTextStream(): ${what}`);
    };
    if (typeof host !== "string" || host.length === 0) fail(`needs a host name, got ${String(host)}`);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      fail(`port must be an integer 1-65535, got ${String(port)}`);
    this.delimiter = options.delimiter ?? "\n";
    if (typeof this.delimiter !== "string" || this.delimiter.length === 0)
      fail("the delimiter must be a non-empty string");
    this.maxRetry = options.maxRetry ?? 0;
    if (!Number.isInteger(this.maxRetry) || this.maxRetry < -1) {
      fail(`maxRetry must be an integer >= -1 (-1: retry for ever), got ${String(options.maxRetry)}`);
    }
    this.retryDelayMs = options.retryDelayMs ?? 500;
    if (!Number.isFinite(this.retryDelayMs) || this.retryDelayMs < 0) {
      fail(`retryDelayMs must be a number of milliseconds >= 0, got ${String(options.retryDelayMs)}`);
    }
  }

  createEnumerator(ctx: SplitEnumeratorContext<SocketSplit>): SplitEnumerator<SocketSplit> {
    return new StaticSplitEnumerator(ctx, [{ host: this.host, port: this.port }]);
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<SocketSplit>,
    splits: SocketSplit[],
  ): SplitEnumerator<SocketSplit> {
    return new StaticSplitEnumerator(
      ctx,
      splits.length > 0 ? splits : [{ host: this.host, port: this.port }],
    );
  }

  createReader(ctx: SourceReaderContext): SourceReader<string, SocketSplit> {
    return new SocketTextReader(ctx, this);
  }
}

class SocketTextReader implements SourceReader<string, SocketSplit> {
  private split: SocketSplit | undefined;
  private socket: Socket | undefined;
  private decoder = new StringDecoder("utf8");
  private partial = "";
  private lines: string[] = [];
  private next = 0;
  private ended = false;
  private closed = false;
  private failure: Error | undefined;
  private retriesLeft: number;
  private waiter: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: SourceReaderContext,
    private readonly source: SocketTextSource,
  ) {
    this.retriesLeft = source.maxRetry;
  }

  start(): void {
    this.ctx.sendSplitRequest();
  }

  addSplits(splits: SocketSplit[]): void {
    if (this.split !== undefined || splits.length === 0) return;
    this.split = splits[0];
    this.connect();
  }

  notifyNoMoreSplits(): void {
    if (this.split === undefined) {
      this.ended = true; // a restored subtask without the split: nothing to read
      this.wake();
    }
  }

  private describe(): string {
    return `socketTextStream(${this.split!.host}:${this.split!.port})`;
  }

  private connect(): void {
    const { host, port } = this.split!;
    let connected = false;
    const socket = connect({ host, port });
    this.socket = socket;
    socket.on("connect", () => {
      connected = true;
    });
    socket.on("data", (chunk: Buffer) => this.receive(this.decoder.write(chunk)));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      if (this.closed) return;
      const what = connected ? "lost the connection" : "cannot connect";
      const hint = connected ? "" : `; is a server listening there? (for a test: \`nc -lk ${port}\`)`;
      this.fail(
        new SocketSourceError(`${this.describe()}: ${what}: ${e.code ?? e.message}${hint}`, { cause: e }),
      );
    });
    socket.on("close", () => {
      if (this.closed || this.failure !== undefined) return;
      this.receive(this.decoder.end());
      if (this.retriesLeft === 0) {
        if (this.partial.length > 0) this.lines.push(this.partial);
        this.partial = "";
        this.ended = true;
        this.wake();
        return;
      }
      if (this.retriesLeft > 0) this.retriesLeft--;
      this.decoder = new StringDecoder("utf8");
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (!this.closed) this.connect();
      }, this.source.retryDelayMs);
    });
  }

  private receive(text: string): void {
    if (text.length === 0) return;
    const d = this.source.delimiter;
    const pieces = (this.partial + text).split(d);
    this.partial = pieces.pop()!;
    const crlf = d === "\n";
    for (const p of pieces) this.lines.push(crlf && p.endsWith("\r") ? p.slice(0, -1) : p);
    if (this.lines.length - this.next >= HIGH_WATER) this.socket?.pause();
    this.wake();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  pollNext(output: ReaderOutput<string>): InputStatus {
    if (this.failure !== undefined) throw this.failure;
    const limit = Math.min(POLL, this.ctx.maxRecordsPerPoll ?? POLL);
    for (let n = 0; n < limit && this.next < this.lines.length; n++) output.collect(this.lines[this.next++]!);
    if (this.next === this.lines.length) {
      this.lines = [];
      this.next = 0;
      this.socket?.resume();
      return this.ended ? InputStatus.END_OF_INPUT : InputStatus.NOTHING_AVAILABLE;
    }
    if (this.lines.length - this.next < HIGH_WATER / 4) this.socket?.resume();
    return InputStatus.MORE_AVAILABLE;
  }

  isAvailable(): Promise<void> {
    if (this.next < this.lines.length || this.ended || this.failure !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  snapshotState(): SocketSplit[] {
    return this.split === undefined ? [] : [this.split];
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.socket?.destroy();
    this.socket = undefined;
    this.wake();
  }
}
