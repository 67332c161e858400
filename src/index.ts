// Weir's public API: everything a job, a connector or an embedding application uses.

export {
  StreamExecutionEnvironment,
  defineJob,
  isJobDefinition,
  type EnvironmentConfig,
  type JobDefinition,
} from "./api/environment.ts";
export {
  DataStream,
  SingleOutputStreamOperator,
  DataStreamSink,
  CollectHandle,
  KeyedStream,
  ConnectedStreams,
} from "./api/streams.ts";
export type { FieldRef } from "./api/keyed-stream.ts";
export { JobResult, type JobClient, type JobStatus, type VertexMetrics } from "./api/job-result.ts";
export { JobArgumentError, ParameterTool } from "./api/parameter-tool.ts";
export { CollectionSource } from "./api/sources/collection-source.ts";
export { NumberSequenceSource } from "./api/sources/number-sequence-source.ts";
export { DataGeneratorSource, type DataGeneratorOptions } from "./api/sources/data-generator-source.ts";
export { TextFileSource, type TextFileOptions, type FileSplit } from "./api/sources/text-file-source.ts";
export {
  SocketTextSource,
  SocketSourceError,
  type SocketTextOptions,
  type SocketSplit,
} from "./api/sources/socket-text-source.ts";
export { StaticSplitEnumerator, SplitQueueReader } from "./api/sources/split-queue.ts";
export {
  ContinuousFileSource,
  FILE_DEAD_LETTER_COUNTER,
  MalformedFileRecordError,
  type ContinuousFileFormat,
  type ContinuousFileSourceOptions,
  type ContinuousFileSplit,
  type CsvFormatOptions,
} from "./api/sources/continuous-file-source.ts";
export { PrintSink } from "./api/sinks/print-sink.ts";
export { FileSink, type FileFormat } from "./api/sinks/file-sink.ts";
export {
  ExactlyOnceFileSink,
  type RowFormatOptions,
  type RollingPolicy,
  type FileCommittable,
} from "./api/sinks/exactly-once-file-sink.ts";
export type {
  Committer,
  PrecommittingSinkWriter,
  TwoPhaseCommittingSink,
} from "./core/sink.ts";
export {
  WriteAheadSink,
  writeAheadTransactionId,
  type WriteAheadSender,
  type WriteAheadSinkOptions,
  type WriteAheadTransaction,
} from "./api/sinks/write-ahead-sink.ts";
export {
  UpsertSink,
  type UpsertBatch,
  type UpsertSinkOptions,
  type UpsertTarget,
} from "./api/sinks/upsert-sink.ts";
export {
  OutputTag,
  Counter,
  MaxAccumulator,
  ListAccumulator,
  type Accumulator,
  type Collector,
  type RuntimeContext,
  type RichFunction,
  type MapFunction,
  type FlatMapFunction,
  type FilterFunction,
  type ReduceFunction,
  type MapFn,
  type FlatMapFn,
  type FilterFn,
  type ReduceFn,
  type KeySelector,
  type Partitioner,
} from "./core/functions.ts";
export type {
  MetricGroup,
  MetricCounter,
  Gauge,
  Meter,
  Histogram,
  HistogramStatistics,
} from "./core/metrics.ts";
export { SimpleCounter } from "./runtime/metrics/simple-counter.ts";
export { MeterView } from "./runtime/metrics/meter-view.ts";
export { ReservoirHistogram } from "./runtime/metrics/reservoir-histogram.ts";
export {
  WatermarkStrategy,
  MIN_WATERMARK,
  MAX_WATERMARK,
  type WatermarkGenerator,
  type WatermarkOutput,
  type TimestampAssigner,
} from "./core/watermark.ts";
export { ManualClock, systemClock, type Clock } from "./runtime/time/clock.ts";
export type {
  TimeDomain,
  TimerService,
  OnTimerContext,
  ProcessContext,
  KeyedProcessContext,
  ProcessFunction,
  KeyedProcessFunction,
  CoProcessFunction,
  KeyedCoProcessFunction,
  CoMapFunction,
  CoFlatMapFunction,
  BroadcastProcessFunction,
  KeyedBroadcastProcessFunction,
  BroadcastBaseContext,
  BroadcastReadOnlyContext,
  BroadcastContext,
  KeyedBroadcastReadOnlyContext,
  KeyedBroadcastContext,
  KeyedBroadcastOnTimerContext,
  KeyedStateOf,
} from "./core/process.ts";
export { BroadcastStream } from "./api/broadcast-stream.ts";
export { BroadcastConnectedStream, KeyedBroadcastConnectedStream } from "./api/broadcast-connected-stream.ts";
export type {
  CheckpointedFunction,
  FunctionInitializationContext,
  FunctionSnapshotContext,
} from "./core/checkpointed-function.ts";
export {
  ValueStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  AggregatingStateDescriptor,
  StateTtlConfig,
  UpdateType,
  StateVisibility,
  StateDescriptorConflictError,
  StateMigrationError,
  ReadOnlyStateError,
  type ValueState,
  type ListState,
  type MapState,
  type ReducingState,
  type AggregatingState,
  type AggregateFunction,
  type BroadcastState,
  type ReadOnlyBroadcastState,
  type OperatorStateStore,
  type KeyedStateStore,
} from "./core/state.ts";
export { CheckpointConfig, type CheckpointingMode } from "./checkpoint/checkpoint-config.ts";
export { RestartStrategies, type RestartStrategyConfig } from "./checkpoint/restart-strategy.ts";
export * from "./api/windowing/index.ts";
export {
  InputStatus,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumerator,
  type SplitEnumeratorContext,
  type ReaderOutput,
  type Boundedness,
} from "./core/source.ts";
export type { Sink, SinkWriter, SinkWriterContext } from "./core/sink.ts";
export { Types, inferTypeInfo } from "./core/types/types.ts";
export { TypeInformation, type TypeSerializer } from "./core/types/type-info.ts";
export {
  WeirError,
  InvalidArgumentError,
  InvalidJobError,
  SerializationError,
  JobExecutionError,
  JobCancelledError,
  type WeirErrorCode,
} from "./core/errors.ts";
export { assignToKeyGroup, keyGroupRangeFor, DEFAULT_MAX_PARALLELISM } from "./core/key-groups.ts";
export type { ManagedJobClient } from "./api/job-client.ts";
export { StopWithSavepointError } from "./checkpoint/savepoint.ts";
export {
  AsyncDataStream,
  DEFAULT_ASYNC_CAPACITY,
  type AsyncFn,
  type AsyncFunction,
  type ResultFuture,
} from "./api/async/async-data-stream.ts";
export {
  AsyncRetryStrategies,
  RetryPredicates,
  FixedDelayRetryStrategyBuilder,
  ExponentialBackoffDelayRetryStrategyBuilder,
  type AsyncRetryStrategy,
} from "./api/async/retry-strategies.ts";
export { AsyncTimeoutError, AsyncRequestError } from "./runtime/operators/async/async-wait-operator.ts";
export {
  IntervalJoin,
  IntervalJoined,
  type ProcessJoinFn,
  type ProcessJoinFunction,
  type ProcessJoinContext,
} from "./api/joins/interval-join.ts";
export {
  TwoInputWindowBuilder,
  JoinedWindow,
  CoGroupedWindow,
  type TaggedUnion,
  type JoinFunction,
  type FlatJoinFunction,
  type CoGroupFunction,
  type JoinFn,
  type CoGroupFn,
} from "./api/joins/co-group.ts";
