// The TaskManagers of a cluster (`#/taskmanagers`) and one TaskManager (`#/taskmanagers/<id>`):
// its slots and memory, the tail of its log file and of what its tasks printed, as the JobManager's
// REST API serves them. The REST server of `weir run --rest-port` has no TaskManagers: it says so.

import { ApiError, type TaskManagerSummary, get, getText } from "./api.ts";
import { bytes, duration } from "./format.ts";
import { usePoll } from "./poll.ts";

export function TaskManagerList({ onTokenRequired }: { onTokenRequired: () => void }) {
  const { data, error } = usePoll(
    () => get<{ taskmanagers: TaskManagerSummary[] }>("/taskmanagers"),
    2000,
    [],
    onTokenRequired,
  );
  if (error instanceof ApiError && error.status === 404) {
    return <p class="muted">This REST server runs its jobs in its own process: it has no TaskManagers.</p>;
  }
  const tms = [...(data?.taskmanagers ?? [])].sort((a, b) => a.id.localeCompare(b.id));
  return (
    <section class="panel taskmanagers">
      <h2>
        TaskManagers <span class="muted">({tms.length})</span>
      </h2>
      {error !== undefined && <p class="banner error">Cannot reach the REST server: {error.message}</p>}
      {data !== undefined && tms.length === 0 && <p class="muted">None registered.</p>}
      {tms.length > 0 && (
        <table class="jobs">
          <thead>
            <tr>
              <th>TaskManager</th>
              <th>Path (host:pid)</th>
              <th>Slots</th>
              <th>Free slots</th>
              <th>Data port</th>
              <th>Last heartbeat</th>
            </tr>
          </thead>
          <tbody>
            {tms.map((t) => (
              <tr key={t.id} data-tm={t.id}>
                <td>
                  <a href={`#/taskmanagers/${encodeURIComponent(t.id)}`}>{t.id}</a>
                </td>
                <td class="mono">{t.path}</td>
                <td>{t.slotsNumber}</td>
                <td>{t.freeSlots}</td>
                <td>{t.dataPort}</td>
                <td>{duration(t.timeSinceLastHeartbeat)} ago</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function TextPanel({
  title,
  path,
  onTokenRequired,
}: {
  title: string;
  path: string;
  onTokenRequired: () => void;
}) {
  const { data, error } = usePoll(() => getText(path), 3000, [path], onTokenRequired);
  return (
    <section class="panel">
      <h2>{title}</h2>
      {error !== undefined && <p class="banner error">{error.message}</p>}
      <pre class={`tm-text tm-${title.toLowerCase()}`}>{data === undefined ? "…" : data || "(empty)"}</pre>
    </section>
  );
}

export function TaskManagerPage({ id, onTokenRequired }: { id: string; onTokenRequired: () => void }) {
  const base = `/taskmanagers/${encodeURIComponent(id)}`;
  const { data, error } = usePoll(() => get<TaskManagerSummary>(base), 2000, [id], onTokenRequired);
  const m = data?.metrics;
  return (
    <div class="taskmanager-page">
      <p>
        <a href="#/taskmanagers">← TaskManagers</a>
      </p>
      <section class="panel">
        <h2 class="tm-id">TaskManager {id}</h2>
        {error !== undefined && <p class="banner error">{error.message}</p>}
        {data !== undefined && (
          <dl class="tm-details">
            <dt>Path</dt>
            <dd class="mono">{data.path}</dd>
            <dt>Slots</dt>
            <dd class="tm-slots">
              {data.slotsNumber} ({data.freeSlots} free)
            </dd>
            <dt>Heap</dt>
            <dd>{m === undefined ? "–" : `${bytes(m.heapUsed)} of ${bytes(m.heapTotal)}`}</dd>
            <dt>RSS</dt>
            <dd>{m === undefined ? "–" : bytes(m.rss)}</dd>
            <dt>Task workers</dt>
            <dd>{m === undefined ? "–" : m.workers}</dd>
          </dl>
        )}
      </section>
      <TextPanel title="Logs" path={`${base}/logs`} onTokenRequired={onTokenRequired} />
      <TextPanel title="Stdout" path={`${base}/stdout`} onTokenRequired={onTokenRequired} />
    </div>
  );
}
