// The execution plan as JSON (getExecutionPlan), as text and as Graphviz DOT (`weir plan`).

import { describePartitioner } from "../runtime/partitioners.ts";
import type { JobGraph } from "./job-graph.ts";

export interface PlanOperator {
  id: number;
  name: string;
  uid: string;
  parallelism: number;
  type: string;
}

export interface PlanVertex {
  id: number;
  name: string;
  parallelism: number;
  maxParallelism: number;
  slotSharingGroup: string;
  /** The chained operators of this vertex, head first. */
  operators: PlanOperator[];
  inputs: Array<{ vertex: number; partitioner: string; sideOutput?: string; inputIndex: number }>;
}

export interface ExecutionPlan {
  jobName: string;
  vertices: PlanVertex[];
}

export function executionPlan(jobGraph: JobGraph): ExecutionPlan {
  return {
    jobName: jobGraph.jobName,
    vertices: jobGraph.vertices.map((v) => ({
      id: v.id,
      name: v.name,
      parallelism: v.parallelism,
      maxParallelism: v.maxParallelism,
      slotSharingGroup: v.slotSharingGroup,
      operators: v.nodes.map((n) => ({
        id: n.id,
        name: n.name,
        uid: n.uid,
        parallelism: n.parallelism,
        type: n.source !== undefined ? "source" : n.isSink ? "sink" : "operator",
      })),
      inputs: v.inputs.map((e) => ({
        vertex: e.source.id,
        partitioner: describePartitioner(e.streamEdge.partitioner),
        inputIndex: e.streamEdge.inputIndex,
        ...(e.streamEdge.tagId !== undefined ? { sideOutput: e.streamEdge.tagId } : {}),
      })),
    })),
  };
}

export function planToText(plan: ExecutionPlan): string {
  const lines = [`Job '${plan.jobName}'`];
  for (const v of plan.vertices) {
    lines.push(`  [${v.id}] ${v.name}  (parallelism ${v.parallelism}, slot group '${v.slotSharingGroup}')`);
    for (const op of v.operators) lines.push(`        - ${op.name}  uid=${op.uid}  ${op.type}`);
    for (const i of v.inputs) {
      const side = i.sideOutput !== undefined ? ` side output '${i.sideOutput}'` : "";
      lines.push(
        `        <- [${i.vertex}] ${i.partitioner}${side}${i.inputIndex > 0 ? ` (input ${i.inputIndex + 1})` : ""}`,
      );
    }
  }
  return lines.join("\n");
}

export function planToDot(plan: ExecutionPlan): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [`digraph ${q(plan.jobName)} {`, "  rankdir=LR;", "  node [shape=box, style=rounded];"];
  for (const v of plan.vertices) {
    const label = `${v.operators.map((o) => o.name).join("\\n")}\\np=${v.parallelism}`;
    lines.push(`  v${v.id} [label=${q(label).replace(/\\\\n/g, "\\n")}];`);
  }
  for (const v of plan.vertices) {
    for (const i of v.inputs) {
      const label = i.sideOutput !== undefined ? `${i.partitioner} (${i.sideOutput})` : i.partitioner;
      lines.push(`  v${i.vertex} -> v${v.id} [label=${q(label)}];`);
    }
  }
  lines.push("}");
  return lines.join("\n");
}
