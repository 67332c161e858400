// Rolling reduce on a keyed stream: keeps the running value per key in keyed state and emits
// it after every record (sum, min, max, minBy, maxBy are reduce functions).

import type { ReduceFn, RichFunction } from "../../core/functions.ts";
import { type ValueState, ValueStateDescriptor } from "../../core/state.ts";
import { StreamOperator } from "./stream-operator.ts";

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
}
