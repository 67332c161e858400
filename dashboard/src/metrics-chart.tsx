// The throughput and watermark-lag chart (uPlot): records/s out of the sources and into the sinks
// on the left axis, the largest watermark lag on the right, one point per poll.

import uPlot from "uplot";
import { useEffect, useRef } from "preact/hooks";
import { timeAxisRange } from "./chart-range.ts";

export interface ChartPoint {
  /** seconds since the epoch */
  t: number;
  sourceOut: number | null;
  sinkIn: number | null;
  /** ms */
  watermarkLag: number | null;
}

export function MetricsChart({ points }: { points: ChartPoint[] }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    if (el.current === null) return;
    const opts: uPlot.Options = {
      width: Math.max(320, el.current.clientWidth),
      height: 220,
      scales: { x: { time: true }, lag: { auto: true } },
      series: [
        {},
        { label: "sources out (rec/s)", stroke: "#2f6fdb", width: 2 },
        { label: "sinks in (rec/s)", stroke: "#2a9d4b", width: 2 },
        { label: "watermark lag (s)", stroke: "#d9822b", width: 2, scale: "lag", dash: [6, 4] },
      ],
      axes: [
        {},
        { label: "records/s", size: 60 },
        { side: 1, scale: "lag", label: "lag (s)", grid: { show: false } },
      ],
      legend: { live: false },
    };
    plot.current = new uPlot(opts, [[], [], [], []], el.current);
    const onResize = () => {
      if (el.current !== null)
        plot.current?.setSize({ width: Math.max(320, el.current.clientWidth), height: 220 });
    };
    window.addEventListener("resize", onResize);
    return () => {
      window.removeEventListener("resize", onResize);
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData([
      points.map((p) => p.t),
      points.map((p) => p.sourceOut),
      points.map((p) => p.sinkIn),
      points.map((p) => (p.watermarkLag === null ? null : p.watermarkLag / 1000)),
    ]);
    // Fitted to the samples (a fixed minute left the first seconds of data in a corner).
    const range = timeAxisRange(points.map((p) => p.t));
    if (range !== undefined) plot.current?.setScale("x", range);
  }, [points]);
  return <div class="chart" ref={el} />;
}
