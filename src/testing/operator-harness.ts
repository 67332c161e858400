// The base of every test harness: one real operator, set up as a task sets it up (runtime context,
// keyed state backend over the subtask's key groups, timers on a manual processing-time clock),
// driven by hand. Input elements carry the timestamps given; watermarks are combined over the
// inputs as a task's valve does; processing time moves only when told. Output, side outputs and
// watermarks are collected; snapshots go through the checkpoint encoding and restore through the
// checkpoint's redistribution, also into a harness of another parallelism.

import type { DataStream } from "../api/streams.ts";
import type { Accumulator, OutputTag } from "../core/functions.ts";
import {
  DEFAULT_MAX_PARALLELISM,
  assignToKeyGroup,
  keyGroupRangeFor,
  operatorIndexForKeyGroup,
} from "../core/key-groups.ts";
import type { KeyedStateStore, MapStateDescriptor } from "../core/state.ts";
import type { StreamOperator } from "../runtime/operators/stream-operator.ts";
import { RuntimeContextImpl } from "../runtime/runtime-context.ts";
import { ManualClock } from "../runtime/time/clock.ts";
import { ProcessingTimeService } from "../runtime/time/processing-time-service.ts";
import { type StateBackendKind, createKeyedStateBackend } from "../state/index.ts";
import type { KeyedStateBackend } from "../state/keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../state/state-table.ts";
import { HarnessError } from "./harness-error.ts";
import { CollectingOutput, type HarnessEvent, type StreamRecord } from "./harness-output.ts";
import {
  HarnessSnapshot,
  type SnapshotOrigin,
  restoreFrom,
  restoreFromDirectory,
  takeSnapshot,
} from "./harness-snapshot.ts";
import { type OperatorDefinition, defineOperator } from "./operator-definition.ts";

/** Where the operator under test runs, and on what state. */
export interface HarnessOptions {
  /** Parallelism of the operator (default 1): with subtaskIndex, which key groups the harness owns. */
  parallelism?: number;
  /** The subtask this harness is (default 0). */
  subtaskIndex?: number;
  /** Key groups (default: the operator's setMaxParallelism, else 128); must match the snapshot's on restore. */
  maxParallelism?: number;
  /** Keyed state backend: "heap" (default) or "embedded" (an LMDB store on disk, removed by close()). */
  stateBackend?: StateBackendKind;
  /** Parent directory of the embedded backend's store (default: the OS temp directory). */
  stateDirectory?: string;
  /** Processing time at the start (default 0); it moves only by setProcessingTime / advanceProcessingTime. */
  processingTime?: number;
  /** The operator's uid when the build gives none (default `harness:<operator name>`); restores match by uid. */
  uid?: string;
}

type Phase = "created" | "open" | "closed";

/** The subtask of `parallelism` that owns `key` (the one to push it into when testing rescaling). */
export function subtaskForKey(
  key: unknown,
  parallelism: number,
  maxParallelism = DEFAULT_MAX_PARALLELISM,
): number {
  return operatorIndexForKeyGroup(maxParallelism, parallelism, assignToKeyGroup(key, maxParallelism));
}

/** What every harness offers: lifecycle, time, snapshots, output and state inspection. */
export abstract class OperatorHarness<OUT> {
  /** The operator's name, as the job would show it. */
  readonly operatorName: string;
  readonly operatorUid: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;

  private readonly operator: StreamOperator;
  private readonly runtime: RuntimeContextImpl;
  private readonly definition: OperatorDefinition;
  private readonly backend: KeyedStateBackend | undefined;
  private readonly clock: ManualClock;
  private readonly processingTime: ProcessingTimeService;
  private readonly element = { timestamp: Number.NaN };
  private readonly collected: CollectingOutput;
  private readonly accumulators = new Map<string, Accumulator<unknown>>();
  private readonly mail: Array<() => void> = [];
  private readonly inputWatermarks: number[];
  private watermark = Number.NEGATIVE_INFINITY;
  private phase: Phase = "created";
  private restored = false;
  private nextCheckpointId = 1;

