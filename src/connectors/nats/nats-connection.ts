// The NATS connection of the JetStream source and sink: the connection settings users give, a
// description of the servers that never shows credentials, one connect() that turns "server down"
// into an error naming host and port, and the typed errors of the connector.

import { type ConnectionOptions, connect, type NatsConnection } from "@nats-io/transport-node";
import { WeirError } from "../../index.ts";

/** Where and how to connect: servers ("127.0.0.1:4222", "nats://host:4222") and client options. */
export interface NatsConnectionSettings {
  /** One server or several (host:port, or nats://[user:pass@]host:port). */
  servers: string | string[];
  /**
   * Further options of the @nats-io client (user/pass, token, authenticator, tls, name...).
   * Credentials given here never appear in Weir's errors or logs.
   */
  connectionOptions?: Omit<Partial<ConnectionOptions>, "servers">;
}

/** A NATS server that cannot be reached, or refused what was asked of it. */
export class NatsConnectorError extends WeirError {
  /** The servers, without credentials ("127.0.0.1:4222"). */
  readonly servers: string;
  constructor(code: "IO" | "INVALID_ARGUMENT", message: string, servers: string, cause?: unknown) {
    super(code, message, { cause });
    this.servers = servers;
  }
}

/** A JetStream message whose payload the user's deserializer rejected. */
export class JetStreamMalformedMessageError extends WeirError {
  constructor(
    message: string,
    readonly stream: string,
    readonly sequence: number,
    readonly subject: string,
    cause: unknown,
  ) {
    super("SERIALIZATION", message, { cause });
  }
}

/** "host:port[, host:port]" of the settings' servers, with any user:password@ removed. */
export function describeServers(servers: string | string[]): string {
  const list = Array.isArray(servers) ? servers : [servers];
  return list.map((s) => s.replace(/^[a-z]+:\/\//i, "").replace(/^[^@/]*@/, "")).join(", ");
}

/** A client error message with anything that looks like credentials in a URL removed. */
export function redact(message: string): string {
  return message.replace(/\/\/[^@/\s]*@/g, "//");
}

/**
 * Connect to NATS. A server that is down fails with one NatsConnectorError naming host and port
 * (the task fails and the job's restart strategy takes over). A connection that drops later is
 * retried by the client a few times (reconnect), then reported through `onLost`.
 */
export async function connectNats(
  settings: NatsConnectionSettings,
  owner: string,
  onLost?: (error: NatsConnectorError) => void,
): Promise<NatsConnection> {
  const where = describeServers(settings.servers);
  let nc: NatsConnection;
  try {
    nc = await connect({
      name: "weir",
      maxReconnectAttempts: 10,
      reconnectTimeWait: 500,
      timeout: 10_000,
      ...settings.connectionOptions,
      servers: settings.servers,
    });
  } catch (e) {
    throw new NatsConnectorError(
      "IO",
      `${owner}: cannot connect to NATS at ${where}: ${redact((e as Error).message)}; check that nats-server runs there with JetStream enabled (nats-server -js) and the connection settings`,
      where,
      e,
    );
  }
  void nc.closed().then((err) => {
    if (onLost === undefined || (err === undefined && nc.isClosed() && closedByUs.has(nc))) return;
    const why = err === undefined ? "the connection was closed" : redact((err as Error).message);
    onLost(
      new NatsConnectorError(
        "IO",
        `${owner}: lost the connection to NATS at ${where} (${why}); the job restarts per its restart strategy once the server is back`,
        where,
        err,
      ),
    );
  });
  return nc;
}

const closedByUs = new WeakSet<NatsConnection>();

/** Close a connection we opened (not reported as lost). */
export async function closeNats(nc: NatsConnection | undefined): Promise<void> {
  if (nc === undefined) return;
  closedByUs.add(nc);
  await nc.close().catch(() => {});
}
