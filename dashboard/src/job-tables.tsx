// The job page's tables: a vertex's subtasks, the checkpoint history, the exceptions.

import type { Checkpoints, Exceptions, SubtaskInfo, SubtaskMetrics } from "./api.ts";
import { bytes, count, dateTime, duration, percent, rate, time, watermark } from "./format.ts";

export function SubtaskTable(props: {
  name: string;
  subtasks: SubtaskInfo[];
  metrics: SubtaskMetrics[];
  /** Whether the job has triggered a checkpoint: before, the checkpoint gauges read 0 and show "–". */
  checkpointed: boolean;
}) {
  const { name, subtasks, metrics, checkpointed } = props;
  const sinceCheckpoint = (nanos: number | undefined) =>
    duration(checkpointed ? (nanos ?? Number.NaN) / 1e6 : Number.NaN);
  return (
    <section class="panel" data-testid="subtasks">
      <h2>
        Subtasks of <span class="mono">{name}</span>
      </h2>
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>Status</th>
            <th>Attempt</th>
            <th>Records in</th>
            <th>Records out</th>
            <th>In/s</th>
            <th>Out/s</th>
            <th>Busy</th>
            <th>Backpressured</th>
            <th>Idle</th>
            <th>Backpressure</th>
            <th>Input watermark</th>
            <th>Output watermark</th>
            <th>Last alignment</th>
            <th>Checkpoint start delay</th>
          </tr>
        </thead>
        <tbody>
          {subtasks.map((s) => {
            const m = metrics[s.subtask];
            return (
              <tr key={s.subtask}>
                <td>{s.subtask}</td>
                <td>{s.status}</td>
                <td>{s.attempt}</td>
                <td>{count(m?.numRecordsIn ?? s.metrics["read-records"])}</td>
                <td>{count(m?.numRecordsOut ?? s.metrics["write-records"])}</td>
                <td>{rate(m?.numRecordsInPerSecond ?? Number.NaN)}</td>
                <td>{rate(m?.numRecordsOutPerSecond ?? Number.NaN)}</td>
                <td>{percent(m?.busyTimeMsPerSecond ?? Number.NaN)}</td>
                <td>{percent(m?.backPressuredTimeMsPerSecond ?? Number.NaN)}</td>
                <td>{percent(m?.idleTimeMsPerSecond ?? Number.NaN)}</td>
                <td>
                  <span class={`bp bp-${s.backPressureLevel}`}>{s.backPressureLevel.toUpperCase()}</span>
                </td>
                <td>{watermark(m?.currentInputWatermark ?? Number.NaN)}</td>
                <td>{watermark(m?.currentOutputWatermark ?? Number.NaN)}</td>
                <td data-testid="last-alignment">{sinceCheckpoint(m?.checkpointAlignmentTime)}</td>
                <td data-testid="start-delay">{sinceCheckpoint(m?.checkpointStartDelayNanos)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

export function CheckpointTable(props: { checkpoints: Checkpoints | undefined; alignmentMs: number }) {
  const { checkpoints, alignmentMs } = props;
  if (checkpoints === undefined) return null;
  const { counts, summary, history } = checkpoints;
  return (
    <section class="panel" data-testid="checkpoints">
      <h2>Checkpoints</h2>
      <p class="stats">
        <span>Completed {counts.completed}</span>
        <span>In progress {counts.in_progress}</span>
        <span>Failed {counts.failed}</span>
        <span>
          Duration min/avg/max {duration(summary.end_to_end_duration.min)} /{" "}
          {duration(summary.end_to_end_duration.avg)} / {duration(summary.end_to_end_duration.max)}
        </span>
        <span>Size avg {bytes(summary.state_size.avg)}</span>
        {Number.isFinite(alignmentMs) && (
          <span>Last alignment (slowest subtask) {duration(alignmentMs)}</span>
        )}
      </p>
      {history.length === 0 ? (
        <p class="muted">No checkpoint yet (or the job does not checkpoint).</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Id</th>
              <th>Status</th>
              <th>Type</th>
              <th>Completed / failed at</th>
              <th>End to end</th>
              <th>State size</th>
              <th>Aligned data</th>
            </tr>
          </thead>
          <tbody>
            {history.slice(0, 20).map((c) => (
              <tr key={c.id}>
                <td>{c.id}</td>
                <td>{c.status}</td>
                <td>{c.is_savepoint ? "savepoint" : (c.checkpoint_type ?? "checkpoint").toLowerCase()}</td>
                <td>{c.status === "IN_PROGRESS" ? "–" : time(c.latest_ack_timestamp)}</td>
                <td>{duration(c.end_to_end_duration)}</td>
                <td>{bytes(c.state_size)}</td>
                <td>{c.alignment_buffered === undefined ? "–" : bytes(c.alignment_buffered)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ExceptionList({ exceptions }: { exceptions: Exceptions | undefined }) {
  if (exceptions === undefined) return null;
  const entries = exceptions.exceptionHistory.entries;
  return (
    <section class="panel" data-testid="exceptions">
      <h2>
        Exceptions <span class="muted">({entries.length})</span>
      </h2>
      {entries.length === 0 ? (
        <p class="muted">No exceptions.</p>
      ) : (
        entries.slice(0, 20).map((e) => (
          <details key={`${e.timestamp}-${e.attempt}-${e.message}`} class="exception">
            <summary>
              <span class="mono">{e.exceptionName}</span>: {e.message}
              <span class="muted">
                {" "}
                — {dateTime(e.timestamp)}, attempt {e.attempt}
                {e.taskName !== null ? `, ${e.taskName}` : ""}
              </span>
            </summary>
            <pre>{e.stacktrace}</pre>
          </details>
        ))
      )}
    </section>
  );
}
