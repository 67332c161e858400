// The watermarks of the Nexmark sources: dateTime − 4 s, as the suite's DDL declares
// (WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND).

import { type WatermarkGenerator, type WatermarkOutput, WatermarkStrategy } from "../../index.ts";
import { NEXMARK_WATERMARK_LAG_MS } from "./config.ts";
import type { NexmarkEvent } from "./model.ts";

/**
 * The highest watermark the events seen so far allow: an event from the generator carries its own
 * (its group's first event time − 4 s, see generator.ts: correct with out-of-order groups too); an
 * event read from a file has none, and allows its timestamp − 4 s. Emitted periodically.
 */
export class NexmarkWatermarkGenerator implements WatermarkGenerator<NexmarkEvent> {
  private watermark = Number.NEGATIVE_INFINITY;
  private emitted = Number.NEGATIVE_INFINITY;

  onEvent(event: NexmarkEvent, timestamp: number): void {
    const carried = (event as { watermark?: number }).watermark;
    const w = carried ?? timestamp - NEXMARK_WATERMARK_LAG_MS;
    if (w > this.watermark) this.watermark = w;
  }

  onPeriodicEmit(output: WatermarkOutput): void {
    if (this.watermark > this.emitted) {
      this.emitted = this.watermark;
      output.emitWatermark(this.watermark);
    }
  }
}

/** Event time = the record timestamp (dateTime); watermark = dateTime − 4 s. */
export function nexmarkWatermarks(): WatermarkStrategy<NexmarkEvent> {
  return WatermarkStrategy.forGenerator(() => new NexmarkWatermarkGenerator());
}
