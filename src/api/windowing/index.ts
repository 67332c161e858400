// The windowing API in one place: windows, assigners, triggers, evictors, window functions and
// the windowed streams.

export {
  TimeWindow,
  GlobalWindow,
  WindowAssigner,
  MergingWindowAssigner,
  TriggerResult,
  MAX_WINDOW_TIMESTAMP,
  type Window,
  type WindowAssignerContext,
  type Trigger,
  type TriggerContext,
  type OnMergeContext,
  type Evictor,
  type EvictorContext,
  type TimestampedValue,
} from "../../runtime/operators/window/window-contracts.ts";
export type {
  ProcessWindowFunction,
  ProcessWindowContext,
  WindowFunction,
  ProcessAllWindowFunction,
  AllWindowFunction,
} from "../../runtime/operators/window/window-functions.ts";
export { LATE_RECORDS_DROPPED } from "../../runtime/operators/window/window-operator.ts";
export {
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  EventTimeSessionWindows,
  ProcessingTimeSessionWindows,
  GlobalWindows,
  type SessionWindowTimeGapExtractor,
} from "./assigners.ts";
export {
  EventTimeTrigger,
  ProcessingTimeTrigger,
  CountTrigger,
  ContinuousEventTimeTrigger,
  ContinuousProcessingTimeTrigger,
  PurgingTrigger,
  DeltaTrigger,
  ProcessingTimeoutTrigger,
  NeverTrigger,
} from "./triggers.ts";
export { CountEvictor, TimeEvictor, DeltaEvictor, type DeltaFunction } from "./evictors.ts";
export { Time } from "./time.ts";
export { WindowedStream, AllWindowedStream } from "./windowed-stream.ts";
