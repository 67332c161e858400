// StreamExecutionEnvironment: where a job is built (sources, settings) and run.

import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { InvalidArgumentError, InvalidJobError } from "../core/errors.ts";
import { DEFAULT_MAX_PARALLELISM, UPPER_BOUND_MAX_PARALLELISM } from "../core/key-groups.ts";
import type { Source } from "../core/source.ts";
import type { TypeInformation } from "../core/types/type-info.ts";
import { Types, inferTypeInfo } from "../core/types/types.ts";
import { type ExecutionGraph, buildExecutionGraph } from "../graph/execution-graph.ts";
import { type JobGraph, buildJobGraph } from "../graph/job-graph.ts";
import { inThreadLauncher } from "../execution/local-execution.ts";
import { JobMaster } from "../execution/job-master.ts";
import {
  CheckpointConfig,
  type CheckpointingMode,
  type CheckpointSettings,
  DEFAULT_CHECKPOINT_SETTINGS,
} from "../checkpoint/checkpoint-config.ts";
import { type RestartStrategyConfig, RestartStrategies } from "../checkpoint/restart-strategy.ts";
import { type ManagedJobClient, startClient } from "./job-client.ts";
import { ParameterTool } from "./parameter-tool.ts";
import { type ExecutionPlan, executionPlan } from "../graph/plan.ts";
import { type StreamGraph, buildStreamGraph } from "../graph/stream-graph.ts";
import type { NetworkOptions, StateBackendOptions, TimeOptions } from "../execution/task-deployment.ts";
import { parseMemorySize, type StateBackendKind } from "../state/index.ts";
import {
  DEFAULT_MANAGED_MEMORY,
  DEFAULT_TASK_HEAP_MEMORY,
  type MemoryModel,
  memoryModel,
} from "./memory-model.ts";
import { type Clock, systemClock } from "../runtime/time/clock.ts";
import type { WatermarkStrategy } from "../core/watermark.ts";
import type {
  OperatorTransformation,
  SourceTransformation,
  Transformation,
  TransformationBase,
} from "../graph/transformation.ts";
import { DEFAULT_BUFFER_SIZE } from "../network/buffer.ts";
import { DEFAULT_CREDITS_PER_CHANNEL } from "../network/channel.ts";
import {
  type CollectPublisher,
  registerCollectPublisher,
  unregisterCollectPublisher,
} from "../runtime/collect-registry.ts";
import { type CollectHandle, SingleOutputStreamOperator, checkPositive } from "./streams.ts";
import type { JobResult } from "./job-result.ts";
import type { CollectSink } from "./sinks/collect-sink.ts";
import { CollectionSource } from "./sources/collection-source.ts";
import { SocketTextSource } from "./sources/socket-text-source.ts";
import { DataGeneratorSource, type DataGeneratorOptions } from "./sources/data-generator-source.ts";
import { NumberSequenceSource } from "./sources/number-sequence-source.ts";
import { TextFileSource, type TextFileOptions } from "./sources/text-file-source.ts";
import { ContinuousFileSource, type ContinuousFileSourceOptions } from "./sources/continuous-file-source.ts";

