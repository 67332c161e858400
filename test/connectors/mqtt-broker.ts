// The MQTT broker of the mqtt-*.test.ts files: Mosquitto on 127.0.0.1:1883 (WEIR_MQTT_URL
// overrides), or, when it is not reachable, a private `mosquitto -p <free port>`. Without either
// the tests fail loudly (never skip). Also a plain client to publish and collect test messages.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { connectAsync, type MqttClient } from "mqtt";
import { freePort } from "./redis-server.ts";

export interface MqttTestBroker {
  url: string;
  client: MqttClient;
  /** A fresh topic prefix "weir-test/<name>/<random>/". */
  prefix(name: string): string;
  stop(): Promise<void>;
}

async function tryConnect(url: string): Promise<MqttClient | undefined> {
  try {
    return await connectAsync(url, { connectTimeout: 2000, reconnectPeriod: 0 });
  } catch {
    return undefined;
  }
}

export async function startMqtt(): Promise<MqttTestBroker> {
  let url = process.env.WEIR_MQTT_URL ?? "mqtt://127.0.0.1:1883";
  let client = await tryConnect(url);
  let child: ChildProcess | undefined;
  if (client === undefined) {
    if (spawnSync("mosquitto", ["-h"]).error !== undefined) {
      throw new Error(
        `no MQTT broker at ${url} and no mosquitto binary to start one; install it (apt-get install mosquitto) or set WEIR_MQTT_URL`,
      );
    }
    const port = await freePort();
    child = spawn("mosquitto", ["-p", String(port)], { stdio: "ignore" });
    url = `mqtt://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    while (client === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      client = await tryConnect(url);
    }
    if (client === undefined) {
      child.kill();
      throw new Error(`started mosquitto on ${url} but could not connect in 20 s`);
    }
  }
  const c = client;
  return {
    url,
    client: c,
    prefix: (name) => `weir-test/${name}/${process.pid}-${Math.random().toString(36).slice(2, 10)}/`,
    async stop() {
      await c.endAsync(true);
      if (child !== undefined) {
        child.kill();
        await new Promise((r) => child!.once("exit", r));
      }
    },
  };
}
