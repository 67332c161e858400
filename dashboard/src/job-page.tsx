// A job's page: its state and actions, the job graph, the chart, the selected vertex's subtasks,
// checkpoints, exceptions and the watermark doctor. Everything is polled about once a second while
// the job runs; a finished, cancelled or failed job keeps showing its last state, and so does a
// page whose server has gone away.

import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, isTerminal } from "./api.ts";
import { count, dateTime, duration } from "./format.ts";
import { JobActions } from "./job-actions.tsx";
import { JobGraph, type VertexLoad } from "./job-graph.tsx";
import { StateBadge } from "./job-list.tsx";
import { FlameGraph } from "./flame-graph.tsx";
import { CheckpointTable, ExceptionList, SubtaskTable } from "./job-tables.tsx";
import { type ChartPoint, MetricsChart } from "./metrics-chart.tsx";
import { type JobSnapshot, type Totals, loadJob, loadOf, maxAlignment, totalsOf } from "./job-snapshot.ts";
import { usePoll } from "./poll.ts";
import { WatermarkDoctor } from "./watermark-doctor.tsx";

const CHART_POINTS = 300;

/**
 * One chart point per poll while the job runs. The rates are the subtasks' own (records over their
 * last report interval): a rate from the counts between two polls would read 0 or double whenever
 * a poll fell between two of the workers' once-a-second reports.
 */
function useChartSamples(data: JobSnapshot | undefined, at: number): ChartPoint[] {
  const [points, setPoints] = useState<ChartPoint[]>([]);
  const previous = useRef<Totals | undefined>(undefined);

  useEffect(() => {
    if (data === undefined) return;
    const { totals, lag } = totalsOf(data);
    const p = previous.current;
    previous.current = totals;
    if (p === undefined || isTerminal(data.details.state)) return;
    setPoints((ps) => [
      ...ps.slice(-CHART_POINTS + 1),
      { t: totals.at / 1000, sourceOut: totals.sourceRate, sinkIn: totals.sinkRate, watermarkLag: lag },
    ]);
  }, [at]);
  return points;
}

/** The job's name and state, times, restarts, tasks and watermark lag, and its actions. */
function JobHeader({
  data,
  lag,
  actionable,
}: {
  data: JobSnapshot;
  lag: number | null;
  actionable: boolean;
}) {
  const d = data.details;
  return (
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
      <JobActions jid={d.jid} running={actionable} />
    </section>
  );
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
  useEffect(() => {
    if (data !== undefined) setTerminal(isTerminal(data.details.state));
  }, [data]);
  const points = useChartSamples(data, at);

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
      <JobHeader data={data} lag={lag} actionable={running && error === undefined} />
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
          checkpointed={(data.checkpoints?.counts.total ?? 0) > 0}
        />
      )}
      {vertex !== undefined && <FlameGraph key={vertex.id} jid={jid} vid={vertex.id} running={running} />}
      <CheckpointTable checkpoints={data.checkpoints} alignmentMs={maxAlignment(data.metrics)} />
      <ExceptionList exceptions={data.exceptions} />
      <WatermarkDoctor diagnosis={data.doctor} />
    </div>
  );
}