export interface EnvironmentConfig {
  /** Default parallelism of every operator (default: the number of cores). */
  parallelism?: number;
  /** Key groups: the upper bound of parallelism for keyed state (default 128). */
  maxParallelism?: number;
  /** ms a partly filled network buffer may wait before it is sent (default 100; 0 = at once; -1 = only when full). */
  bufferTimeout?: number;
  /** Chain operators into tasks where possible (default true). */
  chaining?: boolean;
  /** Network buffer size in bytes (default 32 KiB). */
  bufferSize?: number;
  /** Credits (buffers in flight) per channel (default 4). */
  creditsPerChannel?: number;
  /** ms between periodic watermark emissions (default 200). */
  autoWatermarkInterval?: number;
  /**
   * ms between latency markers from every source subtask (Flink's metrics.latency.interval; 0, the
   * default: no latency tracking). Every operator downstream records source-to-operator latency.
   */
  latencyTrackingInterval?: number;
  /** Processing-time clock (in-thread execution only): a ManualClock makes processing time testable. */
  clock?: Clock;
  /** Checkpoint every this many ms (0 or absent: no checkpoints). */
  checkpointInterval?: number;
  checkpointingMode?: CheckpointingMode;
  /** Directory of checkpoint storage (default .weir/checkpoints). */
  checkpointDirectory?: string;
  /** Start from this checkpoint or savepoint directory. */
  restorePath?: string;
  /** Restore even when the checkpoint holds state of operators this job no longer has. */
  allowNonRestoredState?: boolean;
  restartStrategy?: RestartStrategyConfig;
  /** Where keyed state lives: "heap" (default) or "embedded" (on-disk LMDB stores, for state larger than memory). */
  stateBackend?: StateBackendKind;
  /** Directory of the embedded backend's stores (default: the OS temp directory). */
  stateDirectory?: string;
  /**
   * Managed memory (bytes, or a size such as "256mb"; default 256 MiB): the embedded backend's
   * budget, shared by the keyed operator subtasks (Flink's taskmanager.memory.managed.size).
   */
  managedMemory?: number | string;
  /**
   * Network memory (bytes or a size such as "64mb"; default: as the job needs): a job needing more
   * network buffers is refused before it starts (Flink's taskmanager.memory.network.*).
   */
  networkMemory?: number | string;
  /**
   * Task heap (bytes or a size such as "128mb"; default 128 MiB): with the embedded backend, each
   * worker thread's V8 heap is limited to its slot's managed memory plus this, the heap left for
   * the job's own objects (Flink's taskmanager.memory.task.heap.size).
   */
  taskHeapMemory?: number | string;
  /** The job's arguments (`weir run job.ts -- --name value`): the build function gets them parsed. */
  jobArguments?: readonly string[];
}

/** A compiled job: every graph from transformations to parallel subtasks. */
export interface CompiledJob {
  jobName: string;
  streamGraph: StreamGraph;
  jobGraph: JobGraph;
  executionGraph: ExecutionGraph;
  network: NetworkOptions;
  time: TimeOptions;
  checkpoint: CheckpointSettings;
  restart: RestartStrategyConfig;
  restorePath: string | undefined;
  allowNonRestoredState: boolean;
  stateBackend: StateBackendOptions;
  memory: MemoryModel;
}

export class StreamExecutionEnvironment {
  private parallelism: number;
  private maxParallelism: number;
  private bufferTimeout: number;
  private chaining: boolean;
  private bufferSize: number;
  private creditsPerChannel: number;
  private autoWatermarkInterval = 200;
  private latencyTrackingInterval = 0;
  private clock: Clock = systemClock;
  private readonly checkpointSettings: CheckpointSettings = { ...DEFAULT_CHECKPOINT_SETTINGS };
  private readonly checkpointConfig = new CheckpointConfig(this.checkpointSettings);
  private restartStrategy: RestartStrategyConfig | undefined;
  private restorePath: string | undefined;
  private allowNonRestoredState = false;
  private stateBackend: StateBackendOptions = { kind: "heap" };
  private managedMemory = DEFAULT_MANAGED_MEMORY;
  private networkMemory: number | undefined;
  private taskHeapMemory = DEFAULT_TASK_HEAP_MEMORY;
  private jobParameters = ParameterTool.fromArgs([]);
  private nextId = 1;
  /** @internal */ readonly transformations: Transformation[] = [];
  private readonly collects = new Map<
    number,
    { handle: CollectHandle<unknown>; sink: CollectSink<unknown> }
  >();
  /** Name used when execute() is given none. */
  defaultJobName = "Weir job";

  constructor(config: EnvironmentConfig = {}) {
    this.parallelism = availableParallelism();
    this.maxParallelism = DEFAULT_MAX_PARALLELISM;
    this.bufferTimeout = 100;
    this.chaining = true;
    this.bufferSize = DEFAULT_BUFFER_SIZE;
    this.creditsPerChannel = DEFAULT_CREDITS_PER_CHANNEL;
    this.configure(config);
  }

  static getExecutionEnvironment(config: EnvironmentConfig = {}): StreamExecutionEnvironment {
    return new StreamExecutionEnvironment(config);
  }

