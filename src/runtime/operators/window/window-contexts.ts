// The contexts a window operator hands to triggers, evictors and window functions, and keyed
// state stores scoped to a window or to the key alone. State handles of the heap backend read
// the backend's current namespace at call time; the scoped stores set it before every call, so
// user code may mix per-window and per-key state freely.

import { InvalidJobError } from "../../../core/errors.ts";
import type { OutputTag } from "../../../core/functions.ts";
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  KeyedStateStore,
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  StateDescriptor,
  ValueState,
  ValueStateDescriptor,
} from "../../../core/state.ts";
import { type Namespace, VOID_NAMESPACE } from "../../../state/heap-keyed-state-backend.ts";
import type { KeyedStateBackend } from "../../../state/keyed-state-backend.ts";
import type { InternalTimerService } from "../../time/internal-timer-service.ts";
import { checkTimerTime } from "../../time/timer-time.ts";
import type { EvictorContext, OnMergeContext, Window } from "./window-contracts.ts";
import type { ProcessWindowContext } from "./window-functions.ts";

/** What the contexts need of their operator. */
export interface WindowOperatorAccess {
  readonly backend: KeyedStateBackend;
  readonly timers: InternalTimerService<Window>;
  namespaceOf(window: Window): Namespace;
  processingTimeNow(): number;
  emitSide(tagId: string, value: unknown): void;
  /** For error messages. */
  describe(): string;
}

function scoped<T extends object>(handle: T, enter: () => void): T {
  return new Proxy(handle, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        enter();
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Keyed state whose namespace is fixed by `namespace()` at every call. */
export class ScopedStateStore implements KeyedStateStore {
  private readonly handles = new Map<string, object>();
  constructor(
    private readonly op: WindowOperatorAccess,
    private readonly namespace: () => Namespace,
  ) {}

  private get backend(): KeyedStateBackend {
    return this.op.backend;
  }

  /** Names of the states obtained through this store. */
  names(): IterableIterator<string> {
    return this.handles.keys();
  }

  /** Whether any state was obtained through this store. */
  isEmpty(): boolean {
    return this.handles.size === 0;
  }

  private handle(d: StateDescriptor<any>): any {
    let h = this.handles.get(d.name);
    if (h === undefined) {
      const raw = this.backend.getPartitionedState(d as ValueStateDescriptor<unknown>) as object;
      const backend = this.backend;
      const ns = this.namespace;
      h = scoped(raw, () => backend.setCurrentNamespace(ns()));
      this.handles.set(d.name, h);
    } else {
      this.backend.getPartitionedState(d as ValueStateDescriptor<unknown>); // type check on reuse
    }
    return h;
  }
  getState<T>(d: ValueStateDescriptor<T>): ValueState<T> {
    return this.handle(d);
  }
  getListState<T>(d: ListStateDescriptor<T>): ListState<T> {
    return this.handle(d);
  }
  getMapState<K, V>(d: MapStateDescriptor<K, V>): MapState<K, V> {
    return this.handle(d);
  }
  getReducingState<T>(d: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.handle(d);
  }
  getAggregatingState<IN, ACC, OUT>(d: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT> {
    return this.handle(d);
  }
}

/** The context of triggers: the operator sets `window` (and the backend's namespace to it) before each call. */
export class WindowTriggerContext implements OnMergeContext {
  window!: Window;
  mergedWindows: Window[] = [];
  constructor(private readonly op: WindowOperatorAccess) {}

  getCurrentProcessingTime(): number {
    return this.op.processingTimeNow();
  }
  getCurrentWatermark(): number {
    return this.op.timers.currentWatermark();
  }
  registerProcessingTimeTimer(time: number): void {
    checkTimerTime(time, "registerProcessingTimeTimer", this.op.describe());
    this.op.timers.registerProcessingTimeTimer(this.window, time);
  }
  registerEventTimeTimer(time: number): void {
    checkTimerTime(time, "registerEventTimeTimer", this.op.describe());
    this.op.timers.registerEventTimeTimer(this.window, time);
  }
  deleteProcessingTimeTimer(time: number): void {
    this.op.timers.deleteProcessingTimeTimer(this.window, time);
  }
  deleteEventTimeTimer(time: number): void {
    this.op.timers.deleteEventTimeTimer(this.window, time);
  }
  getPartitionedState(descriptor: StateDescriptor<any>): any {
    // The operator made this window's namespace current before calling the trigger.
    this.op.backend.setCurrentNamespace(this.op.namespaceOf(this.window));
    return this.op.backend.getPartitionedState(descriptor as ValueStateDescriptor<unknown>);
  }
  mergePartitionedState(
    descriptor:
      | ListStateDescriptor<any>
      | ReducingStateDescriptor<any>
      | AggregatingStateDescriptor<any, any, any>,
  ): void {
    const b = this.op.backend;
    b.getPartitionedState(descriptor as ListStateDescriptor<unknown>);
    const target = this.op.namespaceOf(this.window);
    b.mergeNamespaces(
      descriptor.name,
      target,
      this.mergedWindows.map((w) => this.op.namespaceOf(w)),
    );
    b.setCurrentNamespace(target);
  }
}

export class WindowEvictorContext implements EvictorContext {
  constructor(private readonly op: WindowOperatorAccess) {}
  getCurrentProcessingTime(): number {
    return this.op.processingTimeNow();
  }
  getCurrentWatermark(): number {
    return this.op.timers.currentWatermark();
  }
}

export class WindowProcessContext implements ProcessWindowContext<Window> {
  window!: Window;
  readonly globalState: ScopedStateStore;
  private readonly perWindow: ScopedStateStore;

  constructor(
    private readonly op: WindowOperatorAccess,
    private readonly merging: boolean,
  ) {
    this.globalState = new ScopedStateStore(op, () => VOID_NAMESPACE);
    this.perWindow = new ScopedStateStore(op, () => op.namespaceOf(this.window));
  }

  get windowState(): KeyedStateStore {
    if (this.merging) {
      throw new InvalidJobError(
        `${this.op.describe()}: per-window state (context.windowState) is not available with merging (session) windows, whose state moves when windows merge; use context.globalState, or a trigger's state`,
      );
    }
    return this.perWindow;
  }
  currentProcessingTime(): number {
    return this.op.processingTimeNow();
  }
  currentWatermark(): number {
    return this.op.timers.currentWatermark();
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.op.emitSide(tag.id, value);
  }
  /** Removes the per-window state the function created for the current window. */
  clearWindowState(): void {
    if (this.merging || this.perWindow.isEmpty()) return;
    const ns = this.op.namespaceOf(this.window);
    for (const name of this.perWindow.names()) this.op.backend.clearNamespace(ns, name);
  }
}
