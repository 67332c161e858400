// The checkpoint coordinator (JobManager side): triggers checkpoints at the sources on an
// interval, collects every task's acknowledgement, completes a checkpoint by writing its
// metadata atomically, tells the tasks, prunes old checkpoints and the shared files nobody uses
// any more, and aborts checkpoints that time out or are declined. When every task has finished,
// it takes the final checkpoint: the tasks' final states (with the sinks' end-of-input
// committables), published before anything of them is committed. A savepoint is written durably
// before its checkpoint is published: if it cannot be, the checkpoint is aborted and nothing of it
// is committed.

import { WeirError } from "../core/errors.ts";
import type { CheckpointSettings } from "./checkpoint-config.ts";
import { type CheckpointIdSource, CheckpointIds } from "./checkpoint-ids.ts";
import type { CheckpointStorage } from "./checkpoint-storage.ts";
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointMetadata,
  type EdgeLayout,
  type SubtaskStateHandle,
} from "./fs-storage.ts";

/** A task as the coordinator knows it. */
export interface TaskRef {
  vertexId: number;
  subtask: number;
  /** Operators of the task's chain (uids), head first. */
  operators: string[];
  parallelism: number;
  maxParallelism: number;
  isSource: boolean;
  /** The task's network edges, in the order of its input channels and record writers. */
  inputs?: EdgeLayout[];
  outputs?: EdgeLayout[];
}

export interface CheckpointGateway {
  /** Start checkpoint `id` at these source tasks; `alignedOnly` for savepoints. */
  trigger(id: number, sources: TaskRef[], alignedOnly: boolean): void;
  notifyComplete(id: number): void;
  notifyAborted(id: number): void;
}

export interface CompletedCheckpoint {
  id: number;
  path: string;
  metadata: CheckpointMetadata;
  /** Shared files this checkpoint references. */
  shared: string[];
}

interface Pending {
  id: number;
  waiting: Set<string>;
  handles: Map<string, SubtaskStateHandle>;
  enumerators: Record<string, string>;
  /** The timeout; none for the final checkpoint (it aligns nothing, and fails with its attempt). */
  timer: NodeJS.Timeout | undefined;
  /** Who waits for this checkpoint: a savepoint (with `targetDir`), or the final checkpoint. */
  savepoint: { resolve: (path: string) => void; reject: (e: Error) => void; targetDir?: string } | undefined;
  /** The final checkpoint: every task had finished; no task is told, the job master commits. */
  final: boolean;
  startedAt: number;
  /** Shared files it references, once every task has acknowledged (pruning keeps them meanwhile). */
  shared?: string[];
}

export interface CheckpointStats {
  completed: number;
  failed: number;
  lastDurationMs: number;
  lastSizeBytes: number;
}

const key = (vertexId: number, subtask: number) => `${vertexId}/${subtask}`;

export class CheckpointCoordinator {
  private readonly ids: CheckpointIds;
  private readonly pending = new Map<number, Pending>();
  private readonly completed: CompletedCheckpoint[] = [];
  private readonly finished = new Map<string, SubtaskStateHandle>();
  /** Tasks that finished but whose final state could not be written: no checkpoint can complete. */
  private readonly unwritable = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private lastCompletedAt = 0;
  private consecutiveFailures = 0;
  private stopped = false;
  readonly stats: CheckpointStats = { completed: 0, failed: 0, lastDurationMs: 0, lastSizeBytes: 0 };

