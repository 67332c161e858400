// The operator contract: what a task calls on each operator of its chain, and how an operator
// emits. Operators in one chain call each other directly through Outputs.

import {
  type FunctionInitializationContext,
  type FunctionSnapshotContext,
  isCheckpointedFunction,
} from "../../core/checkpointed-function.ts";
import { InvalidJobError } from "../../core/errors.ts";
import type { RichFunction } from "../../core/functions.ts";
import { assignToKeyGroup } from "../../core/key-groups.ts";
import { ListStateDescriptor, MapStateDescriptor } from "../../core/state.ts";
import type { LatencyMarker } from "../../network/buffer.ts";
import type { KeyedStateBackend } from "../../state/keyed-state-backend.ts";
import { LatencyStats } from "../metrics/latency-stats.ts";
import type { RuntimeContextImpl } from "../runtime-context.ts";
import { InternalTimerService, type Triggerable } from "../time/internal-timer-service.ts";
import type { ProcessingTimeService } from "../time/processing-time-service.ts";
import type {
  OperatorRestore,
  OperatorSnapshot,
  OperatorStateMode,
  TimerCapture,
  RestoredKeyGroup,
  TimerSnapshot,
} from "../snapshot.ts";
import { decodeRestoredKeyGroup } from "../snapshot.ts";

/** The record being processed, shared by the operators of one task. */
export interface ElementContext {
  /** Its timestamp (NaN = none). */
  timestamp: number;
  /**
   * Its key group as the hash edge into the task computed it (-1: not sent). Only a chain head
   * whose KeyedContext has keyGroupFromRecord may use it (see keyGroupOf). Absent: never sent.
   */
  keyGroup?: number;
}

export interface Output {
  collect(value: unknown): void;
  collectSide(tagId: string, value: unknown): void;
  emitWatermark(watermark: number): void;
  emitWatermarkStatus(idle: boolean): void;
  /** Pass a latency marker on (outputs that do not track latency may leave it out). */
  emitLatencyMarker?(marker: LatencyMarker): void;
}

export interface KeyedContext {
  keySelector: (value: any) => unknown;
  backend: KeyedStateBackend;
  maxParallelism: number;
  /**
   * This input's records all arrive over hash edges with this very key selector and max
   * parallelism, straight into this operator (the chain head): a key group sent with a record
   * (ElementContext.keyGroup) is the key's.
   */
  keyGroupFromRecord?: boolean;
}

export interface OperatorSetup {
  runtime: RuntimeContextImpl;
  output: Output;
  element: ElementContext;
  /** One per input (index 0, 1) when that input is keyed. */
  keyed: Array<KeyedContext | undefined>;
  processingTime: ProcessingTimeService;
  /** Interval of periodic watermark emission (ms). */
  autoWatermarkInterval: number;
  /** Run an action in the task's thread between records (e.g. an async result); never re-entrant. */
  mailbox: Mailbox;
  /** The job takes checkpoints. */
  checkpointing: boolean;
}

export interface Mailbox {
  execute(action: () => void): void;
  /** Run the pending actions now; for an operator that awaits async work in finish(). */
  drain(): void;
}

export abstract class StreamOperator {
  numRecordsIn = 0;
  protected output!: Output;
  protected runtime!: RuntimeContextImpl;
  protected element!: ElementContext;
  protected keyed: Array<KeyedContext | undefined> = [];
  protected processingTime!: ProcessingTimeService;
  protected autoWatermarkInterval = 200;
  protected mailbox!: Mailbox;
  protected checkpointingEnabled = false;
  protected currentWatermark = Number.NEGATIVE_INFINITY;
  private readonly timerServices: InternalTimerService<any>[] = [];

  /** The user function object, if any: its open/close are called with the operator's. */
  constructor(protected readonly userFunction: RichFunction | undefined) {}

