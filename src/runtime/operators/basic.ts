// Record-at-a-time operators: map, flatMap, filter, and the sink operator.

import type { Collector, FilterFn, FlatMapFn, MapFn, RichFunction } from "../../core/functions.ts";
import type { SinkWriter } from "../../core/sink.ts";
import { StreamOperator } from "./stream-operator.ts";

export class MapOperator extends StreamOperator {
  constructor(
    private readonly fn: MapFn<unknown, unknown>,
    rich?: RichFunction,
  ) {
    super(rich);
  }
  processElement(value: unknown): void {
    this.output.collect(this.fn(value, this.runtime));
  }
}

export class FilterOperator extends StreamOperator {
  constructor(
    private readonly fn: FilterFn<unknown>,
    rich?: RichFunction,
  ) {
    super(rich);
  }
  processElement(value: unknown): void {
    if (this.fn(value, this.runtime)) this.output.collect(value);
  }
}

export class FlatMapOperator extends StreamOperator {
  private collector!: Collector<unknown>;
  constructor(
    private readonly fn: FlatMapFn<unknown, unknown>,
    rich?: RichFunction,
  ) {
    super(rich);
  }
  override async open(): Promise<void> {
    const output = this.output;
    this.collector = { collect: (v) => output.collect(v) };
    await super.open();
  }
  processElement(value: unknown): void {
    this.fn(value, this.collector, this.runtime);
  }
}

/** Writes every record to a SinkWriter; the end of a chain. */
export class SinkOperator extends StreamOperator {
  private writer!: SinkWriter<unknown>;
  constructor(
    private readonly createWriter: (op: SinkOperator) => SinkWriter<unknown> | Promise<SinkWriter<unknown>>,
    rich?: RichFunction,
  ) {
    super(rich);
  }
  get context() {
    return this.runtime;
  }
  override async open(): Promise<void> {
    await super.open();
    this.writer = await this.createWriter(this);
  }
  processElement(value: unknown): void {
    this.writer.write(value);
  }
  override async finish(): Promise<void> {
    await this.writer.finish?.();
  }
  override async close(): Promise<void> {
    await this.writer?.close?.();
    await super.close();
  }
}