  /** Apply settings (those given; the rest stay). */
  configure(config: EnvironmentConfig): this {
    if (config.parallelism !== undefined) this.setParallelism(config.parallelism);
    if (config.maxParallelism !== undefined) this.setMaxParallelism(config.maxParallelism);
    if (config.bufferTimeout !== undefined) this.setBufferTimeout(config.bufferTimeout);
    if (config.chaining === false) this.disableOperatorChaining();
    if (config.bufferSize !== undefined) {
      if (!Number.isInteger(config.bufferSize) || config.bufferSize < 64) {
        throw new InvalidArgumentError(`bufferSize must be an integer >= 64 bytes, got ${config.bufferSize}`);
      }
      this.bufferSize = config.bufferSize;
    }
    if (config.creditsPerChannel !== undefined) {
      this.creditsPerChannel = checkPositive(config.creditsPerChannel, "creditsPerChannel");
    }
    if (config.autoWatermarkInterval !== undefined)
      this.setAutoWatermarkInterval(config.autoWatermarkInterval);
    if (config.latencyTrackingInterval !== undefined)
      this.setLatencyTrackingInterval(config.latencyTrackingInterval);
    if (config.checkpointInterval !== undefined && config.checkpointInterval > 0) {
      this.enableCheckpointing(config.checkpointInterval, config.checkpointingMode);
    }
    if (config.checkpointDirectory !== undefined)
      this.checkpointConfig.setCheckpointStorage(config.checkpointDirectory);
    if (config.restartStrategy !== undefined) this.setRestartStrategy(config.restartStrategy);
    if (config.stateBackend !== undefined || config.stateDirectory !== undefined) {
      this.setStateBackend(config.stateBackend ?? this.stateBackend.kind, config.stateDirectory);
    }
    if (config.managedMemory !== undefined) this.setManagedMemory(config.managedMemory);
    if (config.networkMemory !== undefined) this.setNetworkMemory(config.networkMemory);
    if (config.taskHeapMemory !== undefined) this.setTaskHeapMemory(config.taskHeapMemory);
    if (config.restorePath !== undefined) this.restoreFrom(config.restorePath, config.allowNonRestoredState);
    else if (config.allowNonRestoredState !== undefined)
      this.allowNonRestoredState = config.allowNonRestoredState;
    if (config.jobArguments !== undefined) this.jobParameters = ParameterTool.fromArgs(config.jobArguments);
    if (config.clock !== undefined) {
      if (typeof config.clock?.now !== "function")
        throw new InvalidArgumentError("clock needs a now() method");
      this.clock = config.clock;
    }
    return this;
  }

  setParallelism(parallelism: number): this {
    this.parallelism = checkPositive(parallelism, "parallelism");
    return this;
  }
  getParallelism(): number {
    return this.parallelism;
  }

  setMaxParallelism(maxParallelism: number): this {
    checkPositive(maxParallelism, "maxParallelism");
    if (maxParallelism > UPPER_BOUND_MAX_PARALLELISM) {
      throw new InvalidArgumentError(
        `maxParallelism must be at most ${UPPER_BOUND_MAX_PARALLELISM}, got ${maxParallelism}`,
      );
    }
    this.maxParallelism = maxParallelism;
    return this;
  }
  getMaxParallelism(): number {
    return this.maxParallelism;
  }

  setBufferTimeout(ms: number): this {
    if (!Number.isFinite(ms) || (ms < 0 && ms !== -1)) {
      throw new InvalidArgumentError(
        `buffer timeout must be >= 0 ms, or -1 to flush only full buffers; got ${ms}`,
      );
    }
    this.bufferTimeout = ms;
    return this;
  }
  getBufferTimeout(): number {
    return this.bufferTimeout;
  }

  /** Take a checkpoint every `intervalMs` (exactly-once by default). */
  enableCheckpointing(intervalMs: number, mode: CheckpointingMode = "EXACTLY_ONCE"): this {
    this.checkpointConfig.setCheckpointInterval(intervalMs);
    this.checkpointConfig.setCheckpointingMode(mode);
    return this;
  }

  /** The job's arguments, parsed (what a job module's build function receives as its second argument). */
  getJobParameters(): ParameterTool {
    return this.jobParameters;
  }

  getCheckpointConfig(): CheckpointConfig {
    return this.checkpointConfig;
  }

  /**
   * How the job restarts after a failure (default with checkpoints, as in Flink 1.19: exponential
   * delay, unlimited, 1 s growing ×1.5 up to 1 min; without checkpoints: none).
   */
  setRestartStrategy(strategy: RestartStrategyConfig): this {
    if (
      typeof strategy !== "object" ||
      strategy === null ||
      typeof (strategy as { kind?: unknown }).kind !== "string"
    ) {
      throw new InvalidArgumentError(
        "setRestartStrategy() needs a strategy from RestartStrategies (fixedDelay, exponentialDelay, failureRate, noRestart)",
      );
    }
    this.restartStrategy = strategy;
    return this;
  }

