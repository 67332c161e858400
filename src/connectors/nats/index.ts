// The NATS JetStream connector's public API (weir-stream/connectors/nats): a replayable source
// (positions = stream sequences in checkpoints) and a sink that is idempotent through Nats-Msg-Id
// within the stream's duplicate window. Needs the optional peers @nats-io/transport-node and
// @nats-io/jetstream.

export { JetStreamSource } from "./jetstream-source.ts";
export {
  DEAD_LETTER_COUNTER,
  jsonDeserializer,
  stringDeserializer,
  type JetStreamMalformedPolicy,
  type JetStreamMessageMeta,
  type JetStreamSourceOptions,
  type JetStreamSplit,
  type JetStreamStartPosition,
} from "./jetstream-source-options.ts";
export {
  DUPLICATE_COUNTER,
  JetStreamSink,
  jetStreamMessageId,
  type JetStreamSinkOptions,
} from "./jetstream-sink.ts";
export {
  JetStreamMalformedMessageError,
  NatsConnectorError,
  type NatsConnectionSettings,
} from "./nats-connection.ts";
