// Runs the tasks of one thread (a slot, or the whole job in in-thread mode) cooperatively: round
// after round, each task takes one bounded step; the event loop gets a turn (for channel messages
// from other threads, timers, I/O) between rounds and, within a round, whenever YIELD_AFTER_MS of
// work have passed since its last turn. With no work, it sleeps until a channel, a reader or a
// buffer-timeout deadline wakes it.

import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { StreamTask } from "./stream-task.ts";

export interface TaskFailureReport {
  task: StreamTask;
  error: unknown;
}

const MAX_SLEEP_MS = 50;
/**
 * Work after which the event loop gets a turn even in the middle of a round: with many busy tasks
 * (or slow records) a round can take long, and timers (periodic checkpoints, metric reports) and
 * I/O (checkpoint writes) must not wait for its end.
 */
const YIELD_AFTER_MS = 10;

/** run() ended because of cancel(). */
export class CancelledSignal extends Error {
  constructor() {
    super("cancelled");
  }
}

export class TaskExecutor {
  readonly tasks: StreamTask[] = [];
  private wakeResolve: (() => void) | null = null;
  private woken = false;
  private cancelled = false;
  private failure: TaskFailureReport | undefined;

  /** Bound once so that channels and readers can call it directly. */
  readonly wake = (): void => {
    this.woken = true;
    const r = this.wakeResolve;
    if (r !== null) {
      this.wakeResolve = null;
      r();
    }
  };

  add(task: StreamTask): void {
    this.tasks.push(task);
  }

  private external: Error | undefined;

  cancel(): void {
    this.cancelled = true;
    this.wake();
  }

  /** Stop every task because of a failure outside them; run() rejects with `error`. */
  failWith(error: Error): void {
    this.external ??= error;
    this.cancel();
  }

  /** Run every task to the end. Rejects with the first task failure (as a TaskFailureReport). */
  async run(): Promise<void> {
    try {
      for (const t of this.tasks) await this.guard(t, () => t.open());
      let lastTurn = performance.now();
      while (!this.cancelled) {
        this.woken = false;
        let work = false;
        let unfinished = 0;
        for (const t of this.tasks) {
          if (t.state === "running") {
            let did = false;
            const start = performance.now();
            try {
              did = t.step();
            } catch (e) {
              throw this.fail(t, e);
            }
            const end = performance.now();
            t.metrics.account(start, end, did);
            work = work || did;
            if (end - lastTurn > YIELD_AFTER_MS) {
              await yieldToEventLoop();
              lastTurn = performance.now();
              if (this.cancelled) break;
            }
          }
          if (t.state === "finishing") {
            await this.guard(t, () => t.finish());
            work = true;
          }
          if (t.state !== "finished") unfinished++;
        }
        if (this.cancelled) break;
        const now = performance.now();
        let nextFlush = Number.POSITIVE_INFINITY;
        let nextTimer = Number.POSITIVE_INFINITY;
        for (const t of this.tasks) {
          if (t.state !== "running") continue;
          const due = t.flushTimedOut(now);
          if (due < nextFlush) nextFlush = due;
          const timer = t.nextTimerDue() - t.setup.processingTime.now();
          if (timer < nextTimer) nextTimer = timer;
        }
        if (unfinished === 0) return;
        if (work) {
          await yieldToEventLoop();
          lastTurn = performance.now();
        } else if (!this.woken) {
          const sleep = Math.max(0, Math.min(MAX_SLEEP_MS, nextFlush - now, nextTimer));
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              this.wakeResolve = null;
              resolve();
            }, sleep);
            this.wakeResolve = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          lastTurn = performance.now();
        }
      }
      await this.abortAll(this.external === undefined ? "cancelled" : "failed");
    } catch (e) {
      await this.abortAll("failed");
      throw e;
    }
    throw this.external ?? new CancelledSignal();
  }

  private async guard(t: StreamTask, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (e) {
      throw this.fail(t, e);
    }
  }

  private fail(task: StreamTask, error: unknown): TaskFailureReport {
    this.failure ??= { task, error };
    return this.failure;
  }

  /** After the job has finished everywhere: final commits, then close every task. */
  async completeAll(): Promise<void> {
    for (const t of this.tasks) {
      try {
        await t.complete();
      } catch (e) {
        await this.abortAll("failed");
        throw this.fail(t, e);
      }
    }
  }

  /** Stop every task (after a failure elsewhere, or a cancel). */
  async abortAll(state: "failed" | "cancelled"): Promise<void> {
    for (const t of this.tasks) await t.abort(state);
  }
}
