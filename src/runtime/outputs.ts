// Outputs wire the operators of a chain together: a chained target calls the next operator
// directly; a writer target serializes into the network; side outputs route by tag.

import type { RecordWriter } from "../network/record-writer.ts";
import { type OperatorInfo, attribute } from "./operator-failure.ts";
import type { ElementContext, Output, StreamOperator } from "./operators/stream-operator.ts";

export interface RecordTarget {
  push(value: unknown): void;
  pushWatermark(watermark: number): void;
  pushWatermarkStatus(idle: boolean): void;
}

export class ChainedTarget implements RecordTarget {
  constructor(
    private readonly op: StreamOperator,
    private readonly inputIndex: number,
    private readonly info: OperatorInfo,
  ) {}
  push(value: unknown): void {
    const op = this.op;
    op.numRecordsIn++;
    try {
      op.processElement(value, this.inputIndex);
    } catch (e) {
      throw attribute(e, this.info);
    }
  }
  pushWatermark(watermark: number): void {
    try {
      this.op.processWatermark(watermark);
    } catch (e) {
      throw attribute(e, this.info);
    }
  }
  pushWatermarkStatus(idle: boolean): void {
    this.op.processWatermarkStatus(idle);
  }
}

export class WriterTarget implements RecordTarget {
  constructor(
    private readonly writer: RecordWriter<unknown>,
    private readonly element: ElementContext,
  ) {}
  push(value: unknown): void {
    this.writer.emit(value, this.element.timestamp);
  }
  pushWatermark(watermark: number): void {
    this.writer.emitWatermark(watermark);
  }
  pushWatermarkStatus(idle: boolean): void {
    this.writer.emitWatermarkStatus(idle);
  }
}

/** The Output of one operator: its main targets and its side-output targets by tag id. */
export class RoutingOutput implements Output {
  private readonly single: RecordTarget | undefined;
  numRecordsOut = 0;

  constructor(
    private readonly main: RecordTarget[],
    private readonly sides: Map<string, RecordTarget[]>,
  ) {
    this.single = main.length === 1 ? main[0] : undefined;
  }

  collect(value: unknown): void {
    this.numRecordsOut++;
    if (this.single !== undefined) {
      this.single.push(value);
      return;
    }
    for (const t of this.main) t.push(value);
  }

  collectSide(tagId: string, value: unknown): void {
    const targets = this.sides.get(tagId);
    if (targets === undefined) return; // nobody consumes this side output
    for (const t of targets) t.push(value);
  }

  emitWatermark(watermark: number): void {
    for (const t of this.main) t.pushWatermark(watermark);
    for (const ts of this.sides.values()) for (const t of ts) t.pushWatermark(watermark);
  }

  emitWatermarkStatus(idle: boolean): void {
    for (const t of this.main) t.pushWatermarkStatus(idle);
    for (const ts of this.sides.values()) for (const t of ts) t.pushWatermarkStatus(idle);
  }
}
