// BroadcastStream: `stream.broadcast(descriptor, ...)` — a stream sent to every parallel instance of
// the operator it is connected to, together with the broadcast states (MapStateDescriptors) that
// operator keeps, identical on every subtask.

import type { MapStateDescriptor } from "../core/state.ts";
import type { Transformation } from "../graph/transformation.ts";
import type { StreamExecutionEnvironment } from "./environment.ts";

export class BroadcastStream<T> {
  constructor(
    readonly env: StreamExecutionEnvironment,
    /** @internal the broadcast partitioning of the input */ readonly transformation: Transformation,
    /** @internal the broadcast states of the operators this stream is connected to */
    readonly descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {}

  /** @internal phantom for the record type */
  declare readonly __type?: T;
}