  /** Where keyed state lives; user code does not change with it. */
  setStateBackend(kind: StateBackendKind, directory?: string): this {
    if (kind !== "heap" && kind !== "embedded") {
      throw new InvalidArgumentError(`unknown state backend '${String(kind)}'; use "heap" or "embedded"`);
    }
    this.stateBackend = { kind, directory };
    return this;
  }
  getStateBackend(): StateBackendKind {
    return this.stateBackend.kind;
  }

  /** Managed memory (bytes or "256mb"): the embedded state backend's budget, shared by the keyed subtasks. */
  setManagedMemory(size: number | string): this {
    this.managedMemory = parseMemorySize(size, "managed memory");
    return this;
  }

  /** Network memory (bytes or "64mb"): the most the job's network buffers may take together. */
  setNetworkMemory(size: number | string): this {
    this.networkMemory = parseMemorySize(size, "network memory");
    return this;
  }

  /**
   * Task heap (bytes or "128mb"): with the embedded backend, a worker thread's V8 heap is limited
   * to its slot's managed memory plus this.
   */
  setTaskHeapMemory(size: number | string): this {
    this.taskHeapMemory = parseMemorySize(size, "task heap memory");
    return this;
  }

  /** Start the job from a checkpoint or savepoint directory. */
  restoreFrom(path: string, allowNonRestoredState = false): this {
    if (typeof path !== "string" || path.length === 0)
      throw new InvalidArgumentError("restoreFrom() needs a path");
    this.restorePath = path;
    this.allowNonRestoredState = allowNonRestoredState;
    return this;
  }

  setAutoWatermarkInterval(ms: number): this {
    if (!Number.isFinite(ms) || ms <= 0) {
      throw new InvalidArgumentError(`auto watermark interval must be > 0 ms, got ${ms}`);
    }
    this.autoWatermarkInterval = ms;
    return this;
  }
  getAutoWatermarkInterval(): number {
    return this.autoWatermarkInterval;
  }

