// Partitioners: how a record picks its consumer subtask on a network edge.

import { InvalidArgumentError, WeirError } from "../core/errors.ts";
import type { KeySelector, Partitioner } from "../core/functions.ts";
import { assignToKeyGroup, operatorIndexForKeyGroup } from "../core/key-groups.ts";
import type { ChannelSelector } from "../network/record-writer.ts";

export type PartitionerSpec =
  | { kind: "forward" }
  | { kind: "rebalance" }
  | { kind: "rescale" }
  | { kind: "shuffle" }
  | { kind: "broadcast" }
  | { kind: "global" }
  | { kind: "hash"; keySelector: KeySelector<any, unknown> }
  | { kind: "custom"; partitioner: Partitioner<any>; keySelector: KeySelector<any, unknown> };

export type PartitionerKind = PartitionerSpec["kind"];

/** Partitioners whose producer subtask i talks to a subset of consumers (no all-to-all). */
export function isPointwise(kind: PartitionerKind): boolean {
  return kind === "forward" || kind === "rescale";
}

/**
 * The consumer subtasks that producer subtask `i` of `p` sends to, for a consumer of parallelism
 * `c`, in the order of its subpartitions: all of them, except for forward (the same index) and
 * rescale (a local subset).
 */
export function consumersOf(kind: PartitionerKind, i: number, p: number, c: number): number[] {
  if (kind === "forward") return [i];
  if (!isPointwise(kind)) return Array.from({ length: c }, (_, j) => j);
  // rescale: split the consumers among producers (or producers among consumers).
  if (c >= p) {
    const from = Math.floor((i * c) / p);
    const to = Math.floor(((i + 1) * c) / p);
    return Array.from({ length: to - from }, (_, j) => from + j);
  }
  return [Math.floor((i * c) / p)];
}

export function describePartitioner(spec: PartitionerSpec): string {
  return spec.kind === "hash" ? "HASH" : spec.kind.toUpperCase();
}

/**
 * Builds the channel selector of one producer subtask.
 * @param numChannels consumers this producer subtask is connected to
 * @param maxParallelism of the consumer (key groups)
 */
export function createChannelSelector(
  spec: PartitionerSpec,
  numChannels: number,
  producerIndex: number,
  maxParallelism: number,
  describeEdge: () => string,
): ChannelSelector<unknown> {
  switch (spec.kind) {
    case "forward":
    case "global":
      return { selectChannel: () => 0 };
    case "broadcast":
      return { selectChannel: () => -1, isBroadcast: true };
    case "rebalance":
    case "rescale": {
      // Round robin, starting at a subtask-dependent channel so that producers do not all hit 0 first.
      let next = producerIndex % numChannels;
      return {
        selectChannel: () => {
          const c = next;
          next = next + 1 === numChannels ? 0 : next + 1;
          return c;
        },
      };
    }
    case "shuffle": {
      let s = (0x9e3779b9 ^ (producerIndex * 0x85ebca6b)) >>> 0 || 1;
      return {
        selectChannel: () => {
          s ^= s << 13;
          s ^= s >>> 17;
          s ^= s << 5;
          return (s >>> 0) % numChannels;
        },
      };
    }
    case "hash":
      return new HashChannelSelector(spec.keySelector, numChannels, maxParallelism, describeEdge);
    case "custom": {
      const { partitioner, keySelector } = spec;
      return {
        selectChannel: (record) => {
          const p = partitioner(keySelector(record), numChannels);
          if (!Number.isInteger(p) || p < 0 || p >= numChannels) {
            throw new InvalidArgumentError(
              `the custom partitioner of edge ${describeEdge()} returned ${p}; it must return an integer in 0..${numChannels - 1}`,
            );
          }
          return p;
        },
      };
    }
  }
}

/**
 * A hash edge: the record's key group picks the consumer that owns it. With several consumers the
 * key group is kept for the record writer, which sends it with the record (the consumer's keyed
 * operator uses it instead of hashing the key again); with one consumer, string and number keys
 * are not hashed at all (the consumer hashes them anyway).
 */
class HashChannelSelector implements ChannelSelector<unknown> {
  readonly carriesKeyGroup: boolean;
  keyGroup = -1;
  private readonly single: boolean;

  constructor(
    private readonly keyOf: KeySelector<any, unknown>,
    private readonly numChannels: number,
    private readonly maxParallelism: number,
    private readonly describeEdge: () => string,
  ) {
    this.single = numChannels === 1;
    this.carriesKeyGroup = !this.single;
  }

  selectChannel(record: unknown): number {
    const key = this.keyOf(record);
    if (this.single && (typeof key === "string" || typeof key === "number")) return 0;
    let kg: number;
    try {
      kg = assignToKeyGroup(key, this.maxParallelism);
    } catch (e) {
      throw new WeirError(
        "INVALID_ARGUMENT",
        `the key selector of edge ${this.describeEdge()} returned an unusable key: ${(e as Error).message}`,
      );
    }
    this.keyGroup = kg;
    return operatorIndexForKeyGroup(this.maxParallelism, this.numChannels, kg);
  }
}
