// RedisStreamSink: records appended to Redis streams exactly once, through two-phase commit.
//
// It is a write-ahead sink (the API's WriteAheadSink): the records of one checkpoint interval are
// the committable, kept in the checkpoint (preCommit at the barrier). When the checkpoint is
// complete, the committer writes them and a commit marker in one MULTI/EXEC:
//
//   WATCH marker; GET marker  -- set: this transaction was committed before, nothing to do (UNWATCH)
//   MULTI; XADD ... (every record); SET marker PX ttl; EXEC
//
// The marker key is "<markerPrefix><transaction id>", the transaction id derived from job name,
// operator uid, job run, subtask and checkpoint id (stored in the checkpoint with the records), so
// a replayed commit after a restore finds it and writes nothing. The race: two committers of the
// same transaction (an old attempt still finishing and its restored successor) can both read "no
// marker"; WATCH makes the second EXEC abort (WatchError) because the first one set the marker,
// and the loser then sees the marker and stops. Either the entries and the marker are written
// together or neither is (MULTI/EXEC is atomic on one server), so there is no window in which a
// crash leaves entries without their marker. Markers expire after markerTtlMs (default 7 days):
// a commit replayed later than that (a restore from a very old checkpoint) appends again.

import {
  type Committer,
  InvalidArgumentError,
  type PrecommittingSinkWriter,
  type SinkWriterContext,
  type TwoPhaseCommittingSink,
  WriteAheadSink,
  type WriteAheadSender,
  type WriteAheadTransaction,
} from "../../index.ts";
import {
  closeRedis,
  commandError,
  connectRedis,
  type RedisConnection,
  type RedisConnectionSettings,
  type RedisConnectorError,
} from "./redis-connection.ts";

export interface RedisStreamSinkOptions<T> extends RedisConnectionSettings {
  /** The stream key of every record, or a function choosing it per record. */
  stream: string | ((value: T) => string);
  /** Record → entry fields (default: { value: strings as they are, anything else as JSON }). */
  fields?: (value: T) => Record<string, string | number>;
  /** Trim each written stream to about this many entries (XADD MAXLEN ~); default: no trimming. */
  maxLen?: number;
  /** Prefix of the commit marker keys (default "weir:commit:"). */
  markerPrefix?: string;
  /** How long commit markers live, ms (default 7 days): the window in which a replay is a no-op. */
  markerTtlMs?: number;
}

const defaultFields = (v: unknown): Record<string, string> => ({
  value: typeof v === "string" ? v : JSON.stringify(v),
});

function stringFields(fields: Record<string, string | number>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(fields)) out[k] = String(fields[k]);
  return out;
}

/** The commit marker key of a transaction. */
export function redisCommitMarkerKey(prefix: string, transactionId: string): string {
  return `${prefix}${transactionId}`;
}

export class RedisStreamSink<T> implements TwoPhaseCommittingSink<T, WriteAheadTransaction<T>> {
  private readonly inner: WriteAheadSink<T>;

  constructor(options: RedisStreamSinkOptions<T>) {
    const fail = (what: string): never => {
      throw new InvalidArgumentError(`RedisStreamSink: ${what}`);
    };
    if (options === undefined || options === null) fail("needs options { stream }");
    const s = options.stream;
    if (typeof s !== "function" && (typeof s !== "string" || s === "")) {
      fail("`stream` must be a stream key or a function of the record");
    }
    if (options.maxLen !== undefined && (!Number.isSafeInteger(options.maxLen) || options.maxLen < 1)) {
      fail(`maxLen must be an integer >= 1, got ${options.maxLen}`);
    }
    const ttl = options.markerTtlMs ?? 7 * 24 * 3600 * 1000;
    if (!Number.isSafeInteger(ttl) || ttl < 1) fail(`markerTtlMs must be an integer >= 1, got ${ttl}`);
    this.inner = new WriteAheadSink<T>({
      createSender: (ctx) => new RedisStreamCommitter(options, ctx, ttl),
    });
  }

  createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<T, WriteAheadTransaction<T>> {
    return this.inner.createWriter(ctx);
  }

  createCommitter(ctx: SinkWriterContext): Committer<WriteAheadTransaction<T>> {
    return this.inner.createCommitter(ctx);
  }
}

/** Writes one transaction's records and its marker in one guarded MULTI/EXEC (one connection per subtask). */
class RedisStreamCommitter<T> implements WriteAheadSender<T> {
  private client: Promise<RedisConnection> | undefined;
  private lost: RedisConnectorError | undefined;
  private readonly owner: string;
  private readonly streamOf: (value: T) => string;
  private readonly fieldsOf: (value: T) => Record<string, string | number>;
  private readonly prefix: string;

  constructor(
    private readonly options: RedisStreamSinkOptions<T>,
    ctx: SinkWriterContext,
    private readonly ttlMs: number,
  ) {
    const s = options.stream;
    this.streamOf = typeof s === "function" ? s : () => s;
    this.fieldsOf = options.fields ?? (defaultFields as (v: T) => Record<string, string>);
    this.prefix = options.markerPrefix ?? "weir:commit:";
    this.owner = `RedisStreamSink(${typeof s === "string" ? `stream ${s}, ` : ""}subtask ${ctx.subtaskIndex})`;
  }

  private connection(): Promise<RedisConnection> {
    if (this.lost !== undefined) {
      const e = this.lost;
      this.lost = undefined;
      const c = this.client;
      this.client = undefined;
      void c?.then(closeRedis, () => {});
      throw e;
    }
    this.client ??= connectRedis(this.options, this.owner, (e) => {
      this.lost = e;
    });
    return this.client;
  }

  async sendValues(
    values: T[],
    checkpointId: number,
    _subtask: number,
    transactionId: string,
  ): Promise<void> {
    // Serialize first: a record that cannot be written fails before anything is sent.
    const entries = values.map((v) => ({ stream: this.streamOf(v), fields: stringFields(this.fieldsOf(v)) }));
    const client = await this.connection();
    const marker = redisCommitMarkerKey(this.prefix, transactionId);
    const what = `${this.owner}: committing checkpoint ${checkpointId} (${entries.length} entries, marker '${marker}')`;
    const hint =
      "the job restarts per its restart strategy and commits this checkpoint again (the marker makes it once)";
    try {
      // A MULTI does not roll back: an XADD to a key of another type would fail while the marker
      // is set. So check the keys first (entries of a wrong-typed key fail the commit instead).
      for (const stream of new Set(entries.map((e) => e.stream))) {
        const type = await client.type(stream);
        if (type !== "stream" && type !== "none") {
          throw new Error(`key '${stream}' holds a ${type}, not a stream; choose another stream key`);
        }
      }
      for (;;) {
        await client.watch(marker);
        if ((await client.get(marker)) !== null) {
          await client.unwatch();
          return;
        }
        const multi = client.multi();
        const trim =
          this.options.maxLen === undefined
            ? undefined
            : {
                TRIM: {
                  strategy: "MAXLEN" as const,
                  strategyModifier: "~" as const,
                  threshold: this.options.maxLen,
                },
              };
        for (const e of entries) multi.xAdd(e.stream, "*", e.fields, trim);
        multi.set(marker, JSON.stringify({ entries: entries.length, committedAt: Date.now() }), {
          PX: this.ttlMs,
        });
        try {
          await multi.exec();
          return;
        } catch (e) {
          // WATCH aborted the transaction: someone committed it meanwhile; look again.
          if ((e as Error)?.name === "WatchError" || (e as Error)?.constructor?.name === "WatchError")
            continue;
          throw e;
        }
      }
    } catch (e) {
      throw commandError(this.lost ?? e, this.options, what, hint);
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c !== undefined) closeRedis(await c.catch(() => undefined));
  }
}
