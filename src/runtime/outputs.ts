// Outputs wire the operators of a chain together: a chained target calls the next operator
// directly; a writer target serializes into the network; side outputs route by tag.
//
// The record path of an output with one target is compiled per output instance (`new Function`):
// every compiled `collect` has its own call-site feedback, so within one chain the calls to the
// next operator (and to the user functions of map and filter, which it calls itself) stay
// monomorphic and V8 inlines the chain, however many other jobs and operator classes the process
// runs (feasibility.md §3). Counts and failure attribution are the same as the generic path's.

import type { LatencyMarker } from "../network/buffer.ts";
import type { RecordWriter } from "../network/record-writer.ts";
import { type OperatorInfo, attribute } from "./operator-failure.ts";
import { FilterOperator, MapOperator } from "./operators/basic.ts";
import type { ElementContext, Output, StreamOperator } from "./operators/stream-operator.ts";

type Collect = (value: unknown) => void;

export interface RecordTarget {
  push(value: unknown): void;
  pushWatermark(watermark: number): void;
  pushWatermarkStatus(idle: boolean): void;
  /** A latency marker: to the next operator, or into the network (never through user functions). */
  pushLatencyMarker(marker: LatencyMarker): void;
  /** The whole record path of `out` when this is its only main target (counts included). */
  compileCollect?(out: RoutingOutput): Collect;
}

/**
 * Compiles `body` into a fresh function (its own feedback vector) taking `collect(value)`; the
 * names in `params` are bound to `args`. `out` counts the records it emits.
 */
function compile(params: string[], body: string, args: unknown[]): Collect {
  const factory = new Function(...params, `"use strict";\nreturn function collect(value) {\n${body}\n};`);
  return factory(...args) as Collect;
}

/**
 * The next operator of a chain. The record's timestamp is the task's ElementContext, shared by the
 * chain: an operator that emits with a timestamp of its own while it processes a record (a window
 * fired by a count trigger, a timestamp assigner, a completed async result) sets it, so after any
 * operator other than a map or filter the timestamp is put back: the caller's next record (a
 * flatMap's) or next target (a sibling operator) sees the record's own timestamp, as over a
 * network edge, where each record carries its own.
 */
export class ChainedTarget implements RecordTarget {
  constructor(
    readonly op: StreamOperator,
    private readonly inputIndex: number,
    readonly info: OperatorInfo,
    private readonly element: ElementContext,
  ) {}

  compileCollect(out: RoutingOutput): Collect {
    const op = this.op;
    // Map and filter (exactly those classes, whose processElement is known) are fused: the
    // compiled function calls the user function and the next output itself.
    // These bodies are MapOperator's and FilterOperator's processElement.
    let call = `op.processElement(value, ${this.inputIndex | 0});`;
    // Any other operator may stamp its own output: the timestamp is put back in the same try.
    let save = "const ts = element.timestamp;\n";
    let restore = " finally {\nelement.timestamp = ts;\n}";
    let fn: unknown;
    if (op.constructor === MapOperator) {
      fn = (op as MapOperator).fn;
      call = "op.output.collect(fn(value, op.runtime));";
      save = restore = "";
    } else if (op.constructor === FilterOperator) {
      fn = (op as FilterOperator).fn;
      call = "if (fn(value, op.runtime)) op.output.collect(value);";
      save = restore = "";
    }
    return compile(
      ["out", "op", "info", "attribute", "fn", "element"],
      `out.numRecordsOut++;\nop.numRecordsIn++;\n${save}try {\n${call}\n} catch (e) {\nthrow attribute(e, info);\n}${restore}`,
      [out, op, this.info, attribute, fn, this.element],
    );
  }
  push(value: unknown): void {
    const op = this.op;
    op.numRecordsIn++;
    const element = this.element;
    const ts = element.timestamp;
    try {
      op.processElement(value, this.inputIndex);
    } catch (e) {
      throw attribute(e, this.info);
    } finally {
      element.timestamp = ts;
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
  pushLatencyMarker(marker: LatencyMarker): void {
    this.op.processLatencyMarker(marker);
  }
}

export class WriterTarget implements RecordTarget {
  constructor(
    private readonly writer: RecordWriter<unknown>,
    private readonly element: ElementContext,
  ) {}
  compileCollect(out: RoutingOutput): Collect {
    return compile(
      ["out", "writer", "element"],
      "out.numRecordsOut++;\nwriter.emit(value, element.timestamp);",
      [out, this.writer, this.element],
    );
  }
  push(value: unknown): void {
    this.writer.emit(value, this.element.timestamp);
  }
  pushWatermark(watermark: number): void {
    this.writer.emitWatermark(watermark);
  }
  pushWatermarkStatus(idle: boolean): void {
    this.writer.emitWatermarkStatus(idle);
  }
  pushLatencyMarker(marker: LatencyMarker): void {
    this.writer.emitLatencyMarker(marker);
  }
}

/** The Output of one operator: its main targets and its side-output targets by tag id. */
export class RoutingOutput implements Output {
  numRecordsOut = 0;
  /** The last watermark this operator emitted (its currentOutputWatermark). */
  lastWatermark = Number.NEGATIVE_INFINITY;
  /** Emits a record to every main target; compiled for this instance when there is one target. */
  readonly collect: Collect;

  constructor(
    private readonly main: RecordTarget[],
    private readonly sides: Map<string, RecordTarget[]>,
  ) {
    const single = main.length === 1 ? main[0]! : undefined;
    if (single?.compileCollect !== undefined) this.collect = single.compileCollect(this);
    else if (single !== undefined) {
      this.collect = (value) => {
        this.numRecordsOut++;
        single.push(value);
      };
    } else {
      this.collect = (value) => {
        this.numRecordsOut++;
        for (const t of main) t.push(value);
      };
    }
  }

  /** The chained operator every record goes to, when that is all this output does (fused-source-loop.ts). */
  soleChainedTarget(): ChainedTarget | undefined {
    const single = this.main.length === 1 ? this.main[0] : undefined;
    return single instanceof ChainedTarget ? single : undefined;
  }

  collectSide(tagId: string, value: unknown): void {
    const targets = this.sides.get(tagId);
    if (targets === undefined) return; // nobody consumes this side output
    for (const t of targets) t.push(value);
  }

  emitWatermark(watermark: number): void {
    this.lastWatermark = watermark;
    for (const t of this.main) t.pushWatermark(watermark);
    for (const ts of this.sides.values()) for (const t of ts) t.pushWatermark(watermark);
  }

  emitWatermarkStatus(idle: boolean): void {
    for (const t of this.main) t.pushWatermarkStatus(idle);
    for (const ts of this.sides.values()) for (const t of ts) t.pushWatermarkStatus(idle);
  }

  /** Off the record path, like watermarks: only jobs that track latency emit markers. */
  emitLatencyMarker(marker: LatencyMarker): void {
    for (const t of this.main) t.pushLatencyMarker(marker);
    for (const ts of this.sides.values()) for (const t of ts) t.pushLatencyMarker(marker);
  }
}
