// The record loop of a source task generated end to end: when the reader makes records from an
// index (fromSequence, fromGenerator, fromCollection) and the chain after it is only maps and
// filters ending in a sink, one function compiled for this task (`new Function`, its own type
// feedback) makes a poll's records, assigns their timestamps, calls every user function and the
// sink writer's write. V8 then sees one monomorphic loop: it inlines the chain, keeps the counts
// in registers and usually scalar-replaces the records a map makes (feasibility.md §3; the
// record-at-a-time path crosses the reader and SourceOutput, code shared by every job).
//
// Same semantics as that path: each record runs through the whole chain before the next (a
// watermark a generator emits on an event follows the event); a failure names the operator
// whose function threw (as outputs.ts does); the counts kept in locals are added to the source's,
// the outputs' and the operators' counters when the poll ends, also when it throws, so they equal
// the record-at-a-time path's between polls, where metrics, checkpoints and timers run. Any other
// chain gets no loop (undefined) and the task keeps the record-at-a-time path.

import type { TimestampAssigner } from "../core/watermark.ts";
import { type OperatorInfo, attribute } from "./operator-failure.ts";
import { FilterOperator, MapOperator, SinkOperator } from "./operators/basic.ts";
import type { ElementContext, StreamOperator } from "./operators/stream-operator.ts";
import { RoutingOutput } from "./outputs.ts";

/** How a reader whose splits are index ranges makes the record of an index. */
export type IndexedRecords<T> =
  /** The index itself (fromSequence). */
  | { readonly kind: "index" }
  /** elements[index] (fromCollection). */
  | { readonly kind: "element"; readonly elements: readonly T[] }
  /** generator(index) (fromGenerator). */
  | { readonly kind: "generated"; readonly generator: (index: number) => T };

/**
 * Emits the records of indexes from, from + stride, ... (`count` of them) as `split.collect`
 * would, each through the whole chain. `split`: the output createOutputForSplit gave the reader.
 */
export type IndexedLoop = (split: unknown, from: number, stride: number, count: number) => void;

/** A reader output that generates loops (the task's SourceOutput); readers look for the method. */
export interface FusableReaderOutput {
  fuseIndexedLoop(records: IndexedRecords<unknown>): IndexedLoop | undefined;
}

/** What the generated loop does for the source itself (SourceOutput and its split outputs). */
export interface FusedSource {
  /** Counts the records emitted (SourceOutput.numRecords). */
  readonly counter: { numRecords: number };
  /** Timestamps of records without a usable one (throws with event time): SourceOutput's rule. */
  unusableTimestamp(ts: unknown, value: unknown): number;
  /** The processing-time clock (for idleness). */
  now(): number;
  readonly element: ElementContext;
  readonly assigner: TimestampAssigner<unknown> | undefined;
  readonly eventTime: boolean;
  /** Each split has a watermark generator (SplitOutput.generator). */
  readonly generators: boolean;
  readonly tracksIdleness: boolean;
  /** The source's output: the chain starts at its target. */
  readonly head: unknown;
}

interface Stage {
  kind: "map" | "filter" | "sink";
  /** The user function (map, filter) or the sink writer. */
  callee: unknown;
  runtime: unknown;
  info: OperatorInfo;
  op: StreamOperator;
  /** The output whose only target this stage is (it counts the records sent to it). */
  from: RoutingOutput;
}

/** The stages of a chain of maps and filters ending in a sink, from `head`; undefined otherwise. */
function stagesFrom(head: RoutingOutput): Stage[] | undefined {
  const stages: Stage[] = [];
  for (let from = head; ; ) {
    const target = from.soleChainedTarget();
    if (target === undefined) return undefined;
    const op = target.op;
    const info = target.info;
    // Exactly these classes: their processElement is known (subclasses may change it).
    const type: unknown = op.constructor;
    if (type === SinkOperator) {
      const writer = (op as SinkOperator).fusedWriter();
      stages.push({ kind: "sink", callee: writer, runtime: undefined, info, op, from });
      return stages;
    }
    if (type !== MapOperator && type !== FilterOperator) return undefined;
    const step = (op as MapOperator | FilterOperator).fusedStep();
    if (!(step.output instanceof RoutingOutput)) return undefined;
    const kind = type === MapOperator ? "map" : "filter";
    stages.push({ kind, callee: step.fn, runtime: step.runtime, info, op, from });
    from = step.output;
  }
}

