// Process operators: ProcessFunction, KeyedProcessFunction and the two-input co-process family.

import type { Collector, OutputTag, RuntimeContext } from "../../core/functions.ts";
import { assignToKeyGroup } from "../../core/key-groups.ts";
import type {
  CoProcessFunction,
  KeyedCoProcessFunction,
  KeyedProcessContext,
  KeyedProcessFunction,
  ProcessFunction,
} from "../../core/process.ts";
import { type KeyedContext, StreamOperator } from "./stream-operator.ts";

/** The context handed to process functions; one per operator, reused for every record. */
class Context implements KeyedProcessContext<unknown> {
  constructor(private readonly op: ProcessOperatorBase) {}
  get runtime(): RuntimeContext {
    return this.op.runtimeContext();
  }
  timestamp(): number | undefined {
    const ts = this.op.currentTimestamp();
    return Number.isNaN(ts) ? undefined : ts;
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.op.emitSide(tag.id, value);
  }
  getCurrentKey(): unknown {
    return this.op.currentKey();
  }
}

abstract class ProcessOperatorBase extends StreamOperator {
  protected readonly ctx = new Context(this);
  protected collector!: Collector<unknown>;
  private key: unknown = undefined;

  override async open(): Promise<void> {
    const output = this.output;
    this.collector = { collect: (v) => output.collect(v) };
    await super.open();
  }
  runtimeContext(): RuntimeContext {
    return this.runtime;
  }
  currentTimestamp(): number {
    return this.element.timestamp;
  }
  emitSide(tagId: string, value: unknown): void {
    this.output.collectSide(tagId, value);
  }
  currentKey(): unknown {
    return this.key;
  }
  /** Make `value`'s key current (for state and getCurrentKey) when input `input` is keyed. */
  protected selectKey(value: unknown, keyed: KeyedContext | undefined): void {
    if (keyed === undefined) return;
    const key = keyed.keySelector(value);
    this.key = key;
    keyed.backend.setCurrentKey(key, assignToKeyGroup(key, keyed.maxParallelism));
  }
}

export class ProcessOperator extends ProcessOperatorBase {
  constructor(private readonly fn: ProcessFunction<unknown, unknown>) {
    super(fn);
  }
  processElement(value: unknown): void {
    this.fn.processElement(value, this.ctx, this.collector);
  }
}

export class KeyedProcessOperator extends ProcessOperatorBase {
  constructor(private readonly fn: KeyedProcessFunction<unknown, unknown, unknown>) {
    super(fn);
  }
  processElement(value: unknown): void {
    this.selectKey(value, this.keyed[0]);
    this.fn.processElement(value, this.ctx, this.collector);
  }
}

/** Two inputs; keyed when the connected streams were keyed. */
export class CoProcessOperator extends ProcessOperatorBase {
  constructor(
    private readonly fn:
      | CoProcessFunction<unknown, unknown, unknown>
      | KeyedCoProcessFunction<unknown, unknown, unknown, unknown>,
  ) {
    super(fn);
  }
  processElement(value: unknown, input: number): void {
    this.selectKey(value, this.keyed[input]);
    if (input === 0) this.fn.processElement1(value, this.ctx, this.collector);
    else this.fn.processElement2(value, this.ctx, this.collector);
  }
}
