// Transformations: what the DataStream API records as a user builds a job. Virtual ones
// (partition, union, side output) shape edges; the others become StreamGraph nodes.

import type { KeySelector, OutputTag } from "../core/functions.ts";
import type { Source } from "../core/source.ts";
import type { TypeInformation } from "../core/types/type-info.ts";
import type { WatermarkStrategy } from "../core/watermark.ts";
import type { StreamOperator } from "../runtime/operators/stream-operator.ts";
import type { PartitionerSpec } from "../runtime/partitioners.ts";

export type ChainingStrategy = "default" | "never" | "head";

export interface TransformationBase {
  readonly id: number;
  name: string;
  uid: string | undefined;
  parallelism: number | undefined;
  maxParallelism: number | undefined;
  slotSharingGroup: string | undefined;
  chaining: ChainingStrategy;
  type: TypeInformation<unknown>;
}

export interface SourceTransformation extends TransformationBase {
  readonly kind: "source";
  readonly source: Source<unknown, unknown>;
  readonly watermarkStrategy: WatermarkStrategy<unknown> | undefined;
}

export interface OperatorTransformation extends TransformationBase {
  readonly kind: "operator";
  readonly inputs: Transformation[];
  readonly factory: () => StreamOperator;
  /** Per input: the key selector when that input is keyed. */
  readonly keySelectors: Array<KeySelector<any, unknown> | undefined>;
  readonly isSink: boolean;
}

export interface PartitionTransformation extends TransformationBase {
  readonly kind: "partition";
  readonly input: Transformation;
  readonly partitioner: PartitionerSpec;
}

export interface UnionTransformation extends TransformationBase {
  readonly kind: "union";
  readonly inputs: Transformation[];
}

export interface SideOutputTransformation extends TransformationBase {
  readonly kind: "sideOutput";
  readonly input: Transformation;
  readonly tag: OutputTag<unknown>;
}

export type Transformation =
  | SourceTransformation
  | OperatorTransformation
  | PartitionTransformation
  | UnionTransformation
  | SideOutputTransformation;
