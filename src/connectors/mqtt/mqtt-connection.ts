// The MQTT connection of the MQTT connectors: the settings users give, a description of the
// broker that never shows credentials, and one connect() that turns "broker down" into one error
// naming host and port (the task fails and the job's restart strategy takes over).

import { connect, type IClientOptions, type MqttClient } from "mqtt";
import { WeirError } from "../../index.ts";

export interface MqttConnectionSettings {
  /** mqtt://[user:password@]host:port (default mqtt://127.0.0.1:1883). Never shown in errors. */
  url?: string;
  /** Further options of the mqtt client (username, password, protocolVersion, tls...). */
  clientOptions?: IClientOptions;
  /** How long to wait for the broker's CONNACK, ms (default 5000). */
  connectTimeoutMs?: number;
}

/** A broker that cannot be reached, went away, or refused what was asked of it. */
export class MqttConnectorError extends WeirError {
  /** host:port of the broker, without credentials. */
  readonly address: string;
  constructor(message: string, address: string, cause?: unknown) {
    super("IO", message, { cause });
    this.address = address;
  }
}

/**
 * An MQTT message whose payload the user's deserializer rejected. MQTT has no message positions:
 * the message is named by its topic and its number among what this reader received since it started.
 */
export class MqttMalformedMessageError extends WeirError {
  constructor(
    message: string,
    readonly topic: string,
    readonly received: number,
    cause: unknown,
  ) {
    super("SERIALIZATION", message, { cause });
  }
}

const DEFAULT_URL = "mqtt://127.0.0.1:1883";

/** host:port of the settings, never credentials. */
export function describeMqtt(settings: MqttConnectionSettings): string {
  try {
    const u = new URL(settings.url ?? DEFAULT_URL);
    return `${u.hostname}:${u.port === "" ? "1883" : u.port}`;
  } catch {
    return "(unparsable MQTT URL)";
  }
}

/** A client error message with anything that looks like credentials in a URL removed. */
export function redact(message: string): string {
  return message.replace(/\/\/[^@/\s]*@/g, "//");
}

/**
 * Connect; a broker that is down fails at once with one error naming host and port. `setup` sees
 * the client before it connects: a persistent session's queued messages can come in the same
 * packet as the CONNACK, so message handlers must be there first.
 */
export async function connectMqtt(
  settings: MqttConnectionSettings,
  owner: string,
  extra: IClientOptions,
  setup?: (client: MqttClient) => void,
): Promise<MqttClient> {
  const where = describeMqtt(settings);
  const client = connect(settings.url ?? DEFAULT_URL, {
    connectTimeout: settings.connectTimeoutMs ?? 5000,
    ...settings.clientOptions,
    ...extra,
    // No silent reconnects: a lost connection fails the task, the restart strategy reconnects.
    reconnectPeriod: 0,
  });
  setup?.(client);
  try {
    await new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        client.off("error", onError);
        client.off("close", onClose);
        resolve();
      };
      const onError = (e: Error) => {
        client.off("connect", onConnect);
        client.off("close", onClose);
        reject(e);
      };
      const onClose = () => {
        client.off("connect", onConnect);
        client.off("error", onError);
        reject(new Error("connection closed"));
      };
      client.once("connect", onConnect);
      client.once("error", onError);
      client.once("close", onClose);
    });
    return client;
  } catch (e) {
    client.end(true);
    throw new MqttConnectorError(
      `${owner}: cannot connect to the MQTT broker at ${where}: ${redact(String((e as Error)?.message ?? e))}; check that the broker (e.g. mosquitto) runs there and the connection settings; the job restarts per its restart strategy`,
      where,
      e,
    );
  }
}

/** The error of a connection that dropped while in use. */
export function lostConnection(
  settings: MqttConnectionSettings,
  owner: string,
  cause?: unknown,
): MqttConnectorError {
  const where = describeMqtt(settings);
  const why = cause === undefined ? "connection closed" : redact(String((cause as Error)?.message ?? cause));
  return new MqttConnectorError(
    `${owner}: lost the connection to the MQTT broker at ${where} (${why}); the job restarts per its restart strategy once the broker is back`,
    where,
    cause,
  );
}
