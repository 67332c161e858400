// An operator's latency histograms (Flink's `latency` metric, metrics.latency.interval): for each
// source whose latency markers reached the operator, the wall-clock time from the marker's making
// to its arrival here, over the last 128 markers (Flink's metrics.latency.history-size). Created on
// the first marker, so an operator of a job without latency tracking holds none.

import type { HistogramStatistics } from "../../core/metrics.ts";
import type { LatencyMarker } from "../../network/buffer.ts";
import { ReservoirHistogram } from "./reservoir-histogram.ts";

/** Flink's metrics.latency.history-size default. */
export const LATENCY_HISTORY_SIZE = 128;

/** One source's latency to this operator (plain data, in metric snapshots). */
export interface SourceLatency {
  sourceUid: string;
  stats: HistogramStatistics;
}

export class LatencyStats {
  private readonly bySource = new Map<string, ReservoirHistogram>();

  record(marker: LatencyMarker, now: number = Date.now()): void {
    let h = this.bySource.get(marker.sourceUid);
    if (h === undefined) {
      h = new ReservoirHistogram(LATENCY_HISTORY_SIZE);
      this.bySource.set(marker.sourceUid, h);
    }
    h.update(Math.max(0, now - marker.markedTime));
  }

  snapshot(): SourceLatency[] {
    return [...this.bySource].map(([sourceUid, h]) => ({ sourceUid, stats: h.getStatistics() }));
  }
}