  /**
   * Latency tracking (Flink's metrics.latency.interval): every source subtask emits a latency marker
   * every `ms`, and every operator records the time markers took to reach it (its `latency`
   * histograms). 0 (the default) turns it off; markers then cost nothing.
   */
  setLatencyTrackingInterval(ms: number): this {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new InvalidArgumentError(`latency tracking interval must be >= 0 ms (0: off), got ${ms}`);
    }
    this.latencyTrackingInterval = ms;
    return this;
  }
  getLatencyTrackingInterval(): number {
    return this.latencyTrackingInterval;
  }

  disableOperatorChaining(): this {
    this.chaining = false;
    return this;
  }
  isChainingEnabled(): boolean {
    return this.chaining;
  }

  // ---- sources -------------------------------------------------------------------------------

  /** A stream from a Source; with a WatermarkStrategy, in event time (watermarks per split). */
  fromSource<T>(source: Source<T, any>, name?: string): SingleOutputStreamOperator<T>;
  fromSource<T>(
    source: Source<T, any>,
    strategy: WatermarkStrategy<T>,
    name?: string,
  ): SingleOutputStreamOperator<T>;
  fromSource<T>(
    source: Source<T, any>,
    strategyOrName?: WatermarkStrategy<T> | string,
    maybeName?: string,
  ): SingleOutputStreamOperator<T> {
    if (typeof source !== "object" || source === null || typeof source.createReader !== "function") {
      throw new InvalidArgumentError(
        "fromSource() needs a Source: an object with createEnumerator() and createReader()",
      );
    }
    const strategy = typeof strategyOrName === "object" ? strategyOrName : undefined;
    if (
      strategyOrName !== undefined &&
      typeof strategyOrName !== "string" &&
      typeof strategy?.withIdleness !== "function"
    ) {
      throw new InvalidArgumentError(
        "fromSource() takes a WatermarkStrategy (e.g. WatermarkStrategy.forBoundedOutOfOrderness(5000)) and/or a name",
      );
    }
    const name = (typeof strategyOrName === "string" ? strategyOrName : maybeName) ?? "Source";
    const t: SourceTransformation = {
      id: this.nextId++,
      kind: "source",
      source: source as Source<unknown, unknown>,
      watermarkStrategy: strategy as WatermarkStrategy<unknown> | undefined,
      ...base(name, (source.type as TypeInformation<unknown> | undefined) ?? Types.GENERIC),
    };
    this.transformations.push(t);
    return new SingleOutputStreamOperator<T>(this, t);
  }

  fromElements<T>(...elements: T[]): SingleOutputStreamOperator<T> {
    return this.fromCollection(elements, "Elements");
  }

  fromCollection<T>(elements: Iterable<T>, name = "Collection"): SingleOutputStreamOperator<T> {
    if (elements === null || typeof (elements as Iterable<T>)?.[Symbol.iterator] !== "function") {
      throw new InvalidArgumentError("fromCollection() needs an array or another iterable");
    }
    const list = [...elements];
    return this.fromSource(new CollectionSource(list, inferCommonType(list) as TypeInformation<T>), name);
  }

  /** Every integer in [from, to], read in parallel. */
  fromSequence(from: number, to: number): SingleOutputStreamOperator<number> {
    return this.fromSource(new NumberSequenceSource(from, to), "Sequence");
  }

  /** Records from a generator function, optionally rate-limited and unbounded. */
  fromGenerator<T>(
    generator: (index: number) => T,
    options: DataGeneratorOptions<T> = {},
  ): SingleOutputStreamOperator<T> {
    return this.fromSource(new DataGeneratorSource(generator, options), "Data generator");
  }

  /**
   * The text a TCP server sends, cut at `delimiter` (default "\n"), as Flink's socketTextStream:
   * one reader; when the server closes the connection the source ends, or reconnects `maxRetry`
   * times (-1: for ever). No replay: a restored job reads what the server sends after reconnecting.
   */
  socketTextStream(
    host: string,
    port: number,
    delimiter = "\n",
    maxRetry = 0,
  ): SingleOutputStreamOperator<string> {
    return this.fromSource(
      new SocketTextSource(host, port, { delimiter, maxRetry }),
      `Socket Stream ${host}:${port}`,
    );
  }

  /** The lines of a text file, or of every file in a directory, read in parallel splits. */
  readTextFile(path: string, options: TextFileOptions = {}): SingleOutputStreamOperator<string> {
    if (typeof path !== "string" || path.length === 0)
      throw new InvalidArgumentError("readTextFile() needs a path");
    return this.fromSource(new TextFileSource(path, options), `Text file ${path}`);
  }

  /** New JSON-lines or CSV files of a directory, each read once (see docs/connectors/files.md). */
  readFilesContinuously<T = unknown>(options: ContinuousFileSourceOptions): SingleOutputStreamOperator<T> {
    return this.fromSource(new ContinuousFileSource<T>(options), `Files in ${options?.directory}`);
  }

  // ---- execution -----------------------------------------------------------------------------

  /** The execution plan as JSON: chained vertices with their operators, parallelism and inputs. */
  getExecutionPlan(): string {
    return JSON.stringify(this.plan(), null, 2);
  }

  plan(): ExecutionPlan {
    return executionPlan(this.compile().jobGraph);
  }

  /** @internal Build every graph of the job (and give collect sinks their uids). */
  compile(jobName = this.defaultJobName): CompiledJob {
    const streamGraph = buildStreamGraph(this.transformations, {
      jobName,
      parallelism: this.parallelism,
      maxParallelism: this.maxParallelism,
    });
    for (const node of streamGraph.nodes) {
      const c = this.collects.get(node.id);
      if (c !== undefined) c.sink.uid = node.uid;
    }
    const jobGraph = buildJobGraph(streamGraph, this.chaining);
    const executionGraph = buildExecutionGraph(jobGraph);
    const network = {
      bufferSize: this.bufferSize,
      bufferTimeout: this.bufferTimeout,
      creditsPerChannel: this.creditsPerChannel,
    };
    const memory = memoryModel(
      executionGraph,
      network,
      this.stateBackend.kind,
      this.managedMemory,
      this.networkMemory,
      this.taskHeapMemory,
    );
    return {
      jobName,
      streamGraph,
      jobGraph,
      executionGraph,
      network,
      time: {
        clock: this.clock,
        autoWatermarkInterval: this.autoWatermarkInterval,
        latencyTrackingInterval: this.latencyTrackingInterval,
      },
      checkpoint: { ...this.checkpointSettings },
      restart:
        this.restartStrategy ??
        (this.checkpointSettings.interval > 0
          ? RestartStrategies.exponentialDelay()
          : RestartStrategies.noRestart()),
      restorePath: this.restorePath,
      allowNonRestoredState: this.allowNonRestoredState,
      stateBackend: { ...this.stateBackend, managedMemoryBytes: memory.managedPerBackend },
      memory,
    };
  }

  /** @internal Fill collect() handles with what a run publishes. */
  collectPublisher(): CollectPublisher {
    const byUid = new Map<string, CollectHandle<unknown>>();
    for (const { handle, sink } of this.collects.values()) {
      handle.reset();
      byUid.set(sink.uid, handle);
    }
    return (uid, subtask, values, txn) => byUid.get(uid)?.add(subtask, values, txn);
  }

  /** Run the job in this thread and wait for it to finish (bounded jobs). */
  async execute(jobName = this.defaultJobName): Promise<JobResult> {
    return (await this.executeAsync(jobName)).wait();
  }

  /** Start the job in this thread; the client waits for or cancels it. */
  async executeAsync(jobName = this.defaultJobName): Promise<ManagedJobClient> {
    const job = this.compile(jobName);
    const jobId = randomUUID();
    registerCollectPublisher(jobId, this.collectPublisher());
    const master = new JobMaster(
      {
        jobName,
        jobId,
        jobGraph: job.jobGraph,
        checkpoint: job.checkpoint,
        restart: job.restart,
        restorePath: job.restorePath,
        allowNonRestoredState: job.allowNonRestoredState,
      },
      inThreadLauncher(job.executionGraph, jobId, jobName, job.network, job.time, job.stateBackend),
    );
    const client = startClient(master, job, jobId, () => unregisterCollectPublisher(jobId));
    await master.deployed;
    return client;
  }

  // ---- internals used by the API classes -----------------------------------------------------

  /** @internal */
  addOperator(
    spec: Pick<OperatorTransformation, "name" | "inputs" | "factory" | "type" | "keySelectors" | "isSink">,
  ): OperatorTransformation {
    const t: OperatorTransformation = {
      id: this.nextId++,
      kind: "operator",
      ...base(spec.name, spec.type),
      ...spec,
    };
    this.transformations.push(t);
    return t;
  }

  /** @internal */
  addVirtual(spec: NewTransformation): Transformation {
    const t = { id: this.nextId++, ...spec } as Transformation;
    this.transformations.push(t);
    return t;
  }

  /** @internal */
  registerCollect(t: OperatorTransformation, handle: CollectHandle<any>, sink: CollectSink<any>): void {
    this.collects.set(t.id, { handle, sink });
  }

  /** @internal */
  genericType(): TypeInformation<unknown> {
    return Types.GENERIC;
  }
}

