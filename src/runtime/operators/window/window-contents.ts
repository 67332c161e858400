// The state descriptor of a window's contents, instrumented to tell the window operator whether
// an add found the window's contents already there (so its timers were registered when they were
// created): the reducing function runs only on an existing value, an AggregateFunction's
// createAccumulator only for a new one, in every keyed backend. List contents cannot tell.

import {
  AggregatingStateDescriptor,
  type ListStateDescriptor,
  ReducingStateDescriptor,
} from "../../../core/state.ts";

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
