// The subtask a harness runs its operator in, set up as a task's deployment sets up an operator:
// the subtask's identity and key groups, a keyed state backend over them (heap or embedded), a
// manual processing-time clock (which state TTL reads too), the runtime context with its
// accumulators, the collecting output, and a mailbox run after each call into the harness.

import type { Accumulator } from "../core/functions.ts";
import {
  DEFAULT_MAX_PARALLELISM,
  assignToKeyGroup,
  keyGroupRangeFor,
  operatorIndexForKeyGroup,
} from "../core/key-groups.ts";
import type { StreamOperator } from "../runtime/operators/stream-operator.ts";
import { RuntimeContextImpl } from "../runtime/runtime-context.ts";
import { ManualClock } from "../runtime/time/clock.ts";
import { ProcessingTimeService } from "../runtime/time/processing-time-service.ts";
import { type StateBackendKind, createKeyedStateBackend } from "../state/index.ts";
import type { KeyedStateBackend } from "../state/keyed-state-backend.ts";
import { HarnessError } from "./harness-error.ts";
import { CollectingOutput } from "./harness-output.ts";
import type { OperatorDefinition } from "./operator-definition.ts";

/** Where the operator under test runs, and on what state. */
export interface HarnessOptions {
  /** Parallelism of the operator (default 1): with subtaskIndex, which key groups the harness owns. */
  parallelism?: number;
  /** The subtask this harness is (default 0). */
  subtaskIndex?: number;
  /** Key groups (default: the operator's setMaxParallelism, else 128); must match the snapshot's on restore. */
  maxParallelism?: number;
  /** Keyed state backend: "heap" (default) or "embedded" (an LMDB store on disk, removed by close()). */
  stateBackend?: StateBackendKind;
  /** Parent directory of the embedded backend's store (default: the OS temp directory). */
  stateDirectory?: string;
  /** Processing time at the start (default 0); it moves only by setProcessingTime / advanceProcessingTime. */
  processingTime?: number;
  /** The operator's uid when the build gives none (default `harness:<operator name>`); restores match by uid. */
  uid?: string;
}

/** The subtask of `parallelism` that owns `key` (the one to push it into when testing rescaling). */
export function subtaskForKey(
  key: unknown,
  parallelism: number,
  maxParallelism = DEFAULT_MAX_PARALLELISM,
): number {
  return operatorIndexForKeyGroup(maxParallelism, parallelism, assignToKeyGroup(key, maxParallelism));
}

export class HarnessSubtask {
  readonly operatorName: string;
  readonly operatorUid: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly operator: StreamOperator;
  readonly runtime: RuntimeContextImpl;
  readonly backend: KeyedStateBackend | undefined;
  readonly clock: ManualClock;
  readonly processingTime: ProcessingTimeService;
  readonly element = { timestamp: Number.NaN };
  readonly output: CollectingOutput;
  readonly accumulators = new Map<string, Accumulator<unknown>>();
  private readonly mail: Array<() => void> = [];

  constructor(definition: OperatorDefinition, options: HarnessOptions, kind: string) {
    const t = definition.transformation;
    this.operatorName = t.name;
    this.operatorUid = t.uid ?? options.uid ?? `harness:${t.name}`;
    this.parallelism = options.parallelism ?? 1;
    this.subtaskIndex = options.subtaskIndex ?? 0;
    this.maxParallelism = definition.maxParallelism;
    if (!Number.isInteger(this.parallelism) || this.parallelism < 1) {
      throw new HarnessError(`${kind}: parallelism must be a positive integer, got ${this.parallelism}`);
    }
    if (
      !Number.isInteger(this.subtaskIndex) ||
      this.subtaskIndex < 0 ||
      this.subtaskIndex >= this.parallelism
    ) {
      throw new HarnessError(
        `${kind}: subtaskIndex must be an integer in 0..${this.parallelism - 1} (parallelism ${this.parallelism}), got ${this.subtaskIndex}`,
      );
    }
    const range = keyGroupRangeFor(this.maxParallelism, this.parallelism, this.subtaskIndex);
    this.clock = new ManualClock(options.processingTime ?? 0);
    this.processingTime = new ProcessingTimeService(this.clock);
    const keyed = definition.keySelectors.some((k) => k !== undefined);
    const backend = keyed
      ? createKeyedStateBackend(options.stateBackend ?? "heap", range, {
          localDirectory: options.stateDirectory,
          maxParallelism: this.maxParallelism,
        })
      : undefined;
    this.backend = backend;
    backend?.setTimeProvider(() => this.clock.now());
    this.output = new CollectingOutput(this.element);
    this.operator = t.factory();
    this.runtime = new RuntimeContextImpl(
      {
        jobId: "harness",
        jobName: "harness",
        subtaskIndex: this.subtaskIndex,
        parallelism: this.parallelism,
        maxParallelism: this.maxParallelism,
        attemptNumber: 0,
        attemptTag: `harness-${this.subtaskIndex}`,
      },
      this.operatorName,
      this.operatorUid,
      this.accumulators,
      backend,
    );
    this.operator.setup({
      runtime: this.runtime,
      output: this.output,
      element: this.element,
      keyed: definition.keySelectors.map((keySelector) =>
        keySelector === undefined || backend === undefined
          ? undefined
          : { keySelector, backend, maxParallelism: this.maxParallelism },
      ),
      processingTime: this.processingTime,
      autoWatermarkInterval: 200,
      mailbox: { execute: (action) => this.mail.push(action), drain: () => this.runMailbox() },
      checkpointing: true,
    });
  }

  /** Run the actions the operator queued on its mailbox, in order. */
  runMailbox(): void {
    while (this.mail.length > 0) this.mail.shift()!();
  }

  /** The key group of `key`; refused when another subtask owns it (`where` describes the harness). */
  keyGroupOf(key: unknown, what: string, where: string): number {
    const keyGroup = assignToKeyGroup(key, this.maxParallelism);
    const owner = operatorIndexForKeyGroup(this.maxParallelism, this.parallelism, keyGroup);
    if (owner !== this.subtaskIndex) {
      throw new HarnessError(
        `${where}: ${what} with key ${JSON.stringify(key) ?? String(key)} (key group ${keyGroup}), which subtask ${owner} of ${this.parallelism} owns; in a job it would never reach this subtask: push it into the harness of subtask ${owner} (subtaskForKey() says which)`,
      );
    }
    return keyGroup;
  }
}
