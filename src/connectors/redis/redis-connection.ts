// The Redis connection of the Redis connectors: the settings users give, a description of the
// server that never shows credentials, one connect() that turns "server down" or "server gone"
// into one error naming host and port, entry-ID arithmetic, and the connector's typed errors.

import { createClient, type RedisClientOptions } from "redis";
import { WeirError } from "../../index.ts";

/** Where and how to connect. */
export interface RedisConnectionSettings {
  /** redis://[[user]:password@]host:port[/db] (default redis://127.0.0.1:6379). Never shown in errors. */
  url?: string;
  /** Further options of the node-redis client (password, username, socket.tls, database...). */
  clientOptions?: Omit<RedisClientOptions, "url">;
  /** Reconnect attempts after the connection drops (or at start) before the task fails (default 5). */
  maxReconnectAttempts?: number;
}

/** The node-redis client the connectors use (no modules, RESP2). */
export type RedisConnection = ReturnType<typeof createClient>;

/** A Redis server that cannot be reached, went away, or refused what was asked of it. */
export class RedisConnectorError extends WeirError {
  /** host:port of the server, without credentials. */
  readonly address: string;
  constructor(code: "IO" | "INVALID_ARGUMENT", message: string, address: string, cause?: unknown) {
    super(code, message, { cause });
    this.address = address;
  }
}

/** A stream entry whose fields the user's deserializer rejected. */
export class RedisMalformedEntryError extends WeirError {
  constructor(
    message: string,
    readonly stream: string,
    readonly entryId: string,
    cause: unknown,
  ) {
    super("SERIALIZATION", message, { cause });
  }
}

const DEFAULT_URL = "redis://127.0.0.1:6379";

/** host:port of the settings (from the URL or the socket options), never credentials. */
export function describeRedis(settings: RedisConnectionSettings): string {
  const socket = settings.clientOptions?.socket as
    | { host?: string; port?: number; path?: string }
    | undefined;
  if (settings.url === undefined && socket !== undefined) {
    if (socket.path !== undefined) return socket.path;
    return `${socket.host ?? "127.0.0.1"}:${socket.port ?? 6379}`;
  }
  try {
    const u = new URL(settings.url ?? DEFAULT_URL);
    return `${u.hostname}:${u.port === "" ? "6379" : u.port}`;
  } catch {
    return "(unparsable redis URL)";
  }
}

/** A client error message with anything that looks like credentials in a URL removed. */
export function redact(message: string): string {
  return message.replace(/\/\/[^@/\s]*@/g, "//");
}

/**
 * Connect a new client. A server that is down fails with one RedisConnectorError naming host and
 * port after a few attempts (the task fails and the job's restart strategy takes over). A
 * connection that drops later is retried the same way, then reported through `onLost`.
 */
export async function connectRedis(
  settings: RedisConnectionSettings,
  owner: string,
  onLost?: (error: RedisConnectorError) => void,
): Promise<RedisConnection> {
  const where = describeRedis(settings);
  const attempts = settings.maxReconnectAttempts ?? 5;
  let gaveUp: RedisConnectorError | undefined;
  const options = settings.clientOptions ?? {};
  const client = createClient({
    ...options,
    url: settings.url ?? (options.socket === undefined ? DEFAULT_URL : undefined),
    socket: {
      connectTimeout: 5000,
      ...options.socket,
      reconnectStrategy: (retries: number, cause: Error) => {
        if (retries < attempts) return Math.min(100 * 2 ** retries, 1000);
        gaveUp = new RedisConnectorError(
          "IO",
          `${owner}: cannot reach Redis at ${where} (${redact(cause.message)}, ${retries} attempts); check that redis-server runs there and the connection settings; the job restarts per its restart strategy`,
          where,
          cause,
        );
        return gaveUp;
      },
    } as RedisClientOptions["socket"],
  }) as RedisConnection;
  let connected = false;
  client.on("error", (e: unknown) => {
    // Every failed attempt is reported here; only giving up ends the connection.
    if (connected && e === gaveUp && gaveUp !== undefined && !closedByUs.has(client)) onLost?.(gaveUp);
  });
  try {
    await client.connect();
  } catch (e) {
    closedByUs.add(client);
    throw gaveUp !== undefined
      ? gaveUp
      : e instanceof RedisConnectorError
        ? e
        : new RedisConnectorError(
            "IO",
            `${owner}: cannot connect to Redis at ${where}: ${redact((e as Error).message)}; check that redis-server runs there and the connection settings`,
            where,
            e,
          );
  }
  connected = true;
  return client;
}

const closedByUs = new WeakSet<object>();

/** Close a client we opened (not reported as lost); pending commands are rejected. */
export function closeRedis(client: RedisConnection | undefined): void {
  if (client === undefined) return;
  closedByUs.add(client);
  try {
    client.destroy();
  } catch {}
}

const CONNECTION_LOST = /ECONNRESET|ECONNREFUSED|EPIPE|socket closed|client is closed|connection is closed/i;

/** Turn a command's failure into an error naming the server (the lost connection's, when it is that). */
export function commandError(
  e: unknown,
  settings: RedisConnectionSettings,
  what: string,
  hint: string,
): RedisConnectorError {
  if (e instanceof RedisConnectorError) return e;
  const where = describeRedis(settings);
  const msg = redact(String((e as Error)?.message ?? e));
  if (CONNECTION_LOST.test(msg) || (e as Error)?.name === "SocketClosedUnexpectedlyError") {
    return new RedisConnectorError(
      "IO",
      `${what}: lost the connection to Redis at ${where} (${msg}); the job restarts per its restart strategy once the server is back`,
      where,
      e,
    );
  }
  return new RedisConnectorError("IO", `${what} at ${where} failed: ${msg}; ${hint}`, where, e);
}

/** A stream entry ID as [ms, seq]. */
export function parseEntryId(id: string): [bigint, bigint] {
  const dash = id.indexOf("-");
  if (dash < 0) return [BigInt(id), 0n];
  return [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
}

/** Negative, zero or positive as entry ID a is before, equal to or after b. */
export function compareEntryIds(a: string, b: string): number {
  const [am, as] = parseEntryId(a);
  const [bm, bs] = parseEntryId(b);
  if (am !== bm) return am < bm ? -1 : 1;
  return as < bs ? -1 : as > bs ? 1 : 0;
}

/** The milliseconds part of an entry ID (its time, when the server generated the ID). */
export function entryIdMillis(id: string): number {
  const dash = id.indexOf("-");
  return Number(dash < 0 ? id : id.slice(0, dash));
}

/** The largest possible entry ID before epoch millisecond `ms`: reading after it starts at `ms`. */
export function idBeforeMillis(ms: number): string {
  return ms <= 0 ? "0-0" : `${ms - 1}-18446744073709551615`;
}

export const ENTRY_ID_PATTERN = /^\d+-\d+$/;
