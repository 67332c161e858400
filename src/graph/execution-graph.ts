// ExecutionGraph: every JobVertex expanded into its parallel subtasks, every JobEdge into the
// channels between producer and consumer subtasks, and every subtask placed in a slot.
// Slot sharing: subtask i of every vertex of a slot sharing group goes to that group's slot i, so
// a group needs as many slots as its highest parallelism, and a job the sum over its groups.

import { consumersOf } from "../runtime/partitioners.ts";
import type { JobEdge, JobGraph, JobVertex } from "./job-graph.ts";

export interface ExecutionChannel {
  readonly id: number;
  readonly edge: JobEdge;
  readonly producer: number;
  readonly consumer: number;
  /** Index of this channel among the producer subtask's subpartitions of this edge. */
  readonly subpartition: number;
}

export interface ExecutionSubtask {
  readonly vertex: JobVertex;
  readonly index: number;
  readonly slot: number;
}

export interface ExecutionGraph {
  readonly jobGraph: JobGraph;
  readonly subtasks: ExecutionSubtask[];
  readonly channels: ExecutionChannel[];
  /** The slots of each slot sharing group (its highest parallelism), in slot order. */
  readonly slotSharingGroups: readonly SlotSharingGroupSlots[];
  /** The sum over the slot sharing groups of their slots: what the job needs. */
  readonly numSlots: number;
}

export interface SlotSharingGroupSlots {
  readonly name: string;
  readonly slots: number;
}

export function buildExecutionGraph(jobGraph: JobGraph): ExecutionGraph {
  const groupSlots = new Map<string, number>();
  for (const v of jobGraph.vertices) {
    groupSlots.set(v.slotSharingGroup, Math.max(groupSlots.get(v.slotSharingGroup) ?? 0, v.parallelism));
  }
  const groupOffset = new Map<string, number>();
  const slotSharingGroups: SlotSharingGroupSlots[] = [];
  let numSlots = 0;
  for (const [group, n] of groupSlots) {
    groupOffset.set(group, numSlots);
    slotSharingGroups.push({ name: group, slots: n });
    numSlots += n;
  }
  const subtasks: ExecutionSubtask[] = [];
  for (const v of jobGraph.vertices) {
    const offset = groupOffset.get(v.slotSharingGroup)!;
    for (let i = 0; i < v.parallelism; i++) subtasks.push({ vertex: v, index: i, slot: offset + i });
  }
  const channels: ExecutionChannel[] = [];
  for (const e of jobGraph.edges) {
    const p = e.source.parallelism;
    const c = e.target.parallelism;
    for (let i = 0; i < p; i++) {
      consumersOf(e.streamEdge.partitioner.kind, i, p, c).forEach((consumer, subpartition) => {
        channels.push({ id: channels.length, edge: e, producer: i, consumer, subpartition });
      });
    }
  }
  return { jobGraph, subtasks, channels, slotSharingGroups, numSlots };
}
