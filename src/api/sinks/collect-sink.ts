// collect(): the records come back to the caller of execute(), for tests and small results.

import type { Sink, SinkWriter, SinkWriterContext } from "../../core/sink.ts";
import { publishCollected } from "../../runtime/collect-registry.ts";

const BATCH = 1024;

export class CollectSink<T> implements Sink<T> {
  /** Set by the API once the sink has its operator uid. */
  uid = "";

  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    let batch: T[] = [];
    const { jobId } = ctx.runtime;
    const uid = this.uid;
    const publish = () => {
      if (batch.length === 0) return;
      publishCollected(jobId, uid, ctx.subtaskIndex, batch);
      batch = [];
    };
    return {
      write(value: T): void {
        batch.push(value);
        if (batch.length >= BATCH) publish();
      },
      finish: publish,
      close: publish,
    };
  }
}
