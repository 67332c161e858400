// The base of every test harness: one real operator, set up as a task sets it up (runtime context,
// keyed state backend over the subtask's key groups, timers on a manual processing-time clock),
// driven by hand. Input elements carry the timestamps given; watermarks are combined over the
// inputs as a task's valve does; processing time moves only when told. Output, side outputs and
// watermarks are collected; snapshots go through the checkpoint encoding and restore through the
// checkpoint's redistribution, also into a harness of another parallelism.

import type { DataStream } from "../api/streams.ts";
import type { OutputTag } from "../core/functions.ts";
import type { KeyedStateStore, MapStateDescriptor } from "../core/state.ts";
import type { StreamOperator } from "../runtime/operators/stream-operator.ts";
import type { KeyedStateBackend } from "../state/keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../state/state-table.ts";
import { HarnessError } from "./harness-error.ts";
import type { HarnessEvent, StreamRecord } from "./harness-output.ts";
import {
  HarnessSnapshot,
  type SnapshotOrigin,
  restoreFrom,
  restoreFromDirectory,
  takeSnapshot,
} from "./harness-snapshot.ts";
import { type HarnessOptions, HarnessSubtask } from "./harness-subtask.ts";
import { type OperatorDefinition, defineOperator } from "./operator-definition.ts";

type Phase = "created" | "open" | "closed";

/** What every harness offers: lifecycle, time, snapshots, output and state inspection. */
export abstract class OperatorHarness<OUT> {
  /** The operator's name, as the job would show it. */
  readonly operatorName: string;
  readonly operatorUid: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;

  private readonly definition: OperatorDefinition;
  private readonly subtask: HarnessSubtask;
  private readonly operator: StreamOperator;
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
    this.subtask = new HarnessSubtask(this.definition, options, kind);
    this.operator = this.subtask.operator;
    this.operatorName = this.subtask.operatorName;
    this.operatorUid = this.subtask.operatorUid;
    this.subtaskIndex = this.subtask.subtaskIndex;
    this.parallelism = this.subtask.parallelism;
    this.maxParallelism = this.subtask.maxParallelism;
    this.inputWatermarks = new Array<number>(numInputs).fill(Number.NEGATIVE_INFINITY);
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
    const restore = await restoreFrom(snapshots, {
      ...this.origin(),
      keyed: this.subtask.backend !== undefined,
    });
    this.operator.initializeState(restore);
  }

  /**
   * Restore the operator, before open(), from a job's checkpoint (`.../<job id>/chk-N`) or savepoint
   * directory: the state of the operator with this harness's uid, the share this subtask would get.
   */
  async initializeStateFromCheckpoint(path: string): Promise<void> {
    this.beforeRestore("initializeStateFromCheckpoint()");
    const restore = await restoreFromDirectory(path, {
      ...this.origin(),
      keyed: this.subtask.backend !== undefined,
    });
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
      this.subtask.backend?.dispose();
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
    if (!(time >= this.subtask.clock.now())) {
      throw new HarnessError(
        `${this.describe()}: processing time goes forward only (now ${this.subtask.clock.now()}, asked ${time})`,
      );
    }
    this.subtask.clock.setTime(time);
    this.subtask.processingTime.fireDue();
    this.runMailbox();
  }

  /** Move processing time forward by `ms`. */
  advanceProcessingTime(ms: number): void {
    this.setProcessingTime(this.subtask.clock.now() + ms);
  }

  currentProcessingTime(): number {
    return this.subtask.clock.now();
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
    return this.subtask.output.records() as StreamRecord<OUT>[];
  }

  /** The values emitted on the main output so far. */
  values(): OUT[] {
    return this.records().map((r) => r.value);
  }

  /** The watermarks the operator forwarded so far. */
  watermarks(): number[] {
    return this.subtask.output.watermarks();
  }

  /** Records, watermarks and idleness of the main output, in the order emitted. */
  events(): HarnessEvent<OUT>[] {
    return this.subtask.output.events.map((e) => ({ ...e })) as HarnessEvent<OUT>[];
  }

  /** The records emitted to a side output (by its OutputTag). */
  sideOutput<X>(tag: OutputTag<X>): StreamRecord<X>[] {
    return this.subtask.output.side(tag as OutputTag<unknown>) as StreamRecord<X>[];
  }

  sideOutputValues<X>(tag: OutputTag<X>): X[] {
    return this.sideOutput(tag).map((r) => r.value);
  }

  /** Forget what was emitted so far (main output, side outputs and watermarks). */
  clearOutput(): void {
    this.subtask.output.clear();
  }

  // ---- state --------------------------------------------------------------------------------

  /** A counter's or other accumulator's value in this subtask (undefined when never created). */
  getAccumulator<V = number>(name: string): V | undefined {
    return this.subtask.accumulators.get(name)?.getLocalValue() as V | undefined;
  }

  /** Keyed state entries (key and namespace pairs) of one state, or of all states. */
  numKeyedStateEntries(stateName?: string): number {
    const backend = this.subtask.backend;
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
    const state = this.subtask.runtime.getOperatorStateStore().getBroadcastState(descriptor);
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
    this.subtask.element.timestamp = timestamp ?? Number.NaN;
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
    this.subtask.runMailbox();
  }

  private checkKey(key: unknown, what: string): number {
    return this.subtask.keyGroupOf(key, what, this.describe());
  }

  private requireBackend(what: string): KeyedStateBackend {
    if (this.subtask.backend === undefined)
      throw new HarnessError(`${this.describe()}: ${what} needs a keyed operator`);
    return this.subtask.backend;
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