type NewTransformation = Transformation extends infer U
  ? U extends Transformation
    ? Omit<U, "id">
    : never
  : never;

function base(name: string, type: TypeInformation<unknown>): Omit<TransformationBase, "id"> {
  return {
    name,
    uid: undefined,
    parallelism: undefined,
    maxParallelism: undefined,
    slotSharingGroup: undefined,
    chaining: "default",
    type,
  };
}

/** The type of a collection when every element has the same inferred type; otherwise GENERIC. */
function inferCommonType(elements: unknown[]): TypeInformation<unknown> {
  if (elements.length === 0) return Types.GENERIC;
  const first = inferTypeInfo(elements[0]);
  if (first === Types.GENERIC) return first;
  const firstName = first.name;
  for (const e of elements) if (inferTypeInfo(e).name !== firstName) return Types.GENERIC;
  return first;
}

// ---- jobs as modules -------------------------------------------------------------------------

export interface JobDefinition {
  readonly kind: "weir-job";
  readonly name: string | undefined;
  readonly build: (env: StreamExecutionEnvironment, params: ParameterTool) => void | Promise<void>;
}

/**
 * Declare a job: the default export of a job module. `build` must construct the same graph every
 * time it runs; `params` are the job's arguments (`weir run job.ts -- --count 10`), the same in
 * every worker.
 */
export function defineJob(build: JobDefinition["build"]): JobDefinition;
export function defineJob(name: string, build: JobDefinition["build"]): JobDefinition;
export function defineJob(a: string | JobDefinition["build"], b?: JobDefinition["build"]): JobDefinition {
  const build = typeof a === "function" ? a : b;
  if (typeof build !== "function") {
    throw new InvalidJobError("defineJob() needs a function (env) => { ...build the job... }");
  }
  return { kind: "weir-job", name: typeof a === "string" ? a : undefined, build };
}

export function isJobDefinition(x: unknown): x is JobDefinition {
  return typeof x === "object" && x !== null && (x as JobDefinition).kind === "weir-job";
}
