// One Nexmark run as a job graph: a source (the generator or a JSON-lines file), a query, and a sink
// (JSON lines, or a discarding sink that only counts, as the suite's blackhole sink).

import { BroadcastChannel } from "node:worker_threads";
import {
  type Counter,
  type DataStream,
  FileSink,
  InvalidArgumentError,
  type Sink,
  type SinkWriter,
  type SinkWriterContext,
  type StreamExecutionEnvironment,
  WatermarkStrategy,
} from "../index.ts";
import type { NexmarkConfig } from "../connectors/nexmark/config.ts";
import type { NexmarkEvent } from "../connectors/nexmark/model.ts";
import { nexmarkQuery } from "./queries/index.ts";
import {
  NexmarkJsonLinesSource,
  type NexmarkProgressListener,
  NexmarkSource,
} from "../connectors/nexmark/source.ts";
import { nexmarkWatermarks } from "../connectors/nexmark/watermarks.ts";

/** Everything a Nexmark job needs; plain data, so it can travel to worker threads as JSON. */
export interface NexmarkJobParams {
  /** "q0", "q1", ... */
  query: string;
  /** Generator settings (numEvents, seed, ...); used when `input` is absent. */
  generator?: Partial<NexmarkConfig>;
  /** A JSON-lines events file (or directory) to read instead of generating. */
  input?: string;
  /** Directory for the results as JSON lines (part-<subtask>.jsonl); absent: results are only counted. */
  outDir?: string;
  /** Name of a BroadcastChannel the source readers post progress to: { subtask, events }. */
  progressChannel?: string;
  /**
   * Write `outDir` with the exactly-once file sink (part files committed per checkpoint), for runs
   * with checkpoints; otherwise a plain file sink writes part-<subtask>.jsonl.
   */
  exactlyOnce?: boolean;
  /** q13's side input: a CSV file of key,value lines (default: the reference's table). */
  sideInput?: string;
}

/** Accumulator holding the number of results the query produced. */
export const RESULTS_COUNTER = "nexmark.results";

/** A message on the progress channel: events emitted so far by one source subtask. */
export interface NexmarkProgress {
  subtask: number;
  events: number;
}

/** Adds source, query and sink to `env`; returns the query's result stream (before the sink). */
export function buildNexmarkJob(
  env: StreamExecutionEnvironment,
  params: NexmarkJobParams,
): DataStream<unknown> {
  const query = nexmarkQuery(params.query);
  const onProgress =
    params.progressChannel === undefined ? undefined : progressPoster(params.progressChannel);
  // Watermarks only for the queries that need them (they cost a little per event).
  const watermarks =
    query.eventTime === true ? nexmarkWatermarks() : WatermarkStrategy.noWatermarks<NexmarkEvent>();
  let events: DataStream<NexmarkEvent>;
  if (params.input !== undefined) {
    const source = new NexmarkJsonLinesSource(params.input, { onProgress });
    events = env.fromSource(source, watermarks, "Nexmark events file");
  } else {
    if (params.generator === undefined || !(Number(params.generator.numEvents) > 0)) {
      throw new InvalidArgumentError("a Nexmark job needs an input file or a generator with numEvents > 0");
    }
    events = env.fromSource(
      new NexmarkSource(params.generator, { onProgress }),
      watermarks,
      "Nexmark generator",
    );
  }
  const results = query.build(events, params.sideInput !== undefined ? { sideInput: params.sideInput } : {});
  if (params.outDir !== undefined && params.exactlyOnce === true) {
    // Counted by the runner from the committed files (a counting wrapper would hide the two phases).
    results.sinkTo(
      FileSink.forRowFormat<unknown>(params.outDir, { format: "jsonl" }),
      `${query.name} results file (exactly once)`,
    );
  } else if (params.outDir !== undefined) {
    results.sinkTo(countingSink(FileSink.forJsonLines<unknown>(params.outDir)), `${query.name} results file`);
  } else {
    results.sinkTo(countingSink(undefined), `${query.name} results (discarded)`);
  }
  return results;
}

/** Counts records into RESULTS_COUNTER, then hands them to `inner` (or drops them). */
function countingSink<T>(inner: Sink<T> | undefined): Sink<T> {
  return {
    async createWriter(ctx: SinkWriterContext): Promise<SinkWriter<T>> {
      const writer = inner === undefined ? undefined : await inner.createWriter(ctx);
      let n = 0;
      const counter: Counter = ctx.runtime.getCounter(RESULTS_COUNTER);
      const report = () => {
        counter.add(n);
        n = 0;
      };
      if (writer === undefined) {
        return {
          write(): void {
            n++;
          },
          finish: report,
          close: report,
        };
      }
      return {
        write(value: T): void {
          n++;
          writer.write(value);
        },
        async finish(): Promise<void> {
          report();
          await writer.finish?.();
        },
        async close(): Promise<void> {
          report();
          await writer.close?.();
        },
      };
    },
  };
}

/** A listener posting progress on a BroadcastChannel, opened on first use (in the thread that reads). */
function progressPoster(name: string): NexmarkProgressListener {
  let channel: BroadcastChannel | undefined;
  return (subtask, events) => {
    if (channel === undefined) {
      channel = new BroadcastChannel(name);
      channel.unref();
    }
    channel.postMessage({ subtask, events } satisfies NexmarkProgress);
  };
}
