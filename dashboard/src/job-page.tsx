// A job's page: its state and actions, the job graph, the chart, the selected vertex's subtasks,
// checkpoints, exceptions and the watermark doctor. Everything is polled about once a second while
// the job runs; a finished, cancelled or failed job keeps showing its last state, and so does a
// page whose server has gone away.

import { useEffect, useRef, useState } from "preact/hooks";
import {
  ApiError,
  type Checkpoints,
  type Exceptions,
  type JobDetails,
  type SubtaskInfo,
  type SubtaskMetrics,
  get,
  isTerminal,
  subtaskMetrics,
} from "./api.ts";
import { dateTime, duration, hasWatermark, count } from "./format.ts";
import { JobActions } from "./job-actions.tsx";
import { JobGraph, type VertexLoad } from "./job-graph.tsx";
import { StateBadge } from "./job-list.tsx";
import { CheckpointTable, ExceptionList, SubtaskTable } from "./job-tables.tsx";
import { type ChartPoint, MetricsChart } from "./metrics-chart.tsx";
import { usePoll } from "./poll.ts";
import { WatermarkDoctor } from "./watermark-doctor.tsx";

interface JobSnapshot {
  details: JobDetails;
  jobMetrics: Record<string, number>;
  /** per vertex id, per subtask */
  metrics: Map<string, SubtaskMetrics[]>;
  checkpoints: Checkpoints | undefined;
  exceptions: Exceptions | undefined;
  subtasks: { vid: string; list: SubtaskInfo[] } | undefined;
  doctor: unknown;
}

const JOB_METRICS = ["numRestarts", "uptime", "lastCheckpointDuration", "lastCompletedCheckpointId"];
const CHART_POINTS = 300;

const optional = <T,>(p: Promise<T>): Promise<T | undefined> => p.catch(() => undefined);

async function loadJob(jid: string, selected: string | undefined): Promise<JobSnapshot> {
  const details = await get<JobDetails>(`/jobs/${jid}`);
  const vid = selected ?? details.vertices[0]?.id;
  const [metrics, jobMetrics, checkpoints, exceptions, subtasks, doctor] = await Promise.all([
    Promise.all(details.vertices.map((v) => optional(subtaskMetrics(jid, v.id, v.parallelism)))),
    optional(get<Array<{ id: string; value: string }>>(`/jobs/${jid}/metrics?get=${JOB_METRICS.join(",")}`)),
    optional(get<Checkpoints>(`/jobs/${jid}/checkpoints`)),
    optional(get<Exceptions>(`/jobs/${jid}/exceptions`)),
    vid === undefined
      ? undefined
      : optional(get<{ subtasks: SubtaskInfo[] }>(`/jobs/${jid}/vertices/${vid}`)),
    optional(get<unknown>(`/jobs/${jid}/watermarks/doctor`)),
  ]);
  return {
    details,
    jobMetrics: Object.fromEntries((jobMetrics ?? []).map((m) => [m.id, Number(m.value)])),
    metrics: new Map(details.vertices.map((v, i) => [v.id, metrics[i] ?? []])),
    checkpoints,
    exceptions,
    subtasks: vid === undefined || subtasks === undefined ? undefined : { vid, list: subtasks.subtasks },
    doctor,
  };
}

function loadOf(rows: SubtaskMetrics[], isSource: boolean): VertexLoad | undefined {
  if (rows.length === 0) return undefined;
  const max = (f: (r: SubtaskMetrics) => number) => Math.max(...rows.map(f));
  const sum = (f: (r: SubtaskMetrics) => number) =>
    rows.reduce((s, r) => s + (Number.isFinite(f(r)) ? f(r) : 0), 0);
  const marks = rows
    .map((r) => (isSource ? r.currentOutputWatermark : r.currentInputWatermark))
    .filter(hasWatermark);
  return {
    busy: max((r) => r.busyTimeMsPerSecond),
    backPressured: max((r) => r.backPressuredTimeMsPerSecond),
    inPerSecond: sum((r) => r.numRecordsInPerSecond),
    outPerSecond: sum((r) => r.numRecordsOutPerSecond),
    recordsIn: sum((r) => r.numRecordsIn),
    recordsOut: sum((r) => r.numRecordsOut),
    watermark: marks.length === rows.length ? Math.min(...marks) : Number.NaN,
  };
}

