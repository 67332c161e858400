// The JobManager's resource manager: the registered TaskManagers, their slots and heartbeats.
// Slots are requested per attempt and spread over the TaskManagers (the one with the most free
// slots first), so that a job's slots land on as many TaskManagers as it can. A TaskManager that
// misses heartbeats for the timeout, or whose connection closes, is lost: its slots go, and the
// deployments using them are told.

import type { FrameSocket } from "../rpc/frame-socket.ts";
import type { JobManagerToTaskManager, TaskManagerInfo, TaskManagerMetrics } from "../rpc/messages.ts";

export interface RegisteredTaskManager {
  id: string;
  host: string;
  pid: number;
  dataHost: string;
  dataPort: number;
  slots: number;
  free: number;
  socket: FrameSocket;
  lastHeard: number;
  metrics: TaskManagerMetrics | undefined;
}

export class ResourceManager {
  readonly taskManagers = new Map<string, RegisteredTaskManager>();
  private waiters: Array<() => void> = [];
  private checker: NodeJS.Timeout | undefined;

  constructor(
    private readonly heartbeatIntervalMs: number,
    private readonly heartbeatTimeoutMs: number,
    private readonly onLost: (tm: RegisteredTaskManager, why: string) => void,
  ) {}

  start(): void {
    this.checker = setInterval(() => {
      const now = Date.now();
      for (const tm of [...this.taskManagers.values()]) {
        if (now - tm.lastHeard > this.heartbeatTimeoutMs) {
          this.lose(tm, `no heartbeat for ${this.heartbeatTimeoutMs} ms`);
        } else tm.socket.send({ t: "heartbeat" } satisfies JobManagerToTaskManager);
      }
    }, this.heartbeatIntervalMs);
  }

  stop(): void {
    clearInterval(this.checker);
  }

  register(tm: Omit<RegisteredTaskManager, "free" | "lastHeard" | "metrics">): void {
    const old = this.taskManagers.get(tm.id);
    if (old !== undefined) this.lose(old, "it registered again");
    this.taskManagers.set(tm.id, { ...tm, free: tm.slots, lastHeard: Date.now(), metrics: undefined });
    tm.socket.send({
      t: "registered",
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.heartbeatTimeoutMs,
    } satisfies JobManagerToTaskManager);
    this.wake();
  }

  heard(id: string, metrics?: TaskManagerMetrics): void {
    const tm = this.taskManagers.get(id);
    if (tm === undefined) return;
    tm.lastHeard = Date.now();
    if (metrics !== undefined) tm.metrics = metrics;
  }

  lose(tm: RegisteredTaskManager, why: string): void {
    if (this.taskManagers.get(tm.id) !== tm) return;
    this.taskManagers.delete(tm.id);
    tm.socket.destroy();
    this.onLost(tm, why);
  }

  release(id: string): void {
    const tm = this.taskManagers.get(id);
    if (tm === undefined) return;
    tm.free++;
    this.wake();
  }

  get totalSlots(): number {
    let n = 0;
    for (const tm of this.taskManagers.values()) n += tm.slots;
    return n;
  }

  /**
   * `n` slots, spread over the TaskManagers: resolves with the TaskManager of each. Waits up to
   * `timeoutMs` for enough free slots.
   */
  async allocate(n: number, timeoutMs: number, jobName: string): Promise<RegisteredTaskManager[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let free = 0;
      for (const tm of this.taskManagers.values()) free += tm.free;
      if (free >= n) break;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `job '${jobName}' needs ${n} slot(s), but the cluster has ${free} free of ${this.totalSlots} after ${timeoutMs} ms; start more TaskManagers (weir taskmanager --slots N) or lower the job's parallelism`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1_000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const out: RegisteredTaskManager[] = [];
    for (let i = 0; i < n; i++) {
      const tm = [...this.taskManagers.values()].sort(
        (a, b) => b.free - a.free || (a.id < b.id ? -1 : 1),
      )[0]!;
      tm.free--;
      out.push(tm);
    }
    return out;
  }

  info(): TaskManagerInfo[] {
    const now = Date.now();
    return [...this.taskManagers.values()].map((tm) => ({
      id: tm.id,
      host: tm.host,
      pid: tm.pid,
      dataPort: tm.dataPort,
      slotsNumber: tm.slots,
      freeSlots: tm.free,
      timeSinceLastHeartbeat: now - tm.lastHeard,
      metrics: tm.metrics,
    }));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
