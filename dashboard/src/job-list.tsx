// The job list: running jobs first, then finished, cancelled and failed ones, newest first.

import { type JobSummary, get, isTerminal } from "./api.ts";
import { dateTime, duration } from "./format.ts";
import { usePoll } from "./poll.ts";

export function StateBadge({ state }: { state: string }) {
  return <span class={`state state-${state.toLowerCase()}`}>{state}</span>;
}

function JobTable({ title, jobs }: { title: string; jobs: JobSummary[] }) {
  return (
    <section class="panel">
      <h2>
        {title} <span class="muted">({jobs.length})</span>
      </h2>
      {jobs.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <table class="jobs">
          <thead>
            <tr>
              <th>Job</th>
              <th>State</th>
              <th>Started</th>
              <th>Duration</th>
              <th>Tasks</th>
              <th>Job id</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.jid} data-jid={j.jid}>
                <td>
                  <a href={`#/jobs/${j.jid}`}>{j.name}</a>
                </td>
                <td>
                  <StateBadge state={j.state} />
                </td>
                <td>{dateTime(j["start-time"])}</td>
                <td>{duration(j.duration)}</td>
                <td>
                  {j.tasks.running} running · {j.tasks.finished} finished
                  {j.tasks.failed > 0 ? ` · ${j.tasks.failed} failed` : ""}
                  {j.tasks.canceled > 0 ? ` · ${j.tasks.canceled} cancelled` : ""} / {j.tasks.total}
                </td>
                <td class="mono muted">{j.jid}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function JobList({ onTokenRequired }: { onTokenRequired: () => void }) {
  const { data, error } = usePoll(
    () => get<{ jobs: JobSummary[] }>("/jobs/overview"),
    2000,
    [],
    onTokenRequired,
  );
  const jobs = [...(data?.jobs ?? [])].sort((a, b) => b["start-time"] - a["start-time"]);
  return (
    <div class="job-list">
      {error !== undefined && <p class="banner error">Cannot reach the REST server: {error.message}</p>}
      {data === undefined && error === undefined && <p class="muted">Loading…</p>}
      {data !== undefined && (
        <>
          <JobTable title="Running jobs" jobs={jobs.filter((j) => !isTerminal(j.state))} />
          <JobTable title="Completed jobs" jobs={jobs.filter((j) => isTerminal(j.state))} />
        </>
      )}
    </div>
  );
}