/** The longest last checkpoint alignment of any subtask (NaN while the metric is not reported). */
function maxAlignment(metrics: Map<string, SubtaskMetrics[]>): number {
  const values = [...metrics.values()]
    .flat()
    .map((r) => r.checkpointAlignmentTime)
    .filter(Number.isFinite);
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

interface Totals {
  at: number;
  sourceIn: number;
  sinkIn: number;
}

/** Records read by the sources and received by the sinks, and the largest watermark lag. */
function totalsOf(s: JobSnapshot): { totals: Totals; lag: number | null } {
  const nodes = s.details.plan?.nodes ?? [];
  const fed = new Set(nodes.flatMap((n) => (n.inputs ?? []).map((i) => i.id)));
  let sourceIn = 0;
  let sinkIn = 0;
  let minWatermark = Number.POSITIVE_INFINITY;
  for (const v of s.details.vertices) {
    const rows = s.metrics.get(v.id) ?? [];
    const isSource = (nodes.find((n) => n.id === v.id)?.inputs ?? []).length === 0;
    const records = rows.reduce((sum, r) => sum + (Number.isFinite(r.numRecordsIn) ? r.numRecordsIn : 0), 0);
    if (isSource) sourceIn += records;
    if (!fed.has(v.id)) sinkIn += records;
    if (!isSource) {
      for (const r of rows)
        if (hasWatermark(r.currentInputWatermark))
          minWatermark = Math.min(minWatermark, r.currentInputWatermark);
    }
  }
  const lag =
    Number.isFinite(minWatermark) && minWatermark < 8.64e15 ? Math.max(0, Date.now() - minWatermark) : null;
  return { totals: { at: Date.now(), sourceIn, sinkIn }, lag };
}

export function JobPage({ jid, onTokenRequired }: { jid: string; onTokenRequired: () => void }) {
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const selectedRef = useRef(selected);
  selectedRef.current = selected;
  const [terminal, setTerminal] = useState(false);
  const { data, error, at } = usePoll(
    () => loadJob(jid, selectedRef.current),
    terminal ? 5000 : 1000,
    [jid],
    onTokenRequired,
  );
  const [points, setPoints] = useState<ChartPoint[]>([]);
  const previous = useRef<Totals | undefined>(undefined);

  useEffect(() => {
    if (data === undefined) return;
    setTerminal(isTerminal(data.details.state));
    const { totals, lag } = totalsOf(data);
    const p = previous.current;
    previous.current = totals;
    if (p === undefined || isTerminal(data.details.state)) return;
    const dt = (totals.at - p.at) / 1000;
    const perSecond = (now: number, before: number) => (now >= before && dt > 0 ? (now - before) / dt : null);
    setPoints((ps) => [
      ...ps.slice(-CHART_POINTS + 1),
      {
        t: totals.at / 1000,
        sourceOut: perSecond(totals.sourceIn, p.sourceIn),
        sinkIn: perSecond(totals.sinkIn, p.sinkIn),
        watermarkLag: lag,
      },
    ]);
  }, [at]);

  if (data === undefined) {
    if (error instanceof ApiError && error.status === 404) {
      return (
        <p class="banner error">
          Job {jid} is not known to this server. <a href="#/">Back to the job list</a>
        </p>
      );
    }
    return <p class="muted">{error === undefined ? "Loading…" : `Cannot load the job: ${error.message}`}</p>;
  }

  const d = data.details;
  const plan = d.plan?.nodes ?? [];
  const sources = new Set(plan.filter((n) => (n.inputs ?? []).length === 0).map((n) => n.id));
  const loads = new Map<string, VertexLoad>();
  for (const v of d.vertices) {
    const l = loadOf(data.metrics.get(v.id) ?? [], sources.has(v.id));
    if (l !== undefined) loads.set(v.id, l);
  }
  const vid = data.subtasks?.vid;
  const vertex = d.vertices.find((v) => v.id === vid);
  const running = !isTerminal(d.state);
  const lag = running ? totalsOf(data).lag : null;
  return (
    <div class="job-page" data-state={d.state}>
      <p class="crumbs">
        <a href="#/">Jobs</a> / <span class="mono">{d.jid}</span>
      </p>
      {error !== undefined && (
        <p class="banner warn">
          Lost contact with the REST server ({error.message}); showing the job as of{" "}
          {new Date(at).toLocaleTimeString()}.
        </p>
      )}
      <section class="panel job-head">
        <h1>
          {d.name} <StateBadge state={d.state} />
        </h1>
        <p class="stats">
          <span>Started {dateTime(d["start-time"])}</span>
          {d["end-time"] > 0 && <span>Ended {dateTime(d["end-time"])}</span>}
          <span>Duration {duration(d.duration)}</span>
          <span>Restarts {count(data.jobMetrics.numRestarts ?? Number.NaN)}</span>
          <span>
            Tasks {d.tasks.running} running · {d.tasks.finished} finished / {d.tasks.total}
          </span>
          <span>Watermark lag {lag === null ? "–" : duration(lag)}</span>
        </p>
        <JobActions jid={jid} running={running && error === undefined} />
      </section>
      <section class="panel">
        <h2>Job graph</h2>
        <p class="legend">
          <span class="swatch swatch-idle" /> idle <span class="swatch swatch-busy" /> busy{" "}
          <span class="swatch swatch-bp" /> backpressured — click a vertex for its subtasks
        </p>
        <JobGraph vertices={d.vertices} plan={plan} loads={loads} selected={vid} onSelect={setSelected} />
      </section>
      <section class="panel">
        <h2>Throughput and watermark lag</h2>
        {points.length === 0 && (
          <p class="chart-empty">
            {running ? "Collecting samples…" : "The job had ended before this page could sample it."}
          </p>
        )}
        <MetricsChart points={points} />
      </section>
      {vertex !== undefined && data.subtasks !== undefined && (
        <SubtaskTable
          name={vertex.name}
          subtasks={data.subtasks.list}
          metrics={data.metrics.get(vertex.id) ?? []}
        />
      )}
      <CheckpointTable checkpoints={data.checkpoints} alignmentMs={maxAlignment(data.metrics)} />
      <ExceptionList exceptions={data.exceptions} />
      <WatermarkDoctor diagnosis={data.doctor} />
    </div>
  );
}