  protected constructor(
    private readonly kind: string,
    numInputs: number,
    build: (...inputs: DataStream<any>[]) => unknown,
    options: HarnessOptions,
    keyed: boolean,
  ) {
    this.definition = defineOperator(numInputs, build, kind, options.maxParallelism);
    const t = this.definition.transformation;
    const isKeyed = this.definition.keySelectors.some((k) => k !== undefined);
    if (isKeyed !== keyed) {
      throw new HarnessError(
        keyed
          ? `${kind} drives keyed operators, but '${t.name}' has no keyed input; call keyBy(...) in the build function, or use the non-keyed harness`
          : `${kind} drives non-keyed operators, but '${t.name}' has a keyed input; use the Keyed${kind} instead`,
      );
    }
    this.operatorName = t.name;
    this.operatorUid = t.uid ?? options.uid ?? `harness:${t.name}`;
    this.parallelism = options.parallelism ?? 1;
    this.subtaskIndex = options.subtaskIndex ?? 0;
    this.maxParallelism = this.definition.maxParallelism;
    if (!Number.isInteger(this.parallelism) || this.parallelism < 1) {
      throw new HarnessError(`${kind}: parallelism must be a positive integer, got ${this.parallelism}`);
    }
    if (
      !Number.isInteger(this.subtaskIndex) ||
      this.subtaskIndex < 0 ||
      this.subtaskIndex >= this.parallelism
    ) {
      throw new HarnessError(
        `${kind}: subtaskIndex must be an integer in 0..${this.parallelism - 1} (parallelism ${this.parallelism}), got ${this.subtaskIndex}`,
      );
    }
    const range = keyGroupRangeFor(this.maxParallelism, this.parallelism, this.subtaskIndex);
    this.clock = new ManualClock(options.processingTime ?? 0);
    this.processingTime = new ProcessingTimeService(this.clock);
    this.backend = keyed
      ? createKeyedStateBackend(options.stateBackend ?? "heap", range, {
          localDirectory: options.stateDirectory,
        })
      : undefined;
    this.backend?.setTimeProvider(() => this.clock.now());
    this.collected = new CollectingOutput(this.element);
    this.inputWatermarks = new Array<number>(numInputs).fill(Number.NEGATIVE_INFINITY);
    this.operator = t.factory();
    const runtime = (this.runtime = new RuntimeContextImpl(
      {
        jobId: "harness",
        jobName: "harness",
        subtaskIndex: this.subtaskIndex,
        parallelism: this.parallelism,
        maxParallelism: this.maxParallelism,
        attemptNumber: 0,
        attemptTag: `harness-${this.subtaskIndex}`,
      },
      this.operatorName,
      this.operatorUid,
      this.accumulators,
      this.backend,
    ));
    const backend = this.backend;
    this.operator.setup({
      runtime,
      output: this.collected,
      element: this.element,
      keyed: this.definition.keySelectors.map((keySelector) =>
        keySelector === undefined || backend === undefined
          ? undefined
          : { keySelector, backend, maxParallelism: this.maxParallelism },
      ),
      processingTime: this.processingTime,
      autoWatermarkInterval: 200,
      mailbox: { execute: (action) => this.mail.push(action), drain: () => this.runMailbox() },
      checkpointing: true,
    });
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /**
   * Restore the operator from snapshots before open(): one snapshot, or the snapshots of several
   * subtasks of one checkpoint; this harness takes the key groups it owns and its share of operator
   * state, as a job restored at this parallelism would.
   */
  async initializeState(snapshot: HarnessSnapshot | readonly HarnessSnapshot[]): Promise<void> {
    this.beforeRestore("initializeState()");
    const snapshots = snapshot instanceof HarnessSnapshot ? [snapshot] : [...snapshot];
    const restore = await restoreFrom(snapshots, { ...this.origin(), keyed: this.backend !== undefined });
    this.operator.initializeState(restore);
  }

  /**
   * Restore the operator, before open(), from a job's checkpoint (`.../<job id>/chk-N`) or savepoint
   * directory: the state of the operator with this harness's uid, the share this subtask would get.
   */
  async initializeStateFromCheckpoint(path: string): Promise<void> {
    this.beforeRestore("initializeStateFromCheckpoint()");
    const restore = await restoreFromDirectory(path, { ...this.origin(), keyed: this.backend !== undefined });
    this.operator.initializeState(restore);
  }

  private beforeRestore(what: string): void {
    if (this.phase !== "created" || this.restored) {
      throw new HarnessError(
        `${this.describe()}: ${what} must come once, before open(); create a new harness to restore into`,
      );
    }
    this.restored = true;
  }

  /** Open the operator (and its user function): call it before pushing anything. */
  async open(): Promise<void> {
    if (this.phase !== "created") throw new HarnessError(`${this.describe()}: open() was called already`);
    await this.operator.open();
    this.phase = "open";
  }

  /** Every input ended (a bounded job's end): endInput on each input, then the operator's finish(). */
  async endInput(): Promise<void> {
    this.requireOpen("endInput()");
    for (const input of this.definition.operatorInputOf) this.operator.endInput(input);
    await this.operator.finish();
    this.runMailbox();
  }

  /** Close the operator and release the state backend (the embedded store's directory). */
  async close(): Promise<void> {
    if (this.phase === "closed") return;
    const wasOpen = this.phase === "open";
    this.phase = "closed";
    try {
      if (wasOpen) await this.operator.close();
    } finally {
      this.backend?.dispose();
    }
  }

  // ---- time ---------------------------------------------------------------------------------

  /** Advance the event time of every input; timers up to it fire, and it is forwarded. */
  processWatermark(watermark: number): void {
    for (let i = 0; i < this.inputWatermarks.length; i++) this.watermarkOf(i, watermark);
  }

  /** Set processing time; processing-time timers due by then fire, in order. Never backwards. */
  setProcessingTime(time: number): void {
    this.requireOpen("setProcessingTime()");
    if (!(time >= this.clock.now())) {
      throw new HarnessError(
        `${this.describe()}: processing time goes forward only (now ${this.clock.now()}, asked ${time})`,
      );
    }
    this.clock.setTime(time);
    this.processingTime.fireDue();
    this.runMailbox();
  }

  /** Move processing time forward by `ms`. */
  advanceProcessingTime(ms: number): void {
    this.setProcessingTime(this.clock.now() + ms);
  }

  currentProcessingTime(): number {
    return this.clock.now();
  }

  /** The operator's event time: the minimum over the inputs' watermarks. */
  currentWatermark(): number {
    return this.watermark;
  }

  // ---- checkpoints --------------------------------------------------------------------------

  /** Take a checkpoint of the operator (ids count from 1 unless given), encoded as a job's would be. */
  async snapshot(checkpointId?: number): Promise<HarnessSnapshot> {
    this.requireOpen("snapshot()");
    const id = checkpointId ?? this.nextCheckpointId;
    this.nextCheckpointId = id + 1;
    return takeSnapshot(this.operator, this.origin(), id);
  }

  /** The checkpoint completed (two-phase-commit sinks commit, CheckpointListeners hear of it). */
  notifyCheckpointComplete(checkpointId: number): void {
    this.requireOpen("notifyCheckpointComplete()");
    this.operator.notifyCheckpointComplete(checkpointId);
    this.runMailbox();
  }

  // ---- output -------------------------------------------------------------------------------

  /** The records emitted on the main output so far, with their timestamps. */
  records(): StreamRecord<OUT>[] {
    return this.collected.records() as StreamRecord<OUT>[];
  }

  /** The values emitted on the main output so far. */
  values(): OUT[] {
    return this.records().map((r) => r.value);
  }

  /** The watermarks the operator forwarded so far. */
  watermarks(): number[] {
    return this.collected.watermarks();
  }

  /** Records, watermarks and idleness of the main output, in the order emitted. */
  events(): HarnessEvent<OUT>[] {
    return this.collected.events.map((e) => ({ ...e })) as HarnessEvent<OUT>[];
  }

  /** The records emitted to a side output (by its OutputTag). */
  sideOutput<X>(tag: OutputTag<X>): StreamRecord<X>[] {
    return this.collected.side(tag as OutputTag<unknown>) as StreamRecord<X>[];
  }

  sideOutputValues<X>(tag: OutputTag<X>): X[] {
    return this.sideOutput(tag).map((r) => r.value);
  }

  /** Forget what was emitted so far (main output, side outputs and watermarks). */
  clearOutput(): void {
    this.collected.clear();
  }

  // ---- state --------------------------------------------------------------------------------

  /** A counter's or other accumulator's value in this subtask (undefined when never created). */
  getAccumulator<V = number>(name: string): V | undefined {
    return this.accumulators.get(name)?.getLocalValue() as V | undefined;
  }

  /** Keyed state entries (key and namespace pairs) of one state, or of all states. */
  numKeyedStateEntries(stateName?: string): number {
    const backend = this.backend;
    if (backend === undefined) return 0;
    if (stateName !== undefined) return backend.size(stateName);
    let n = 0;
    for (const name of backend.stateNames()) n += backend.size(name);
    return n;
  }

  numEventTimeTimers(): number {
    return this.operator.numTimers("event");
  }

  numProcessingTimeTimers(): number {
    return this.operator.numTimers("processing");
  }

  // ---- for the input-specific harnesses -----------------------------------------------------

  /** @internal Read or change a key's state (outside windows) while that key is current. */
  protected inKeyContext<R>(key: unknown, fn: (state: KeyedStateStore) => R): R {
    const backend = this.requireBackend("withKey()");
    const keyGroup = this.checkKey(key, "withKey()");
    const previousKey = backend.getCurrentKey();
    const previousGroup = backend.getCurrentKeyGroup();
    const previousNamespace = backend.getCurrentNamespace();
    backend.setCurrentKey(key, keyGroup);
    backend.setCurrentNamespace(VOID_NAMESPACE);
    try {
      return fn(backend);
    } finally {
      if (previousKey !== undefined) backend.setCurrentKey(previousKey, previousGroup);
      backend.setCurrentNamespace(previousNamespace);
    }
  }

  /** @internal The entries of a broadcast state of this subtask, as a Map. */
  protected broadcastEntries<K, V>(descriptor: MapStateDescriptor<K, V>): Map<K, V> {
    const state = this.runtime.getOperatorStateStore().getBroadcastState(descriptor);
    return new Map(state.immutableEntries());
  }

  /** @internal Push one element into harness input `input`. */
  protected elementOf(input: number, value: unknown, timestamp: number | undefined): void {
    this.requireOpen("processElement()");
    const operatorInput = this.definition.operatorInputOf[input]!;
    const keySelector = this.definition.keySelectors[operatorInput];
    if (keySelector !== undefined) this.checkKey(keySelector(value), "processElement()");
    if (timestamp !== undefined && typeof timestamp !== "number") {
      throw new HarnessError(`${this.describe()}: a timestamp is a number (ms), got ${String(timestamp)}`);
    }
    this.element.timestamp = timestamp ?? Number.NaN;
    this.operator.numRecordsIn++;
    this.operator.processElement(value, operatorInput);
    this.runMailbox();
  }

  /** @internal One input's watermark; the operator sees the minimum over the inputs when it rises. */
  protected watermarkOf(input: number, watermark: number): void {
    this.requireOpen("processWatermark()");
    if (typeof watermark !== "number" || Number.isNaN(watermark)) {
      throw new HarnessError(`${this.describe()}: a watermark is a number (ms), got ${String(watermark)}`);
    }
    if (watermark <= this.inputWatermarks[input]!) return;
    this.inputWatermarks[input] = watermark;
    const min = Math.min(...this.inputWatermarks);
    if (min <= this.watermark) return;
    this.watermark = min;
    this.operator.processWatermark(min);
    this.runMailbox();
  }

  /** Run the mailbox actions the operator queued (results of asynchronous calls). */
  runMailbox(): void {
    while (this.mail.length > 0) this.mail.shift()!();
  }

  private checkKey(key: unknown, what: string): number {
    const keyGroup = assignToKeyGroup(key, this.maxParallelism);
    const owner = operatorIndexForKeyGroup(this.maxParallelism, this.parallelism, keyGroup);
    if (owner !== this.subtaskIndex) {
      throw new HarnessError(
        `${this.describe()}: ${what} with key ${JSON.stringify(key) ?? String(key)} (key group ${keyGroup}), which subtask ${owner} of ${this.parallelism} owns; in a job it would never reach this subtask: push it into the harness of subtask ${owner} (subtaskForKey() says which)`,
      );
    }
    return keyGroup;
  }

  private requireBackend(what: string): KeyedStateBackend {
    if (this.backend === undefined)
      throw new HarnessError(`${this.describe()}: ${what} needs a keyed operator`);
    return this.backend;
  }

  private requireOpen(what: string): void {
    if (this.phase === "created")
      throw new HarnessError(`${this.describe()}: call await harness.open() before ${what}`);
    if (this.phase === "closed") throw new HarnessError(`${this.describe()}: ${what} after close()`);
  }

  private origin(): SnapshotOrigin {
    return {
      operatorUid: this.operatorUid,
      operatorName: this.operatorName,
      subtaskIndex: this.subtaskIndex,
      parallelism: this.parallelism,
      maxParallelism: this.maxParallelism,
    };
  }

  private describe(): string {
    return `${this.kind} of '${this.operatorName}' (uid ${this.operatorUid}, subtask ${this.subtaskIndex} of ${this.parallelism})`;
  }
}
