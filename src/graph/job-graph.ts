// JobGraph: stream nodes fused into chains. A chain runs as one task per parallel subtask, its
// operators calling each other directly. An edge is chained when it is a forward edge between
// nodes of equal parallelism and slot sharing group, the target has no other input, and neither
// side opted out (disableChaining / startNewChain / chaining off for the job). A hash (keyBy)
// edge between two nodes of parallelism 1 is chained too: its one consumer owns every key group,
// so the edge would only serialize each record and hand it to the next task of the same slot.
// Keyed state stays by key group (a keyed operator that is not a chain head hashes its keys), so
// a checkpoint of the chained job restores at any parallelism, and back; in-flight data of the
// edge (unaligned checkpoints at p > 1) is restored into the chain as records.

import type { StreamEdge, StreamGraph, StreamNode } from "./stream-graph.ts";

export interface JobVertex {
  readonly id: number;
  readonly name: string;
  /** Chained nodes, head first, in topological order. */
  readonly nodes: StreamNode[];
  readonly head: StreamNode;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly slotSharingGroup: string;
  readonly inputs: JobEdge[];
  readonly outputs: JobEdge[];
}

export interface JobEdge {
  readonly id: number;
  readonly source: JobVertex;
  readonly target: JobVertex;
  readonly streamEdge: StreamEdge;
}

export interface JobGraph {
  readonly jobName: string;
  readonly vertices: JobVertex[];
  readonly edges: JobEdge[];
}

export function isChainable(edge: StreamEdge, chainingEnabled: boolean): boolean {
  const { source, target } = edge;
  return (
    chainingEnabled &&
    target.inEdges.length === 1 &&
    (edge.partitioner.kind === "forward" || (edge.partitioner.kind === "hash" && target.parallelism === 1)) &&
    source.parallelism === target.parallelism &&
    source.slotSharingGroup === target.slotSharingGroup &&
    target.chaining === "default" &&
    source.chaining !== "never"
  );
}

export function buildJobGraph(graph: StreamGraph, chainingEnabled: boolean): JobGraph {
  const vertexOf = new Map<number, JobVertex>();
  const vertices: JobVertex[] = [];
  for (const node of graph.nodes) {
    const inEdge = node.inEdges.length === 1 ? node.inEdges[0]! : undefined;
    if (inEdge !== undefined && isChainable(inEdge, chainingEnabled)) {
      const v = vertexOf.get(inEdge.source.id)!;
      v.nodes.push(node);
      vertexOf.set(node.id, v);
      continue;
    }
    const v: JobVertex = {
      id: vertices.length + 1,
      name: node.name,
      nodes: [node],
      head: node,
      parallelism: node.parallelism,
      maxParallelism: node.maxParallelism,
      slotSharingGroup: node.slotSharingGroup,
      inputs: [],
      outputs: [],
    };
    vertices.push(v);
    vertexOf.set(node.id, v);
  }
  const edges: JobEdge[] = [];
  for (const v of vertices) {
    (v as { name: string }).name = v.nodes.map((n) => n.name).join(" -> ");
    for (const node of v.nodes) {
      for (const e of node.outEdges) {
        const target = vertexOf.get(e.target.id)!;
        if (target === v) continue; // a chained edge: a direct call inside the task
        const je: JobEdge = { id: edges.length, source: v, target, streamEdge: e };
        edges.push(je);
        v.outputs.push(je);
        target.inputs.push(je);
      }
    }
  }
  return { jobName: graph.jobName, vertices, edges };
}

/** True when `edge` runs inside a chain (a direct call), false when it crosses the network. */
export function isChainedEdge(jobGraph: JobGraph, edge: StreamEdge): boolean {
  for (const v of jobGraph.vertices) {
    if (v.nodes.includes(edge.source)) return v.nodes.includes(edge.target) && v.head !== edge.target;
  }
  return false;
}
