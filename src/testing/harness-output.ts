// What the operator under test emits, in order: records (with their timestamps), watermarks and
// side-output records by tag. It is the operator's Output, so it sees exactly what a task's
// downstream would.

import type { OutputTag } from "../core/functions.ts";
import type { ElementContext, Output } from "../runtime/operators/stream-operator.ts";

/** A record the operator emitted, with the timestamp it carried (undefined: none). */
export interface StreamRecord<T> {
  value: T;
  timestamp: number | undefined;
}

/** One thing the operator emitted on its main output, in order. */
export type HarnessEvent<T> =
  | { kind: "record"; value: T; timestamp: number | undefined }
  | { kind: "watermark"; watermark: number }
  | { kind: "watermarkStatus"; idle: boolean };

/** Collects an operator's output; the harness hands out copies. */
export class CollectingOutput implements Output {
  readonly events: HarnessEvent<unknown>[] = [];
  readonly sides = new Map<string, StreamRecord<unknown>[]>();

  constructor(private readonly element: ElementContext) {}

  collect(value: unknown): void {
    this.events.push({ kind: "record", value, timestamp: timestampOf(this.element) });
  }

  collectSide(tagId: string, value: unknown): void {
    let list = this.sides.get(tagId);
    if (list === undefined) this.sides.set(tagId, (list = []));
    list.push({ value, timestamp: timestampOf(this.element) });
  }

  emitWatermark(watermark: number): void {
    this.events.push({ kind: "watermark", watermark });
  }

  emitWatermarkStatus(idle: boolean): void {
    this.events.push({ kind: "watermarkStatus", idle });
  }

  records(): StreamRecord<unknown>[] {
    const out: StreamRecord<unknown>[] = [];
    for (const e of this.events)
      if (e.kind === "record") out.push({ value: e.value, timestamp: e.timestamp });
    return out;
  }

  watermarks(): number[] {
    const out: number[] = [];
    for (const e of this.events) if (e.kind === "watermark") out.push(e.watermark);
    return out;
  }

  side(tag: OutputTag<unknown> | string): StreamRecord<unknown>[] {
    const id = typeof tag === "string" ? tag : tag.id;
    return (this.sides.get(id) ?? []).map((r) => ({ ...r }));
  }

  clear(): void {
    this.events.length = 0;
    this.sides.clear();
  }
}

function timestampOf(element: ElementContext): number | undefined {
  return Number.isNaN(element.timestamp) ? undefined : element.timestamp;
}
