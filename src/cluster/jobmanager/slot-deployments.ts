// The deployments of the JobManager: each attempt's task workers on TaskManager slots. A
// deployment sends every TaskManager its share, routes the workers' messages to the attempt's
// coordinator, frees a slot when its worker exits, and, when a TaskManager is lost, fails its
// slots (the attempt then fails over).

import type { SlotListener, SlotRunner } from "../attempt-coordinator.ts";
import type { WorkerData } from "../protocol.ts";
import type { ArtifactRef, JobManagerToTaskManager, TaskManagerToJobManager } from "../rpc/messages.ts";
import type { RegisteredTaskManager, ResourceManager } from "./resource-manager.ts";

interface Deployment {
  listeners: SlotListener[];
  tmOf: string[];
  live: Set<number>;
  exitResolvers: Array<() => void>;
}

export class SlotDeployments {
  private readonly deployments = new Map<number, Deployment>();
  private deploymentCounter = 0;

  constructor(
    private readonly resources: ResourceManager,
    private readonly log: (level: "INFO" | "WARN" | "ERROR", line: string) => void,
  ) {}

  fromWorker(m: Extract<TaskManagerToJobManager, { t: "worker" | "worker-error" | "worker-exit" }>): void {
    const listener = this.deployments.get(m.deployment)?.listeners[m.slot];
    if (m.t === "worker") listener?.message(m.m);
    else if (m.t === "worker-error")
      listener?.crashed(Object.assign(new Error(m.message), { stack: m.stack }));
    else this.slotExited(m.deployment, m.slot, m.code, true);
  }

  /** A TaskManager is gone: each of its slots crashed and exited. */
  lost(tm: RegisteredTaskManager, why: string): void {
    for (const [id, d] of [...this.deployments]) {
      for (const slot of [...d.live]) {
        if (d.tmOf[slot] !== tm.id) continue;
        d.listeners[slot]?.crashed(new Error(`TaskManager ${tm.id} was lost: ${why}`));
        this.slotExited(id, slot, "TaskManager lost", false);
      }
    }
  }

  deploy(
    jobId: string,
    data: WorkerData[],
    listeners: SlotListener[],
    tms: RegisteredTaskManager[],
    artifact: ArtifactRef | undefined,
  ): SlotRunner[] {
    const deployment = ++this.deploymentCounter;
    const d: Deployment = {
      listeners,
      tmOf: tms.map((t) => t.id),
      live: new Set(data.map((_, i) => i)),
      exitResolvers: [],
    };
    this.deployments.set(deployment, d);
    const runners = data.map((_, slot): SlotRunner => {
      const tm = tms[slot]!;
      const exited = new Promise<void>((resolve) => {
        d.exitResolvers[slot] = resolve;
      });
      return {
        post: (m) =>
          tm.socket.send({ t: "to-worker", deployment, slot, m } satisfies JobManagerToTaskManager),
        terminate: () => {
          if (!d.live.has(slot)) return;
          if (this.resources.taskManagers.get(tm.id) === tm) {
            tm.socket.send({ t: "terminate", deployment, slot } satisfies JobManagerToTaskManager);
          } else this.slotExited(deployment, slot, "TaskManager lost", false);
        },
        exited,
      };
    });
    const placement = tms.map((t) => ({ tm: t.id, dataHost: t.dataHost, dataPort: t.dataPort }));
    for (const tm of new Set(tms)) {
      tm.socket.send({
        t: "deploy",
        deployment,
        workers: data.filter((_, slot) => tms[slot] === tm),
        placement,
        artifact,
      } satisfies JobManagerToTaskManager);
    }
    this.log("INFO", `job ${jobId}: deployment ${deployment} on ${[...new Set(d.tmOf)].join(", ")}`);
    const slotsOf = new Map<string, number[]>();
    d.tmOf.forEach((id, slot) => {
      slotsOf.set(id, [...(slotsOf.get(id) ?? []), slot]);
    });
    const where = [...slotsOf].map(([id, slots]) => `${id} [${slots.join(", ")}]`).join(", ");
    this.log("INFO", `job ${jobId}: deployment ${deployment} slots: ${where}`);
    return runners;
  }

  private slotExited(deployment: number, slot: number, code: number | string, release: boolean): void {
    const d = this.deployments.get(deployment);
    if (d === undefined || !d.live.delete(slot)) return;
    if (release) this.resources.release(d.tmOf[slot]!);
    d.exitResolvers[slot]?.();
    d.listeners[slot]?.exited(code);
    if (d.live.size === 0) this.deployments.delete(deployment);
  }
}