/** The generated loop for this task's chain, or undefined when the chain is not one it can run. */
export function compileIndexedLoop(
  source: FusedSource,
  records: IndexedRecords<unknown>,
): IndexedLoop | undefined {
  if (!(source.head instanceof RoutingOutput)) return undefined;
  const stages = stagesFrom(source.head);
  if (stages === undefined) return undefined;

  const params: string[] = [];
  const args: unknown[] = [];
  const bind = (name: string, value: unknown): string => {
    params.push(name);
    args.push(value);
    return name;
  };
  bind("attribute", attribute);
  bind("source", source);
  bind("counter", source.counter);
  bind("element", source.element);

  const record =
    records.kind === "index"
      ? "i"
      : records.kind === "element"
        ? `${bind("elements", records.elements)}[i]`
        : `${bind("generator", records.generator)}(i)`;
  // Records without timestamps all have NaN: set once (operators of such a chain never set it).
  let timestamp = "const ts = NaN;";
  let setTimestamp = "";
  let setTimestampOnce = "element.timestamp = NaN;";
  if (source.assigner !== undefined || source.eventTime) {
    setTimestamp = "element.timestamp = ts;";
    setTimestampOnce = "";
    if (source.assigner === undefined) timestamp = "const ts = source.unusableTimestamp(undefined, v0);";
    else {
      bind("assigner", source.assigner);
      timestamp = `let ts = assigner(v0, undefined);\nif (typeof ts !== "number" || ts !== ts) ts = source.unusableTimestamp(ts, v0);`;
    }
  }
  // SplitOutput.collect's bookkeeping, then the record, then its generator's onEvent.
  const before = source.generators
    ? `${source.tracksIdleness ? "split.lastEventAt = source.now();\n" : ""}split.records++;\nsplit.lastTimestamp = ts;\nif (split.idle) split.markActive();`
    : "";
  const after = source.generators ? "split.generator.onEvent(v0, ts, split);" : "";

  // Stage j (1-based) takes v{j-1}; c{j} counts the records sent to it.
  let body = "";
  let close = "";
  const flush: string[] = ["counter.numRecords += c1;"];
  for (let j = 1; j <= stages.length; j++) {
    const s = stages[j - 1]!;
    const f = bind(`f${j}`, s.callee);
    const info = bind(`info${j}`, s.info);
    flush.push(
      `${bind(`out${j}`, s.from)}.numRecordsOut += c${j};`,
      `${bind(`op${j}`, s.op)}.numRecordsIn += c${j};`,
    );
    const guard = (call: string) => `try {\n${call}\n} catch (e) {\nthrow attribute(e, ${info});\n}\n`;
    body += `c${j}++;\n`;
    if (s.kind === "sink") body += guard(`${f}.write(v${j - 1});`);
    else if (s.kind === "map") {
      const r = bind(`runtime${j}`, s.runtime);
      body += `let v${j};\n${guard(`v${j} = ${f}(v${j - 1}, ${r});`)}`;
    } else {
      const r = bind(`runtime${j}`, s.runtime);
      body += `let keep${j};\n${guard(`keep${j} = ${f}(v${j - 1}, ${r});`)}if (keep${j}) {\nconst v${j} = v${j - 1};\n`;
      close += "}\n";
    }
  }
  const counters = stages.map((_, j) => `c${j + 1} = 0`).join(", ");
  const code = `"use strict";
return function fusedSourceLoop(split, from, stride, count) {
let ${counters};
${setTimestampOnce}
try {
for (let n = 0, i = from; n < count; n++, i += stride) {
const v0 = ${record};
${timestamp}
${before}
${setTimestamp}
${body}${close}${after}
}
} finally {
${flush.join("\n")}
}
};`;
  const factory = new Function(...params, code);
  return factory(...args) as IndexedLoop;
}
