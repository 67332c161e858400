// The stream classes, wired together (see streamClasses in data-stream.ts). Import streams from here.

import { connectToBroadcast } from "./broadcast-connected-stream.ts";
import { ConnectedStreams } from "./connected-streams.ts";
import { streamClasses } from "./data-stream.ts";
import { KeyedStream } from "./keyed-stream.ts";

streamClasses.keyed = KeyedStream;
streamClasses.connected = ConnectedStreams;
streamClasses.broadcastConnected = connectToBroadcast;

export {
  CollectHandle,
  DataStream,
  DataStreamSink,
  SingleOutputStreamOperator,
  checkPositive,
  toKeySelector,
} from "./data-stream.ts";
export { ConnectedStreams, KeyedStream };
