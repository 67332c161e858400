// What the job page's header and chart derive from a poll: the records read by the sources and
// reaching the sinks, their rates, the watermark lag. Apart from job-snapshot.ts (which loads the
// poll through the browser's fetch) so that it runs, and is tested, outside a browser.

import { hasWatermark } from "./format.ts";

/** The part of a poll (JobSnapshot) the totals read. */
export interface TotalsInput {
  details: {
    vertices: ReadonlyArray<{ id: string }>;
    plan?: { nodes: ReadonlyArray<{ id: string; inputs?: ReadonlyArray<{ id: string }> }> };
  };
  /** per vertex id, per subtask */
  metrics: Map<string, ReadonlyArray<TotalsMetrics>>;
}

export interface TotalsMetrics {
  numRecordsIn: number;
  numRecordsInPerSecond: number;
  currentInputWatermark: number;
}

export interface Totals {
  at: number;
  sourceIn: number;
  sinkIn: number;
  /** records/s as the subtasks measured them over their last report interval */
  sourceRate: number;
  sinkRate: number;
}

/** Records read by the sources and received by the sinks, and the largest watermark lag. */
export function totalsOf(s: TotalsInput): { totals: Totals; lag: number | null } {
  const nodes = s.details.plan?.nodes ?? [];
  const fed = new Set(nodes.flatMap((n) => (n.inputs ?? []).map((i) => i.id)));
  let sourceIn = 0;
  let sinkIn = 0;
  let sourceRate = 0;
  let sinkRate = 0;
  let minWatermark = Number.POSITIVE_INFINITY;
  for (const v of s.details.vertices) {
    const rows = s.metrics.get(v.id) ?? [];
    const isSource = (nodes.find((n) => n.id === v.id)?.inputs ?? []).length === 0;
    const finite = (x: number) => (Number.isFinite(x) ? x : 0);
    const records = rows.reduce((sum, r) => sum + finite(r.numRecordsIn), 0);
    const rate = rows.reduce((sum, r) => sum + finite(r.numRecordsInPerSecond), 0);
    if (isSource) {
      sourceIn += records;
      sourceRate += rate;
    }
    if (!fed.has(v.id)) {
      sinkIn += records;
      sinkRate += rate;
    }
    if (!isSource) {
      for (const r of rows)
        if (hasWatermark(r.currentInputWatermark))
          minWatermark = Math.min(minWatermark, r.currentInputWatermark);
    }
  }
  const lag =
    Number.isFinite(minWatermark) && minWatermark < 8.64e15 ? Math.max(0, Date.now() - minWatermark) : null;
  return { totals: { at: Date.now(), sourceIn, sinkIn, sourceRate, sinkRate }, lag };
}