  setup(s: OperatorSetup): void {
    this.output = s.output;
    this.runtime = s.runtime;
    this.element = s.element;
    this.keyed = s.keyed;
    this.processingTime = s.processingTime;
    this.autoWatermarkInterval = s.autoWatermarkInterval;
    this.mailbox = s.mailbox;
    this.checkpointingEnabled = s.checkpointing;
  }

  /** Subclasses that override open() call super.open() (user function state first, then its open()). */
  async open(): Promise<void> {
    this.initializeFunctionState();
    await this.userFunction?.open?.(this.runtime);
  }

  abstract processElement(value: unknown, input: number): void;

  /** The watermark this operator has received (its currentInputWatermark metric). */
  get inputWatermark(): number {
    return this.currentWatermark;
  }

  /** Fire the event-time timers the watermark passed, then forward it. */
  processWatermark(watermark: number): void {
    for (const s of this.timerServices) s.advanceWatermark(watermark);
    this.currentWatermark = watermark;
    this.output.emitWatermark(watermark);
  }

  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle);
  }

  /** Source-to-here latency histograms (created by the first latency marker). */
  latency: LatencyStats | undefined;

  /** A latency marker: record its latency here and pass it on at once (user functions never see it). */
  processLatencyMarker(marker: LatencyMarker): void {
    this.latency ??= new LatencyStats();
    this.latency.record(marker);
    this.output.emitLatencyMarker?.(marker);
  }

  /**
   * The key group of `key`, the key of the record being processed on the keyed input `keyed`: the
   * one sent with the record when the input guarantees it is the key's, else hashed here.
   */
  protected keyGroupOf(keyed: KeyedContext, key: unknown): number {
    const kg = this.element.keyGroup;
    return kg !== undefined && kg >= 0 && keyed.keyGroupFromRecord === true
      ? kg
      : assignToKeyGroup(key, keyed.maxParallelism);
  }

  /** Keyed timers for this operator; only on a keyed input. */
  protected getInternalTimerService<N>(name: string, triggerable: Triggerable<N>): InternalTimerService<N> {
    const keyed = this.keyed.find((k) => k !== undefined);
    if (keyed === undefined) {
      throw new InvalidJobError(
        `operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid}) uses timers, but its input is not keyed; timers need a keyed stream: call keyBy(...) before this operator`,
      );
    }
    const backend = keyed.backend;
    const service = new InternalTimerService<N>(
      name,
      {
        getCurrentKey: () => backend.getCurrentKey(),
        setCurrentKey: (k, kg) => backend.setCurrentKey(k, kg),
        getCurrentKeyGroup: () => backend.getCurrentKeyGroup(),
      },
      keyed.maxParallelism,
      this.processingTime,
      triggerable,
    );
    this.timerServices.push(service);
    for (const t of this.restoredTimers?.get(name) ?? []) {
      service.restoreTimer(t.domain, t.key, this.timerNamespaceFromData(t.namespace) as N, t.time);
    }
    return service;
  }

  /** How many keyed timers of one domain are registered, over all timer services (test harnesses ask). */
  numTimers(domain: "event" | "processing"): number {
    let n = 0;
    for (const s of this.timerServices)
      n += domain === "event" ? s.numEventTimeTimers() : s.numProcessingTimeTimers();
    return n;
  }

  /**
   * False while the operator cannot take more input (Async I/O at capacity): the task stops
   * reading input until a mailbox action makes room. Input already on its way (the rest of a
   * buffer) still arrives, and the operator must buffer it.
   */
  isInputAvailable(): boolean {
    return true;
  }

  // ---- checkpoints ---------------------------------------------------------------------

  private restoredTimers: Map<string, TimerSnapshot[]> | undefined;

  /** The keyed backend of this operator (shared by its keyed inputs), if any. */
  protected keyedBackend(): KeyedStateBackend | undefined {
    return this.keyed.find((k) => k !== undefined)?.backend;
  }

  /**
   * The synchronous part of a checkpoint: keyed state and timers by key group, operator state (list,
   * union list, broadcast) by name, plus what snapshotCustom() returns. A CheckpointedFunction's
   * snapshotState runs first. Keyed state is captured copy-on-write (the backend's snapshot()) and
   * encoded later by the checkpoint writer; the live timers are listed now, converted later.
   */
  snapshotState(checkpointId: number): OperatorSnapshot | undefined {
    const snap: OperatorSnapshot = {};
    const backend = this.keyedBackend();
    // TTL states with cleanupFullSnapshot() leave their expired entries out of the snapshot.
    backend?.cleanupExpired();
    this.snapshotFunctionState(checkpointId);
    if (backend !== undefined) {
      const timers: TimerCapture[] = [];
      const namespaceToData = (ns: unknown) => this.timerNamespaceToData(ns);
      for (const service of this.timerServices) {
        for (const [domain, live] of service.capture()) {
          if (live.length > 0) timers.push({ service: service.name, domain, timers: live, namespaceToData });
        }
      }
      snap.keyedState = { state: backend.snapshot(), timers };
      const meta = backend.stateMetaInfo();
      if (meta.length > 0) snap.keyedStateMeta = meta;
    }
    const operatorState = this.snapshotOperatorState();
    if (operatorState !== undefined) snap.operatorState = operatorState;
    const custom = this.snapshotCustom(checkpointId);
    if (custom instanceof Promise) snap.pendingCustom = custom;
    else if (custom !== undefined) snap.custom = custom;
    return snap.keyedState === undefined &&
      snap.custom === undefined &&
      snap.pendingCustom === undefined &&
      snap.operatorState === undefined
      ? undefined
      : snap;
  }

  /**
   * Every registered operator state with its redistribution mode: list and union list state as
   * their elements, broadcast state as one element (its entries), since every subtask holds the same.
   */
  private snapshotOperatorState(): OperatorSnapshot["operatorState"] {
    const store = this.runtime.getOperatorStateStore();
    const lists = store.getRegisteredStateNames();
    const broadcasts = store.getRegisteredBroadcastStateNames();
    if (lists.length === 0 && broadcasts.length === 0) return undefined;
    const out: Record<string, { mode: OperatorStateMode; values: unknown[] }> = {};
    for (const name of lists) {
      const d = new ListStateDescriptor<unknown>(name);
      const union = store.listStateMode(name) === "union";
      const state = union ? store.getUnionListState(d) : store.getListState(d);
      out[name] = { mode: union ? "union" : "split", values: [...state.get()] };
    }
    for (const name of broadcasts) {
      if (out[name] !== undefined) {
        throw new InvalidJobError(
          `operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid}) has a list state and a broadcast state both named '${name}'; a checkpoint stores operator state by name: give each its own name`,
        );
      }
      const state = store.getBroadcastState(new MapStateDescriptor<unknown, unknown>(name));
      out[name] = { mode: "broadcast", values: [[...state.entries()]] };
    }
    return out;
  }

  /** CheckpointedFunction.snapshotState of the user function, before the operator's state is taken. */
  private snapshotFunctionState(checkpointId: number): void {
    const fn = this.userFunction;
    if (!isCheckpointedFunction(fn)) return;
    const context: FunctionSnapshotContext = { checkpointId, getCheckpointId: () => checkpointId };
    fn.snapshotState(context);
  }

  /** CheckpointedFunction.initializeState of the user function: before open(), after the restore. */
  private initializeFunctionState(): void {
    const fn = this.userFunction;
    if (!isCheckpointedFunction(fn)) return;
    const runtime = this.runtime;
    const restoredId = this.restoredCheckpointId;
    const context: FunctionInitializationContext = {
      getOperatorStateStore: () => runtime.getOperatorStateStore(),
      getKeyedStateStore: () => (runtime.keyedState !== undefined ? runtime : undefined),
      isRestored: () => restoredId !== undefined,
      getRestoredCheckpointId: () => restoredId,
    };
    fn.initializeState(context);
  }

  private restoredCheckpointId: number | undefined;

  /**
   * Put this subtask's share of the operator state (restore.ts redistributed it) into the runtime's
   * operator state store, registered under its name and mode; the functions' descriptors then find it.
   */
  private restoreOperatorState(restored: OperatorRestore["operatorState"]): void {
    const entries = Object.entries(restored);
    if (entries.length === 0) return;
    const store = this.runtime.getOperatorStateStore();
    for (const [name, { mode, values }] of entries) {
      if (mode === "broadcast") {
        const state = store.getBroadcastState(new MapStateDescriptor<unknown, unknown>(name));
        state.putAll((values[0] ?? []) as Array<[unknown, unknown]>);
      } else {
        const d = new ListStateDescriptor<unknown>(name);
        (mode === "union" ? store.getUnionListState(d) : store.getListState(d)).update(values);
      }
    }
  }

  /** Timer namespaces as plain data for a snapshot (operators with object namespaces override). */
  protected timerNamespaceToData(namespace: unknown): unknown {
    return namespace;
  }

  protected timerNamespaceFromData(data: unknown): unknown {
    return data;
  }

  /**
   * Operator-specific checkpoint data (e.g. a sink's pending transactions). A Promise of it: the
   * checkpoint is written and acknowledged once it resolved, and declined if it rejects.
   */
  protected snapshotCustom(_checkpointId: number): unknown {
    return undefined;
  }

  /**
   * Restore before open(): keyed state into the backend, timers when their service is created,
   * operator state into the runtime's operator state store.
   */
  initializeState(restore: OperatorRestore): void {
    const backend = this.keyedBackend();
    if (backend !== undefined) {
      this.restoredTimers = new Map();
      if (restore.keyedStateMeta !== undefined) backend.restoreStateMetaInfo(restore.keyedStateMeta);
      for (const [kg, restored] of restore.keyGroups) {
        if (kg < backend.keyGroupRange.start || kg > backend.keyGroupRange.end) continue;
        // Decoded here, one key group at a time: only this one's entries are on the heap.
        for (const t of restoreKeyGroupInto(backend, kg, restored)) {
          const list = this.restoredTimers.get(t.service) ?? [];
          list.push(t);
          this.restoredTimers.set(t.service, list);
        }
      }
    }
    this.restoredCheckpointId = restore.checkpointId;
    this.restoreOperatorState(restore.operatorState);
    this.restoreCustom(restore.custom, restore.checkpointId);
  }

  protected restoreCustom(_custom: unknown[], _checkpointId: number): void {}

  notifyCheckpointComplete(checkpointId: number): void {
    (
      this.userFunction as { notifyCheckpointComplete?(id: number): void } | undefined
    )?.notifyCheckpointComplete?.(checkpointId);
  }

  notifyCheckpointAborted(checkpointId: number): void {
    (
      this.userFunction as { notifyCheckpointAborted?(id: number): void } | undefined
    )?.notifyCheckpointAborted?.(checkpointId);
  }

  /** All records of one input have arrived. */
  endInput(_input: number): void {}

  /** The last chance to emit (bounded input ended). */
  finish(): void | Promise<void> {}

  async close(): Promise<void> {
    await this.userFunction?.close?.();
  }
}

/** Restores one key group into `backend` (undecoded when both allow it); returns its timers. */
function restoreKeyGroupInto(
  backend: KeyedStateBackend,
  keyGroup: number,
  restored: RestoredKeyGroup,
): TimerSnapshot[] {
  if (typeof restored !== "function" && "visit" in restored) {
    const encoded = restored;
    if (backend.restoreEncodedKeyGroup !== undefined) {
      let timers: TimerSnapshot[] = [];
      backend.restoreEncodedKeyGroup(keyGroup, (visit) => {
        timers = encoded.visit(visit);
      });
      return timers;
    }
  }
  const g = decodeRestoredKeyGroup(restored);
  backend.restoreKeyGroup(keyGroup, g.entries);
  return g.timers;
}
