// The operator contract: what a task calls on each operator of its chain, and how an operator
// emits. Operators in one chain call each other directly through Outputs.

import type { RichFunction } from "../../core/functions.ts";
import type { HeapKeyedStateBackend } from "../../state/heap-keyed-state-backend.ts";
import type { RuntimeContextImpl } from "../runtime-context.ts";

/** The timestamp of the record being processed, shared by the operators of one task (NaN = none). */
export interface ElementContext {
  timestamp: number;
}

export interface Output {
  collect(value: unknown): void;
  collectSide(tagId: string, value: unknown): void;
  emitWatermark(watermark: number): void;
}

export interface KeyedContext {
  keySelector: (value: any) => unknown;
  backend: HeapKeyedStateBackend;
  maxParallelism: number;
}

export interface OperatorSetup {
  runtime: RuntimeContextImpl;
  output: Output;
  element: ElementContext;
  /** One per input (index 0, 1) when that input is keyed. */
  keyed: Array<KeyedContext | undefined>;
}

export abstract class StreamOperator {
  numRecordsIn = 0;
  protected output!: Output;
  protected runtime!: RuntimeContextImpl;
  protected element!: ElementContext;
  protected keyed: Array<KeyedContext | undefined> = [];

  /** The user function object, if any: its open/close are called with the operator's. */
  constructor(protected readonly userFunction: RichFunction | undefined) {}

  setup(s: OperatorSetup): void {
    this.output = s.output;
    this.runtime = s.runtime;
    this.element = s.element;
    this.keyed = s.keyed;
  }

  async open(): Promise<void> {
    await this.userFunction?.open?.(this.runtime);
  }

  abstract processElement(value: unknown, input: number): void;

  processWatermark(watermark: number): void {
    this.output.emitWatermark(watermark);
  }

  /** All records of one input have arrived. */
  endInput(_input: number): void {}

  /** The last chance to emit (bounded input ended). */
  finish(): void | Promise<void> {}

  async close(): Promise<void> {
    await this.userFunction?.close?.();
  }
}
