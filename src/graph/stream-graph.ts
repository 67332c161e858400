// StreamGraph: one node per source/operator/sink, one edge per connection, with partitioners,
// parallelism and uids resolved. Built from the transformations of an environment.

import { InvalidJobError } from "../core/errors.ts";
import type { KeySelector } from "../core/functions.ts";
import { checkParallelism } from "../core/key-groups.ts";
import type { Source } from "../core/source.ts";
import { Types } from "../core/types/types.ts";
import type { TypeInformation } from "../core/types/type-info.ts";
import type { WatermarkStrategy } from "../core/watermark.ts";
import type { StreamOperator } from "../runtime/operators/stream-operator.ts";
import type { PartitionerSpec } from "../runtime/partitioners.ts";
import type { ChainingStrategy, Transformation } from "./transformation.ts";

export interface StreamNode {
  readonly id: number;
  readonly name: string;
  readonly uid: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly slotSharingGroup: string;
  readonly chaining: ChainingStrategy;
  readonly source: Source<unknown, unknown> | undefined;
  readonly watermarkStrategy: WatermarkStrategy<unknown> | undefined;
  readonly factory: (() => StreamOperator) | undefined;
  readonly keySelectors: Array<KeySelector<any, unknown> | undefined>;
  readonly isSink: boolean;
  readonly type: TypeInformation<unknown>;
  readonly inEdges: StreamEdge[];
  readonly outEdges: StreamEdge[];
}

export interface StreamEdge {
  readonly source: StreamNode;
  readonly target: StreamNode;
  readonly inputIndex: number;
  readonly partitioner: PartitionerSpec;
  /** Set when the edge carries a side output of the source node. */
  readonly tagId: string | undefined;
  readonly type: TypeInformation<unknown>;
}

/**
 * The name of an edge that stays the same from one run of the job to the next, whatever the
 * parallelism and chaining: its ends' uids, the target's input, the side output, and which one of
 * several such edges (a stream unioned with itself). Checkpoints name edges so (in-flight data).
 */
export function edgeId(e: StreamEdge): string {
  let n = 0;
  for (const o of e.source.outEdges) {
    if (o === e) break;
    if (o.target === e.target && o.inputIndex === e.inputIndex && o.tagId === e.tagId) n++;
  }
  const input = e.inputIndex > 0 ? `/input${e.inputIndex + 1}` : "";
  const side = e.tagId !== undefined ? `/side:${e.tagId}` : "";
  return `${e.source.uid}->${e.target.uid}${input}${side}${n > 0 ? `#${n + 1}` : ""}`;
}

export interface StreamGraphDefaults {
  jobName: string;
  parallelism: number;
  maxParallelism: number;
}

export interface StreamGraph {
  readonly jobName: string;
  readonly nodes: StreamNode[];
  readonly maxParallelism: number;
}

interface Endpoint {
  node: StreamNode;
  partitioner: PartitionerSpec | undefined;
  tagId: string | undefined;
  type: TypeInformation<unknown>;
}