  constructor(
    private readonly settings: CheckpointSettings,
    private readonly storage: CheckpointStorage,
    private readonly job: { name: string; id: string },
    private readonly tasks: TaskRef[],
    /** Snapshot of every split enumerator (by source uid), taken when a checkpoint is triggered. */
    private snapshotEnumerators: (id: number) => Record<string, string>,
    private gateway: CheckpointGateway,
    private readonly failJob: (e: Error) => void,
    /** Continue numbering after a restored checkpoint. */
    firstId = 1,
    /**
     * Where a completed checkpoint is published before anything of it is committed or pruned
     * (Flink's completed checkpoint store: high availability keeps the latest one's pointer). When
     * it rejects, the checkpoint does not complete: no task is told, nothing is pruned, and its
     * files stay (a new leader may be writing a checkpoint of the same id).
     */
    private readonly publishCompleted?: (c: { id: number; path: string; timestamp: number }) => Promise<void>,
    /** Ids shared with every other JobManager that may run the job (default: counted here). */
    idSource?: CheckpointIdSource,
  ) {
    this.ids = new CheckpointIds(firstId, idSource);
  }

  /** Checkpoints triggered and not completed or aborted yet (the numberOfInProgressCheckpoints metric). */
  get numInProgress(): number {
    return this.pending.size;
  }

  get latest(): CompletedCheckpoint | undefined {
    return this.completed[this.completed.length - 1];
  }

  /** Point the coordinator at a (new) execution attempt. */
  attach(gateway: CheckpointGateway, snapshotEnumerators: (id: number) => Record<string, string>): void {
    this.gateway = gateway;
    this.snapshotEnumerators = snapshotEnumerators;
    this.paused = false;
  }

