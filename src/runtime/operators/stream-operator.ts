// The operator contract: what a task calls on each operator of its chain, and how an operator
// emits. Operators in one chain call each other directly through Outputs.

import { InvalidJobError } from "../../core/errors.ts";
import type { RichFunction } from "../../core/functions.ts";
import type { KeyedStateBackend } from "../../state/keyed-state-backend.ts";
import type { RuntimeContextImpl } from "../runtime-context.ts";
import { InternalTimerService, type Triggerable } from "../time/internal-timer-service.ts";
import type { ProcessingTimeService } from "../time/processing-time-service.ts";
import type { KeyGroupSnapshot, OperatorRestore, OperatorSnapshot, TimerSnapshot } from "../snapshot.ts";

/** The timestamp of the record being processed, shared by the operators of one task (NaN = none). */
export interface ElementContext {
  timestamp: number;
}

export interface Output {
  collect(value: unknown): void;
  collectSide(tagId: string, value: unknown): void;
  emitWatermark(watermark: number): void;
  emitWatermarkStatus(idle: boolean): void;
}

export interface KeyedContext {
  keySelector: (value: any) => unknown;
  backend: KeyedStateBackend;
  maxParallelism: number;
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

  async open(): Promise<void> {
    await this.userFunction?.open?.(this.runtime);
  }

  abstract processElement(value: unknown, input: number): void;

  /** Fire the event-time timers the watermark passed, then forward it. */
  processWatermark(watermark: number): void {
    for (const s of this.timerServices) s.advanceWatermark(watermark);
    this.currentWatermark = watermark;
    this.output.emitWatermark(watermark);
  }

  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle);
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
   * The synchronous part of a checkpoint: keyed state and timers by key group, plus what
   * snapshotCustom() returns. Values are encoded before the task goes on, so later changes do not
   * leak into the snapshot.
   */
  snapshotState(checkpointId: number): OperatorSnapshot | undefined {
    const snap: OperatorSnapshot = {};
    const backend = this.keyedBackend();
    if (backend !== undefined) {
      const groups = new Map<number, KeyGroupSnapshot>();
      const group = (kg: number) => {
        let g = groups.get(kg);
        if (g === undefined) groups.set(kg, (g = { entries: [], timers: [] }));
        return g;
      };
      for (let kg = backend.keyGroupRange.start; kg <= backend.keyGroupRange.end; kg++) {
        const entries = backend.snapshotKeyGroup(kg);
        if (entries.length > 0) group(kg).entries = entries;
      }
      for (const service of this.timerServices) {
        for (const [domain, t] of service.timers()) {
          group(t.keyGroup).timers.push({
            service: service.name,
            domain,
            key: t.key,
            namespace: this.timerNamespaceToData(t.namespace),
            time: t.time,
          });
        }
      }
      snap.keyGroups = [...groups];
    }
    const custom = this.snapshotCustom(checkpointId);
    if (custom !== undefined) snap.custom = custom;
    return snap.keyGroups === undefined && snap.custom === undefined ? undefined : snap;
  }

  /** Timer namespaces as plain data for a snapshot (operators with object namespaces override). */
  protected timerNamespaceToData(namespace: unknown): unknown {
    return namespace;
  }

  protected timerNamespaceFromData(data: unknown): unknown {
    return data;
  }

  /** Operator-specific checkpoint data (e.g. a sink's pending transactions). */
  protected snapshotCustom(_checkpointId: number): unknown {
    return undefined;
  }

  /** Restore before open(): keyed state into the backend, timers when their service is created. */
  initializeState(restore: OperatorRestore): void {
    const backend = this.keyedBackend();
    if (backend !== undefined) {
      this.restoredTimers = new Map();
      for (const [kg, g] of restore.keyGroups) {
        if (kg < backend.keyGroupRange.start || kg > backend.keyGroupRange.end) continue;
        backend.restoreKeyGroup(kg, g.entries);
        for (const t of g.timers) {
          const list = this.restoredTimers.get(t.service) ?? [];
          list.push(t);
          this.restoredTimers.set(t.service, list);
        }
      }
    }
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
