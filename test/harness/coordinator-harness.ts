// The checkpoint coordinator on its own, without a job, for coordinator-unit.test.ts and
// coordinator-edges.test.ts: Node's mock timers (setTimeout and Date), so every timeout and pause
// is exact, and the real file-system storage in a temporary directory, with every removal recorded.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, type TestContext } from "node:test";
import {
  type CheckpointSettings,
  DEFAULT_CHECKPOINT_SETTINGS,
} from "../../src/checkpoint/checkpoint-config.ts";
import type { CheckpointIdSource } from "../../src/checkpoint/checkpoint-ids.ts";
import { CheckpointCoordinator, type TaskRef } from "../../src/checkpoint/coordinator.ts";
import {
  type DurableFs,
  FsCheckpointStorage,
  nodeDurableFs,
  type SubtaskStateHandle,
} from "../../src/checkpoint/fs-storage.ts";

const mockedTimers = new WeakSet<TestContext>();
export const root = mkdtempSync(join(tmpdir(), "weir-coordinator-"));
after(() => rmSync(root, { recursive: true, force: true }));
let jobs = 0;
/** The job name the coordinator puts in its messages (a test file may set its own). */
export const harnessJob = { name: "unit" };

/** A one-subtask task of vertex `vertexId` running operator `op<vertexId>`. */
export const task = (vertexId: number, isSource: boolean, operator = `op${vertexId}`): TaskRef => ({
  vertexId,
  subtask: 0,
  operators: [operator],
  parallelism: 1,
  maxParallelism: 128,
  isSource,
});
export const SOURCE = task(1, true, "src");
export const SINK = task(2, false, "sink");

export interface Harness {
  coordinator: CheckpointCoordinator;
  storage: FsCheckpointStorage;
  /** Every path removed through the storage, relative to the job root, in order. */
  removed: string[];
  triggered: number[];
  completed: number[];
  aborted: number[];
  failures: Error[];
  /** For each notified checkpoint: was its metadata on disk when the tasks were told? */
  publishedBeforeNotify: boolean[];
  /** Runs when the coordinator fails the job (a job master stops it). */
  onFailure?: () => void;
  /** A task's state for checkpoint `id`, written as a real state file (and shared files). */
  write(task: TaskRef, id: number, shared?: Record<string, string>): Promise<SubtaskStateHandle>;
  /** Write a task's state for checkpoint `id` and acknowledge it. */
  ack(task: TaskRef, id: number, shared?: Record<string, string>): Promise<SubtaskStateHandle>;
}

export function harness(
  t: TestContext,
  overrides: Partial<CheckpointSettings> = {},
  tasks = [SOURCE, SINK],
  baseFs: DurableFs = nodeDurableFs,
  /** Where completed checkpoints are published before the tasks are told (high availability). */
  publish?: (c: { id: number; path: string; timestamp: number }) => Promise<void>,
  /** Checkpoint ids shared with other JobManagers (high availability), and the first to ask for. */
  ids?: { source: CheckpointIdSource; first?: number },
): Harness {
  if (!mockedTimers.has(t)) {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
    mockedTimers.add(t);
  }
  const settings: CheckpointSettings = {
    ...DEFAULT_CHECKPOINT_SETTINGS,
    interval: 100,
    timeout: 1000,
    directory: root,
    ...overrides,
  };
  const removed: string[] = [];
  const jobRoot = join(root, `job-${++jobs}`);
  const fs: DurableFs = {
    ...baseFs,
    remove: (path) => {
      removed.push(relative(jobRoot, path));
      return baseFs.remove(path);
    },
  };
  const storage = new FsCheckpointStorage(root, `job-${jobs}`, fs);
  const h: Harness = {
    storage,
    removed,
    triggered: [],
    completed: [],
    aborted: [],
    failures: [],
    publishedBeforeNotify: [],
    coordinator: undefined as unknown as CheckpointCoordinator,
    async write(task, id, shared) {
      const name = task.subtask === 0 ? `task-${task.vertexId}` : `task-${task.vertexId}-${task.subtask}`;
      const { path, size } = await storage.writeTaskState(id, name, { id });
      for (const f of Object.values(shared ?? {}))
        await storage.writeShared(f.replace(/^shared\/|\.kg$/g, ""), { f });
      return { subtask: task.subtask, file: path, keyGroups: shared, size, finished: false };
    },
    async ack(task, id, shared) {
      const handle = await h.write(task, id, shared);
      h.coordinator.acknowledge(task.vertexId, task.subtask, id, handle);
      return handle;
    },
  };
  h.coordinator = new CheckpointCoordinator(
    settings,
    storage,
    { name: harnessJob.name, id: "job" },
    tasks,
    () => ({}),
    {
      trigger: (id) => h.triggered.push(id),
      notifyComplete: (id) => {
        h.completed.push(id);
        h.publishedBeforeNotify.push(existsSync(join(storage.checkpointDir(id), "_metadata")));
      },
      notifyAborted: (id) => h.aborted.push(id),
    },
    (e) => {
      h.failures.push(e);
      h.onFailure?.();
    },
    ids?.first ?? 1,
    publish,
    ids?.source,
  );
  t.after(() => h.coordinator.stop(false));
  return h;
}

/** Wait for the coordinator's asynchronous file work (not for time: the timers are mocked). */
export async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

let savepoints = 0;
/** A fresh directory name under the harness root for a savepoint. */
export const savepointDir = (name: string): string => join(root, `${name}-${++savepoints}`);

/** An in-memory checkpoint id source like the etcd counter: every reservation recorded; `fail`
 * makes reservations reject, `hold` delays them until it resolves. */
export interface TestIdSource extends CheckpointIdSource {
  next: number;
  calls: Array<[number, number]>;
  fail: Error | undefined;
  hold: Promise<void> | undefined;
}

export function testIdSource(): TestIdSource {
  const c: TestIdSource = {
    next: 1,
    calls: [],
    fail: undefined,
    hold: undefined,
    async reserve(count, atLeast) {
      c.calls.push([count, atLeast]);
      await c.hold;
      if (c.fail !== undefined) throw c.fail;
      const first = Math.max(c.next, atLeast);
      c.next = first + count;
      return first;
    },
  };
  return c;
}
