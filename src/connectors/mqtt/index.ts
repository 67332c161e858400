// The MQTT connectors' public API (weir-stream/connectors/mqtt): a source subscribing to topic
// filters with QoS 1 and a sink publishing with QoS 1, both at-least-once (MQTT has no offsets
// and no replay; see docs/connectors/mqtt.md). Needs the optional peer `mqtt`.

export {
  DEAD_LETTER_COUNTER,
  MqttSource,
  type MqttMessageMeta,
  type MqttSourceOptions,
  type MqttSplit,
} from "./mqtt-source.ts";
export { MqttSink, type MqttSinkOptions } from "./mqtt-sink.ts";
export {
  MqttConnectorError,
  MqttMalformedMessageError,
  type MqttConnectionSettings,
} from "./mqtt-connection.ts";
