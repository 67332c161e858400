// The metrics of one subtask: its scope, where its time went (busy, backpressured, idle: the
// executor accounts each step), the rates of its counts, and its operators' metric groups (where
// user functions register theirs). The record counts themselves stay where they are counted
// (operators, outputs, writers, channels), as plain number fields.

import { DEFAULT_CREDITS_PER_CHANNEL } from "../../network/channel.ts";
import { MeterView } from "./meter-view.ts";
import { MetricGroupImpl, OPERATOR_SCOPE } from "./metric-group.ts";
import { SubtaskCheckpointTracker } from "./subtask-checkpoint-stats.ts";

export interface TaskMetricScope {
  jobId: string;
  jobName: string;
  taskName: string;
  vertexId: number;
  subtaskIndex: number;
  attempt: number;
}

export class TaskMetricGroup {
  /** Milliseconds spent in steps that did work. */
  busyMs = 0;
  /** Milliseconds the task could not run because its output had no room. */
  backPressuredMs = 0;
  /** Milliseconds with nothing to do (or waiting for the other tasks of the thread). */
  idleMs = 0;
  /** The last step found the output full. */
  backPressured = false;
  private accountedUntil = -1;
  private readonly rates = new Map<string, MeterView>();
  /** The subtask's recent checkpoints: start delay, alignment, synchronous part, acknowledgement. */
  readonly checkpoints = new SubtaskCheckpointTracker();
  /** Operator groups by uid, created when a function asks for one (or a snapshot reads it). */
  readonly operators = new Map<string, MetricGroupImpl>();

  constructor(
    readonly scope: TaskMetricScope,
    /** Credits per input channel: the buffers a channel may hold (for inPoolUsage). */
    readonly inputCredits: number = DEFAULT_CREDITS_PER_CHANNEL,
  ) {}

  /** Called by the executor around each step: the time before it, and the step itself. */
  account(start: number, end: number, didWork: boolean): void {
    if (this.accountedUntil >= 0 && start > this.accountedUntil) {
      if (this.backPressured) this.backPressuredMs += start - this.accountedUntil;
      else this.idleMs += start - this.accountedUntil;
    }
    const step = end - start;
    if (didWork) this.busyMs += step;
    else if (this.backPressured) this.backPressuredMs += step;
    else this.idleMs += step;
    this.accountedUntil = end;
  }

  /** Per source split: ms it was seen idle (sampled at each snapshot), and what the last one saw. */
  private readonly splitIdle = new Map<string, { idleMs: number; at: number; idle: boolean }>();

  /**
   * A split's idle time so far: the time since the previous snapshot counts as idle when the split
   * was idle then (sampled, not measured per record).
   */
  splitIdleMs(splitId: string, idle: boolean, nowMs: number): number {
    let s = this.splitIdle.get(splitId);
    if (s === undefined) {
      s = { idleMs: 0, at: nowMs, idle };
      this.splitIdle.set(splitId, s);
    }
    if (s.idle) s.idleMs += nowMs - s.at;
    s.at = nowMs;
    s.idle = idle;
    return s.idleMs;
  }

  /** When this attempt's counts started (performance.now()): every count is 0 then. */
  private readonly startedAt = performance.now();

  /**
   * The rate per second of a count, over the meter window (sampled now). Every meter starts from a
   * sample of 0 at the task's start, so the first snapshot (a worker thread's first report, a second
   * in) already has a rate, rather than 0 until a second sample.
   */
  rate(key: string, count: number, nowMs: number): number {
    let m = this.rates.get(key);
    if (m === undefined) {
      m = new MeterView();
      if (nowMs > this.startedAt) m.sample(0, this.startedAt);
      this.rates.set(key, m);
    }
    m.sample(count, nowMs);
    return m.getRate();
  }

  /** The metric group of one operator of this task. */
  operator(uid: string, name: string): MetricGroupImpl {
    let g = this.operators.get(uid);
    if (g === undefined) {
      const s = this.scope;
      g = new MetricGroupImpl(OPERATOR_SCOPE, {
        job_id: s.jobId,
        job_name: s.jobName,
        task_name: s.taskName,
        task_id: String(s.vertexId),
        subtask_index: String(s.subtaskIndex),
        task_attempt_num: String(s.attempt),
        operator_name: name,
        operator_id: uid,
      });
      this.operators.set(uid, g);
    }
    return g;
  }
}
