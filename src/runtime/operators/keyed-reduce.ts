// Rolling reduce on a keyed stream: keeps the running value per key in keyed state and emits
// it after every record (sum, min, max, minBy, maxBy are reduce functions).

import type { ReduceFn, RichFunction } from "../../core/functions.ts";
import { type ValueState, ValueStateDescriptor } from "../../core/state.ts";
import type { KeyedStateBackend } from "../../state/keyed-state-backend.ts";
import { type Output, StreamOperator } from "./stream-operator.ts";

/** What a generated loop does in place of a keyed reduce's processElement (see fusedStep). */
export interface FusedReduceStep {
  readonly fn: ReduceFn<unknown>;
  readonly keySelector: (value: unknown) => unknown;
  readonly backend: KeyedStateBackend;
  readonly maxParallelism: number;
  readonly state: ValueState<unknown>;
  readonly output: Output;
}

/**
 * A chained keyed reduce is fused into a source's generated loop (fused-source-loop.ts) when the
 * key group is always hashed here: keep processElement in step with it.
 */
export class KeyedReduceOperator extends StreamOperator {
  private state!: ValueState<unknown>;

  constructor(
    private readonly fn: ReduceFn<unknown>,
    rich?: RichFunction,
  ) {
    super(rich);
  }

  override async open(): Promise<void> {
    this.state = this.keyed[0]!.backend.getState(new ValueStateDescriptor<unknown>("_reduce"));
    await super.open();
  }

  processElement(value: unknown): void {
    const keyed = this.keyed[0]!;
    const key = keyed.keySelector(value);
    keyed.backend.setCurrentKey(key, this.keyGroupOf(keyed, key));
    const acc = this.state.value();
    const next = acc === undefined ? value : this.fn(acc, value);
    this.state.update(next);
    this.output.collect(next);
  }

  /**
   * The parts of processElement for a generated loop (after open), or undefined when a record
   * may bring its key group (a chain head behind hash edges: keyGroupOf would use it).
   */
  fusedStep(): FusedReduceStep | undefined {
    const keyed = this.keyed[0];
    if (keyed === undefined || keyed.keyGroupFromRecord === true || this.state === undefined)
      return undefined;
    return {
      fn: this.fn,
      keySelector: keyed.keySelector,
      backend: keyed.backend,
      maxParallelism: keyed.maxParallelism,
      state: this.state,
      output: this.output,
    };
  }
}
