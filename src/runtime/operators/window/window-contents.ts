// A window's contents in keyed state, under the window's namespace: the list of its elements
// (with their timestamps when an evictor looks at them), or one value reduced or aggregated as
// elements come. Optionally instrumented to tell the window operator whether an add found the
// window's contents already there (so its timers were registered when they were created): the
// reducing function runs only on an existing value, an AggregateFunction's createAccumulator only
// for a new one, in every keyed backend. List contents cannot tell.

import {
  AggregatingStateDescriptor,
  type AppendingState,
  ListStateDescriptor,
  ReducingStateDescriptor,
} from "../../../core/state.ts";
import type { Namespace } from "../../../state/heap-keyed-state-backend.ts";
import type { KeyedStateBackend } from "../../../state/keyed-state-backend.ts";
import type { TimestampedValue } from "./window-contracts.ts";

/** The name of the contents state (the descriptors the API builds use it). */
export const CONTENTS_STATE = "__window-contents";

export type WindowContentsDescriptor =
  | ListStateDescriptor<unknown>
  | ReducingStateDescriptor<unknown>
  | AggregatingStateDescriptor<unknown, unknown, unknown>;

/** Set around one add to the contents state: after it, `existed` says whether the window had contents. */
export class ContentsProbe {
  existed = false;
  /** Whether `existed` is true unless the add created the contents (aggregating), or false unless it combined (reducing). */
  private readonly existedUnlessCreated: boolean;

  constructor(readonly kind: WindowContentsDescriptor["kind"]) {
    this.existedUnlessCreated = kind === "aggregating";
  }

  /** Call before each add. */
  reset(): void {
    this.existed = this.existedUnlessCreated;
  }
}

/**
 * `descriptor` with its function wrapped to report to `probe` (same name, kind, type and TTL);
 * list descriptors as they are (`probe.existed` stays false: nothing is known).
 */
export function probedContentsDescriptor(
  descriptor: WindowContentsDescriptor,
  probe: ContentsProbe,
): WindowContentsDescriptor {
  let probed: WindowContentsDescriptor;
  if (descriptor.kind === "reducing") {
    const reduce = descriptor.reduceFn;
    probed = new ReducingStateDescriptor<unknown>(
      descriptor.name,
      (a, b) => {
        probe.existed = true;
        return reduce(a, b);
      },
      descriptor.type,
    );
  } else if (descriptor.kind === "aggregating") {
    const f = descriptor.aggregateFunction;
    const wrapped: typeof f = {
      createAccumulator: () => {
        probe.existed = false;
        return f.createAccumulator();
      },
      add: (value, acc) => f.add(value, acc),
      getResult: (acc) => f.getResult(acc),
    };
    if (typeof f.merge === "function") wrapped.merge = (a, b) => f.merge!(a, b);
    probed = new AggregatingStateDescriptor(descriptor.name, wrapped, descriptor.type);
  } else return descriptor;
  probed.ttlConfig = descriptor.ttlConfig;
  return probed;
}

/** A state that can hand out its value and remove it with one lookup (the heap backend's). */
interface TakeableState {
  getAndClear(): unknown;
}

/**
 * The contents state of one window operator. Every method sets the backend's current namespace;
 * the current key is the caller's.
 */
export class WindowContents {
  /** Contents are the list of elements (with an evictor, always). */
  readonly list: boolean;
  /** With `probed`: whether the last add found the window's contents there. */
  readonly probe: ContentsProbe | undefined;
  /**
   * Contents the last add created mean the window had none before (the probe tells, and no TTL can
   * have expired them).
   */
  readonly probeShowsCreation: boolean;
  private readonly state: AppendingState<unknown, unknown>;
  private readonly takeable: boolean;

  constructor(
    private readonly backend: KeyedStateBackend,
    contents: WindowContentsDescriptor,
    private readonly evicting: boolean,
    probed: boolean,
  ) {
    let descriptor: WindowContentsDescriptor = evicting
      ? new ListStateDescriptor<unknown>(CONTENTS_STATE)
      : contents;
    this.list = descriptor.kind === "list";
    if (probed && !this.list) {
      this.probe = new ContentsProbe(descriptor.kind);
      descriptor = probedContentsDescriptor(descriptor, this.probe);
    }
    this.probeShowsCreation = this.probe !== undefined && descriptor.ttlConfig === undefined;
    this.state = backend.getPartitionedState(descriptor as ListStateDescriptor<unknown>) as AppendingState<
      unknown,
      unknown
    >;
    this.takeable = typeof (this.state as unknown as Partial<TakeableState>).getAndClear === "function";
  }

  add(ns: Namespace, value: unknown, timestamp: number): void {
    this.backend.setCurrentNamespace(ns);
    this.probe?.reset();
    if (this.evicting) this.state.add({ value, timestamp } satisfies TimestampedValue<unknown>);
    else this.state.add(value);
  }

  /** The contents (list: the elements; else the reduced value or the aggregate's result), if any. */
  get(ns: Namespace): unknown {
    this.backend.setCurrentNamespace(ns);
    return this.state.get();
  }

  /** get() and clear() at once. */
  take(ns: Namespace): unknown {
    this.backend.setCurrentNamespace(ns);
    if (this.takeable) return (this.state as unknown as TakeableState).getAndClear();
    const contents = this.state.get();
    this.state.clear();
    return contents;
  }

  clear(ns: Namespace): void {
    this.backend.setCurrentNamespace(ns);
    this.state.clear();
  }

  /** Replaces a list of elements (what an evictor left). */
  updateElements(ns: Namespace, elements: TimestampedValue<unknown>[]): void {
    this.backend.setCurrentNamespace(ns);
    (this.state as unknown as { update(v: unknown[]): void }).update(elements);
  }

  /** Moves the contents of `sources` into `target` (merging windows), for the current key. */
  merge(target: Namespace, sources: Namespace[]): void {
    this.backend.mergeNamespaces(CONTENTS_STATE, target, sources);
  }
}