  /** Start periodic checkpoints. */
  start(): void {
    if (this.settings.interval <= 0) return;
    this.schedule(this.settings.interval);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.periodicTrigger();
    }, delay);
  }

  private paused = false;
  private held = 0;

  /** Stop triggering until the next attach() (the attempt is ending). */
  pause(): void {
    this.paused = true;
  }

  /**
   * Start no periodic checkpoint until release(), across restarts too (stop-with-savepoint: a
   * checkpoint completing after the savepoint would commit output that its restore replays).
   */
  hold(): void {
    this.held++;
  }

  release(): void {
    if (this.held > 0) this.held--;
  }

  private periodicTrigger(): void {
    if (this.stopped) return;
    if (this.paused || this.held > 0) {
      this.schedule(this.settings.interval);
      return;
    }
    const sincePrevious = Date.now() - this.lastCompletedAt;
    const savepointPending = [...this.pending.values()].some((p) => p.savepoint?.targetDir !== undefined);
    if (this.pending.size >= this.settings.maxConcurrentCheckpoints || savepointPending) {
      this.schedule(Math.max(10, this.settings.interval / 4));
      return;
    }
    if (sincePrevious < this.settings.minPauseBetweenCheckpoints) {
      this.schedule(this.settings.minPauseBetweenCheckpoints - sincePrevious);
      return;
    }
    if (!this.ids.available) {
      // The id source has not reserved the next ids yet; a source that failed fails the trigger.
      const error = this.ids.error;
      if (error !== undefined) {
        this.stats.failed++;
        this.tolerate(
          new WeirError(
            "JOB_FAILED",
            `cannot trigger a checkpoint of job '${this.job.name}': no checkpoint id: ${error.message}`,
          ),
        );
      }
      void this.ids.ready().catch(() => {});
      this.schedule(Math.max(10, this.settings.interval / 4));
      return;
    }
    this.trigger(undefined);
    this.schedule(this.settings.interval);
  }

  /**
   * Take a savepoint: a checkpoint now, copied with every file it needs into `targetDir`
   * (self-contained). Resolves with the savepoint's directory once it is durable and its
   * checkpoint published. As in Flink, it starts even when maxConcurrentCheckpoints checkpoints
   * are pending (they are subsumed when it completes); no periodic checkpoint starts while it is
   * pending, so that no newer one subsumes it.
   */
  triggerSavepoint(targetDir: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.trigger({ resolve, reject, targetDir });
    });
  }

  /** Trigger a checkpoint now; with `savepoint`, resolves with its path once complete. */
  trigger(savepoint: Pending["savepoint"]): number | undefined {
    const live = this.tasks.filter((t) => !this.finished.has(key(t.vertexId, t.subtask)));
    const sources = live.filter((t) => t.isSource);
    if (sources.length === 0) {
      savepoint?.reject(new WeirError("JOB_FAILED", "cannot take a checkpoint: every source has finished"));
      return undefined;
    }
    if (!this.ids.available) {
      // Only with a shared id source, between two reservations: trigger once one is there.
      this.ids.ready().then(
        () => this.trigger(savepoint),
        (e: Error) =>
          savepoint?.reject(
            new WeirError("JOB_FAILED", `cannot take a checkpoint: no checkpoint id: ${e.message}`),
          ),
      );
      return undefined;
    }
    const p = this.begin(live, savepoint, false);
    if (p === undefined) return undefined;
    // Savepoints are always aligned: no in-flight data, so they can be restored at any parallelism.
    this.gateway.trigger(p.id, sources, savepoint?.targetDir !== undefined);
    return p.id;
  }

  /**
   * Every task has reached the end of its input: take the final checkpoint. It holds every task's
   * final state (the sinks' end-of-input committables among them) and is triggered at no task:
   * it waits only for the final states still being written (so no timeout applies). Resolves with
   * its path once its metadata is published; only then may the final commits run, so that a
   * failure during them restores from this checkpoint (the committables are committed again, no
   * input is replayed). Rejects when a final state or the metadata cannot be written: the attempt
   * then fails and restarts from the previous checkpoint, before anything of it was committed.
   */
  finalCheckpoint(): Promise<string> {
    if (!this.ids.available) return this.ids.ready().then(() => this.finalCheckpoint());
    return new Promise<string>((resolve, reject) => {
      const live = this.tasks.filter((t) => !this.finished.has(key(t.vertexId, t.subtask)));
      const p = this.begin(live, { resolve, reject }, true);
      if (p !== undefined && p.waiting.size === 0) void this.complete(p);
    });
  }

  /** Register a new pending checkpoint that waits for `live`; finished tasks' final states stand in for the others. */
  private begin(live: TaskRef[], waiter: Pending["savepoint"], final: boolean): Pending | undefined {
    const id = this.ids.take()!;
    const p: Pending = {
      id,
      waiting: new Set(live.map((t) => key(t.vertexId, t.subtask))),
      handles: new Map(),
      enumerators: this.snapshotEnumerators(id),
      timer: final
        ? undefined
        : setTimeout(
            () => this.abort(id, `timed out after ${this.settings.timeout} ms`),
            this.settings.timeout,
          ),
      savepoint: waiter,
      final,
      startedAt: Date.now(),
    };
    for (const [k, h] of this.finished) p.handles.set(k, h);
    this.pending.set(id, p);
    const broken = this.unwritable.entries().next();
    if (!broken.done) {
      const [k, reason] = broken.value;
      this.abort(id, `task ${k} finished, but its final state could not be written: ${reason}`);
      return undefined;
    }
    return p;
  }

  acknowledge(vertexId: number, subtask: number, id: number, handle: SubtaskStateHandle): void {
    const p = this.pending.get(id);
    if (p === undefined) {
      // Aborted meanwhile: the state written for it is garbage (the directory may already be gone).
      if (!this.completed.some((c) => c.id === id)) {
        if (handle.file !== undefined) void this.storage.deleteFile(handle.file);
        void this.storage.discardCheckpoint(id);
      }
      return;
    }
    const k = key(vertexId, subtask);
    // Only the acknowledgement that removes the last task waited for completes the checkpoint: a
    // second one (a duplicate, or the task's final state counted first) arriving while its
    // metadata is written would complete it again, and that completion, finding it no longer
    // pending, would remove it as aborted.
    if (!p.waiting.delete(k)) return;
    p.handles.set(k, handle);
    if (p.waiting.size === 0) void this.complete(p);
  }

  decline(id: number, reason: string): void {
    this.abort(id, reason);
  }

  /**
   * A task finished: it acknowledges no more checkpoints; its final state (`handle`) stands in for
   * it in every checkpoint from now on, and those waiting for it count it done. With `error`, the
   * final state could not be written: every checkpoint from now on fails (the final one too, so the
   * attempt fails and restarts from an earlier checkpoint, before anything of it was committed).
   */
  taskFinished(vertexId: number, subtask: number, handle: SubtaskStateHandle, error?: string): void {
    const k = key(vertexId, subtask);
    this.finished.set(k, handle);
    if (error !== undefined) {
      this.unwritable.set(k, error);
      for (const p of [...this.pending.values()])
        this.abort(p.id, `task ${k} finished, but its final state could not be written: ${error}`);
      return;
    }
    for (const p of [...this.pending.values()]) {
      if (p.waiting.delete(k)) {
        p.handles.set(k, handle);
        if (p.waiting.size === 0) void this.complete(p);
      }
    }
  }

  /** A new execution attempt starts (after a failure): pending checkpoints are void, no task has finished. */
  resetForRestart(): void {
    for (const p of [...this.pending.values()]) this.abort(p.id, "the job is restarting", false);
    this.finished.clear();
    this.unwritable.clear();
  }

  private async complete(p: Pending): Promise<void> {
    clearTimeout(p.timer);
    const tasks: CheckpointMetadata["tasks"] = {};
    const shared = new Set<string>();
    let size = 0;
    for (const t of this.tasks) {
      const h = p.handles.get(key(t.vertexId, t.subtask))!;
      size += h.size;
      for (const f of Object.values(h.keyGroups ?? {})) shared.add(f);
      const entry = (tasks[String(t.vertexId)] ??= {
        operators: t.operators,
        parallelism: t.parallelism,
        maxParallelism: t.maxParallelism,
        subtasks: [],
        ...(t.inputs !== undefined ? { inputs: t.inputs } : {}),
        ...(t.outputs !== undefined ? { outputs: t.outputs } : {}),
      });
      entry.subtasks.push(h);
    }
    const metadata: CheckpointMetadata = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_FORMAT_VERSION,
      checkpointId: p.id,
      savepoint: false,
      jobName: this.job.name,
      jobId: this.job.id,
      timestamp: Date.now(),
      tasks,
      enumerators: p.enumerators,
      // Savepoints are aligned: no in-flight data.
      // (A final checkpoint holds finished tasks' final states: no in-flight data either.)
      inFlightData:
        !p.final &&
        this.settings.unaligned &&
        this.settings.mode === "EXACTLY_ONCE" &&
        p.savepoint?.targetDir === undefined,
    };
    // Pruning keeps the files this checkpoint references while it is published (a savepoint
    // copies them), and no newer checkpoint subsumes it from here on: it has every acknowledgement.
    p.shared = [...shared];
    const target = p.savepoint?.targetDir;
    let savepointDir: string | undefined;
    if (target !== undefined) {
      // Durable before anything of it is committed, and before the checkpoints it replaces go.
      try {
        savepointDir = await this.storage.writeSavepoint(metadata, target);
      } catch (e) {
        this.abort(p.id, (e as Error).message);
        return;
      }
    }
    let path: string;
    try {
      path = await this.storage.writeMetadata(p.id, metadata);
    } catch (e) {
      // Aborted meanwhile (a restart removed its directory): not a failure of the next attempt.
      if (this.pending.has(p.id)) this.abort(p.id, `cannot write its metadata: ${(e as Error).message}`);
      await this.discardUnpublished(p.id, savepointDir);
      return;
    }
    if (this.publishCompleted !== undefined && this.pending.has(p.id)) {
      try {
        await this.publishCompleted({ id: p.id, path, timestamp: metadata.timestamp });
      } catch (e) {
        if (this.pending.delete(p.id)) {
          this.gateway.notifyAborted(p.id);
          this.failed(p, `cannot publish it: ${(e as Error).message}`);
        }
        return;
      }
    }
    if (!this.pending.delete(p.id)) {
      // Aborted while its metadata was written: the abort's removal may have run before the
      // rename, which would leave a chk-N that looks complete without its files.
      await this.discardUnpublished(p.id, savepointDir);
      return;
    }
    // Checkpoints complete in order; an older pending one is subsumed, unless it is being
    // published (every task has acknowledged it): it completes, in id order among the completed.
    for (const older of [...this.pending.values()]) {
      if (older.id < p.id && older.shared === undefined)
        this.abort(older.id, "subsumed by a newer checkpoint", false);
    }
    const at = this.completed.findIndex((c) => c.id > p.id);
    const entry = { id: p.id, path, metadata, shared: [...shared] };
    if (at < 0) this.completed.push(entry);
    else this.completed.splice(at, 0, entry);
    this.lastCompletedAt = Date.now();
    this.consecutiveFailures = 0;
    this.stats.completed++;
    this.stats.lastDurationMs = Date.now() - p.startedAt;
    this.stats.lastSizeBytes = size;
    // The final checkpoint's completion is announced by the job master: it runs the final commits.
    if (!p.final) this.gateway.notifyComplete(p.id);
    p.savepoint?.resolve(savepointDir ?? path);
    await this.prune();
  }

  /** Keep the newest `retainedCheckpoints`; delete the others and shared files no longer referenced. */
  private async prune(): Promise<void> {
    while (this.completed.length > this.settings.retainedCheckpoints) {
      const old = this.completed.shift()!;
      await this.storage.discardCheckpoint(old.id);
      const inUse = new Set(this.completed.flatMap((c) => c.shared));
      for (const p of this.pending.values()) for (const f of p.shared ?? []) inUse.add(f);
      for (const f of old.shared) if (!inUse.has(f)) await this.storage.deleteShared(f);
    }
  }

  /** A checkpoint aborted while it was published: remove what it wrote (its savepoint too). */
  private async discardUnpublished(id: number, savepointDir: string | undefined): Promise<void> {
    await this.storage.discardCheckpoint(id);
    if (savepointDir !== undefined) await this.storage.discardSavepoint(savepointDir);
  }

  private abort(id: number, reason: string, countAsFailure = true): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    this.gateway.notifyAborted(id);
    void this.storage.discardCheckpoint(id);
    if (countAsFailure) this.failed(p, reason);
    else p.savepoint?.reject(new WeirError("JOB_FAILED", `checkpoint ${id} was aborted: ${reason}`));
  }

  private failed(p: Pending, reason: string): void {
    this.stats.failed++;
    const what = p.final ? "the final checkpoint" : "checkpoint";
    const err = new WeirError("JOB_FAILED", `${what} ${p.id} of job '${this.job.name}' failed: ${reason}`);
    p.savepoint?.reject(err);
    if (p.savepoint === undefined) this.tolerate(err);
  }

  /** A checkpoint failed: fail the job when more have failed in a row than are tolerated. */
  private tolerate(err: WeirError): void {
    this.consecutiveFailures++;
    if (this.consecutiveFailures > this.settings.tolerableFailedCheckpoints) {
      this.failJob(
        new WeirError(
          "JOB_FAILED",
          `${err.message}; ${this.consecutiveFailures} checkpoint(s) failed in a row, more than the ${this.settings.tolerableFailedCheckpoints} tolerated (setTolerableCheckpointFailureNumber)`,
        ),
      );
    }
  }

  /** Stop triggering; abort what is pending. With `discard`, delete every checkpoint of this run. */
  async stop(discard: boolean): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const p of [...this.pending.values()]) {
      clearTimeout(p.timer);
      this.pending.delete(p.id);
      p.savepoint?.reject(new WeirError("JOB_FAILED", "the job stopped before the savepoint completed"));
      await this.storage.discardCheckpoint(p.id);
    }
    if (discard) await this.storage.deleteAll();
  }
}
