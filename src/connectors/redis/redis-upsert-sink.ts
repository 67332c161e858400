// RedisUpsertSink: the online feature store pattern on Redis keys. The API's UpsertSink buffers
// records by their Redis key (last write wins) and, at every checkpoint barrier and at the end of
// input, writes the buffer in one MULTI/EXEC: per key HSET of the record's fields (after a DEL in
// "replace" mode, so the hash holds exactly the latest record) or SET of its value, with an
// optional TTL. At-least-once delivery of idempotent writes: a replay after a restore writes the
// same values again, so the keys converge to exactly the result of a run without failures.

import {
  type Committer,
  InvalidArgumentError,
  type PrecommittingSinkWriter,
  type SinkWriterContext,
  type TwoPhaseCommittingSink,
  type UpsertBatch,
  UpsertSink,
} from "../../index.ts";
import {
  closeRedis,
  commandError,
  connectRedis,
  type RedisConnection,
  type RedisConnectionSettings,
  type RedisConnectorError,
} from "./redis-connection.ts";

export interface RedisUpsertSinkOptions<T> extends RedisConnectionSettings {
  /** The Redis key of a record ("features:user:42"): a later record with the same key replaces it. */
  key: (value: T) => string;
  /** Write a hash: the record's fields (HSET). Give this or `value`. */
  hash?: (value: T) => Record<string, string | number>;
  /** Write a string key: the record's value (SET). Give this or `hash`. */
  value?: (value: T) => string | number;
  /** Hashes: "replace" (default; DEL then HSET, the hash is exactly the latest record) or "merge" (HSET only). */
  hashMode?: "replace" | "merge";
  /** Expire each written key after this many ms (counted from the write, also from a replayed write). */
  ttlMs?: number | ((value: T) => number | undefined);
  /** A record for which this returns true deletes its key (a tombstone). */
  isDelete?: (value: T) => boolean;
}

export class RedisUpsertSink<T> implements TwoPhaseCommittingSink<T, UpsertBatch<T>> {
  private readonly inner: UpsertSink<T>;

  constructor(options: RedisUpsertSinkOptions<T>) {
    const fail = (what: string): never => {
      throw new InvalidArgumentError(`RedisUpsertSink: ${what}`);
    };
    if (options === undefined || options === null) fail("needs options { key, hash | value }");
    if (typeof options.key !== "function") fail("`key` must be a function: (record) => Redis key");
    if ((typeof options.hash === "function") === (typeof options.value === "function")) {
      fail("give exactly one of `hash: (record) => fields` or `value: (record) => string`");
    }
    const mode = options.hashMode ?? "replace";
    if (mode !== "replace" && mode !== "merge")
      fail(`hashMode must be "replace" or "merge", got ${JSON.stringify(mode)}`);
    const ttl = options.ttlMs;
    if (ttl !== undefined && typeof ttl !== "function" && (!Number.isSafeInteger(ttl) || ttl < 1)) {
      fail(`ttlMs must be an integer >= 1 or a function, got ${ttl}`);
    }
    this.inner = new UpsertSink<T>({
      key: options.key,
      createTarget: (ctx) => new RedisUpsertTarget(options, ctx),
    });
  }

  createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<T, UpsertBatch<T>> {
    return this.inner.createWriter(ctx);
  }

  createCommitter(ctx: SinkWriterContext): Committer<UpsertBatch<T>> {
    return this.inner.createCommitter(ctx);
  }
}

/** One subtask's connection; each flush is one MULTI/EXEC (all of a checkpoint's keys or none). */
class RedisUpsertTarget<T> {
  private client: Promise<RedisConnection> | undefined;
  private lost: RedisConnectorError | undefined;
  private readonly owner: string;

  constructor(
    private readonly options: RedisUpsertSinkOptions<T>,
    ctx: SinkWriterContext,
  ) {
    this.owner = `RedisUpsertSink(subtask ${ctx.subtaskIndex})`;
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

  async upsert(rows: T[]): Promise<void> {
    const o = this.options;
    const replace = (o.hashMode ?? "replace") === "replace";
    const client = await this.connection();
    const multi = client.multi();
    for (const row of rows) {
      const key = o.key(row);
      if (o.isDelete?.(row) === true) {
        multi.del(key);
        continue;
      }
      const ttl = typeof o.ttlMs === "function" ? o.ttlMs(row) : o.ttlMs;
      if (o.value !== undefined) {
        const v = String(o.value(row));
        if (ttl === undefined) multi.set(key, v);
        else multi.set(key, v, { PX: ttl });
        continue;
      }
      const fields = o.hash!(row);
      if (replace) multi.del(key);
      if (Object.keys(fields).length > 0) multi.hSet(key, fields);
      if (ttl !== undefined) multi.pExpire(key, ttl);
    }
    try {
      await multi.exec();
    } catch (e) {
      throw commandError(
        this.lost ?? e,
        o,
        `${this.owner}: upserting ${rows.length} keys`,
        "the job restarts per its restart strategy and writes these keys again (idempotent)",
      );
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c !== undefined) closeRedis(await c.catch(() => undefined));
  }
}