export function buildStreamGraph(
  transformations: Transformation[],
  defaults: StreamGraphDefaults,
): StreamGraph {
  const nodes = new Map<number, StreamNode>();
  const uids = new Map<string, string>();

  const nodeOf = (t: Transformation): StreamNode => {
    const existing = nodes.get(t.id);
    if (existing !== undefined) return existing;
    if (t.kind !== "source" && t.kind !== "operator") throw new Error("not a node");
    const maxParallelism = t.maxParallelism ?? defaults.maxParallelism;
    let parallelism = t.parallelism ?? defaults.parallelism;
    if (
      t.kind === "source" &&
      t.source.maxParallelism !== undefined &&
      parallelism > t.source.maxParallelism
    ) {
      if (t.parallelism !== undefined) {
        throw new InvalidJobError(
          `source '${t.name}' supports parallelism at most ${t.source.maxParallelism}, but setParallelism(${t.parallelism}) was called on it`,
        );
      }
      parallelism = t.source.maxParallelism;
    }
    try {
      checkParallelism(maxParallelism, parallelism);
    } catch (e) {
      throw new InvalidJobError(`operator '${t.name}': ${(e as Error).message}`);
    }
    const uid = t.uid ?? `auto-${t.id}-${slug(t.name)}`;
    const clash = uids.get(uid);
    if (clash !== undefined) {
      throw new InvalidJobError(
        `uid '${uid}' is used by both '${clash}' and '${t.name}'; every operator needs its own uid`,
      );
    }
    uids.set(uid, t.name);
    const node: StreamNode = {
      id: t.id,
      name: t.name,
      uid,
      parallelism,
      maxParallelism,
      slotSharingGroup: t.slotSharingGroup ?? inheritedSlotSharingGroup(t),
      chaining: t.chaining,
      source: t.kind === "source" ? t.source : undefined,
      watermarkStrategy: t.kind === "source" ? t.watermarkStrategy : undefined,
      factory: t.kind === "operator" ? t.factory : undefined,
      keySelectors: t.kind === "operator" ? t.keySelectors : [],
      isSink: t.kind === "operator" && t.isSink,
      type: t.type,
      inEdges: [],
      outEdges: [],
    };
    nodes.set(t.id, node);
    if (t.kind === "operator") {
      t.inputs.forEach((input, inputIndex) => {
        for (const ep of endpoints(input)) connect(ep, node, inputIndex);
      });
    }
    return node;
  };

  // As Flink: an operator without its own group takes its inputs' group when they all agree.
  const inheritedSlotSharingGroup = (t: Transformation): string => {
    if (t.kind !== "operator") return "default";
    const groups = new Set(t.inputs.flatMap(endpoints).map((ep) => ep.node.slotSharingGroup));
    return groups.size === 1 ? [...groups][0]! : "default";
  };

  const endpoints = (t: Transformation): Endpoint[] => {
    switch (t.kind) {
      case "source":
      case "operator":
        return [{ node: nodeOf(t), partitioner: undefined, tagId: undefined, type: t.type }];
      case "partition":
        return endpoints(t.input).map((ep) => ({ ...ep, partitioner: t.partitioner }));
      case "union":
        return t.inputs.flatMap(endpoints);
      case "sideOutput":
        return endpoints(t.input).map((ep) => ({
          ...ep,
          tagId: t.tag.id,
          type: t.tag.type ?? Types.GENERIC,
        }));
    }
  };

  const connect = (ep: Endpoint, target: StreamNode, inputIndex: number): void => {
    let partitioner = ep.partitioner;
    if (partitioner === undefined) {
      partitioner = ep.node.parallelism === target.parallelism ? { kind: "forward" } : { kind: "rebalance" };
    } else if (partitioner.kind === "forward" && ep.node.parallelism !== target.parallelism) {
      throw new InvalidJobError(
        `forward() connects '${ep.node.name}' (parallelism ${ep.node.parallelism}) to '${target.name}' (parallelism ${target.parallelism}); forward needs equal parallelism: use rebalance() or rescale(), or give both the same parallelism`,
      );
    }
    const edge: StreamEdge = {
      source: ep.node,
      target,
      inputIndex,
      partitioner,
      tagId: ep.tagId,
      type: ep.type,
    };
    ep.node.outEdges.push(edge);
    target.inEdges.push(edge);
  };

  const sorted = [...transformations].sort((a, b) => a.id - b.id);
  for (const t of sorted) if (t.kind === "source" || t.kind === "operator") nodeOf(t);
  const all = [...nodes.values()].sort((a, b) => a.id - b.id);
  if (!all.some((n) => n.isSink)) {
    throw new InvalidJobError(
      `job '${defaults.jobName}' has no sink, so it would compute nothing; add one (print(), collect(), sinkTo(...)) before executing`,
    );
  }
  return { jobName: defaults.jobName, nodes: all, maxParallelism: defaults.maxParallelism };
}

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 40);
}
