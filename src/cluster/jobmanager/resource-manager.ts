// The JobManager's resource manager: the registered TaskManagers, their slots and heartbeats.
// Slots are requested per attempt (one per slot of each slot sharing group) and placed as Flink
// does: packed by default (fill one TaskManager before the next), or spread over the TaskManagers
// (Flink's cluster.evenly-spread-out-slots: the one with the most free slots first). A TaskManager
// that misses heartbeats for the timeout, or whose connection closes, is lost: its slots go, and
// the deployments using them are told.

import type { ExecutionGraph } from "../../graph/execution-graph.ts";
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

/** Where the slots of an attempt go: `pack` fills one TaskManager first, `spread` evens them out. */
export type SlotPlacement = "pack" | "spread";
export const SLOT_PLACEMENTS: readonly SlotPlacement[] = ["pack", "spread"];

/** A TaskManager as placement sees it. */
export interface SlotOffer {
  readonly id: string;
  readonly free: number;
}

/**
 * The TaskManager of each of `n` slots, taken from `offers` (not changed); undefined when they have
 * fewer than `n` free slots. `pack` takes the TaskManager with the fewest free slots that has one
 * (so partly used ones fill up first and whole ones stay free), `spread` the one with the most;
 * ties go to the lower id, so placement is deterministic.
 */
export function placeSlots(
  offers: readonly SlotOffer[],
  n: number,
  placement: SlotPlacement,
): string[] | undefined {
  const free = new Map(offers.map((o) => [o.id, o.free]));
  const ids = [...free.keys()].sort();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let best: string | undefined;
    for (const id of ids) {
      const f = free.get(id)!;
      if (f <= 0) continue;
      const b = best === undefined ? undefined : free.get(best)!;
      if (b === undefined || (placement === "pack" ? f < b : f > b)) best = id;
    }
    if (best === undefined) return undefined;
    free.set(best, free.get(best)! - 1);
    out.push(best);
  }
  return out;
}

/** How a job comes to its slot count, for errors: " (slot sharing groups 'default' 2, 'b' 1)". */
export function slotNeeds(eg: ExecutionGraph): string {
  const groups = eg.slotSharingGroups.map((g) => `'${g.name}' ${g.slots}`).join(", ");
  return ` (slot sharing group${eg.slotSharingGroups.length === 1 ? "" : "s"} ${groups})`;
}

export class ResourceManager {
  readonly taskManagers = new Map<string, RegisteredTaskManager>();
  private waiters: Array<() => void> = [];
  private checker: NodeJS.Timeout | undefined;

  constructor(
    private readonly heartbeatIntervalMs: number,
    private readonly heartbeatTimeoutMs: number,
    private readonly onLost: (tm: RegisteredTaskManager, why: string) => void,
    readonly placement: SlotPlacement = "pack",
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
   * `n` slots, placed as `placement` says: resolves with the TaskManager of each. Waits up to
   * `timeoutMs` for enough free slots, then fails naming what is needed (`needs` says how the job
   * comes to `n`: its slot sharing groups) and what is there.
   */
  async allocate(
    n: number,
    timeoutMs: number,
    jobName: string,
    needs = "",
  ): Promise<RegisteredTaskManager[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ids = placeSlots([...this.taskManagers.values()], n, this.placement);
      if (ids !== undefined) {
        return ids.map((id) => {
          const tm = this.taskManagers.get(id)!;
          tm.free--;
          return tm;
        });
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        let free = 0;
        for (const tm of this.taskManagers.values()) free += tm.free;
        throw new Error(
          `job '${jobName}' needs ${n} slot(s)${needs}, but the cluster has ${free} free of ${this.totalSlots} on ${this.taskManagers.size} TaskManager(s) after waiting ${timeoutMs} ms (--slot-timeout); start more TaskManagers (weir taskmanager --slots N), lower the job's parallelism or use fewer slot sharing groups`,
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
