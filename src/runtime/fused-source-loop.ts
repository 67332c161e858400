// The record loop of a source task generated end to end: when the reader makes records from an
// index (fromSequence, fromGenerator, fromCollection) and the chain after it is only maps,
// filters, flatMaps and keyed reduces ending in a sink, one function compiled for this task
// (`new Function`, its own type feedback) makes a poll's records, assigns their timestamps, calls
// every user function and the sink writer's write. V8 then sees one monomorphic loop: it inlines
// the chain, keeps the counts in registers and usually scalar-replaces the records a map makes
// (feasibility.md §3; the record-at-a-time path crosses the reader and SourceOutput, code shared
// by every job). A flatMap gets a collector generated with the loop, running the operators after
// it (their counts in the counters themselves, per record): the function calls it per element.
// A keyed reduce (its keyBy edge chained, at p=1) does what its processElement does through the
// keyed backend's API: key, key group, value, reduce, update (on a backend over every key group
// that can, the key group is left to the backend to compute when needed: setCurrentKeyLazily).
//
// Same semantics as that path: each record runs through the whole chain before the next (a
// watermark a generator emits on an event follows the event); a failure names the operator
// whose function threw (as outputs.ts does); the counts kept in locals are added to the source's,
// the outputs' and the operators' counters when the poll ends, also when it throws, so they equal
// the record-at-a-time path's between polls, where metrics, checkpoints and timers run. Any other
// chain gets no loop (undefined) and the task keeps the record-at-a-time path.

import type { TimestampAssigner } from "../core/watermark.ts";
import { type OperatorInfo, attribute } from "./operator-failure.ts";
import { assignToKeyGroup } from "../core/key-groups.ts";
import { FilterOperator, FlatMapOperator, MapOperator, SinkOperator } from "./operators/basic.ts";
import { type FusedReduceStep, KeyedReduceOperator } from "./operators/keyed-reduce.ts";
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
  kind: "map" | "filter" | "flatMap" | "reduce" | "sink";
  /** The user function (map, filter, flatMap, reduce) or the sink writer. */
  callee: unknown;
  runtime: unknown;
  /** flatMap: what it returned as elements; reduce: the rest of its processElement. */
  extra: unknown;
  info: OperatorInfo;
  op: StreamOperator;
  /** The output whose only target this stage is (it counts the records sent to it). */
  from: RoutingOutput;
}

/**
 * The stages of a chain of maps, filters, flatMaps and keyed reduces ending in a sink, from
 * `head`; undefined otherwise.
 */
function stagesFrom(head: RoutingOutput): Stage[] | undefined {
  const stages: Stage[] = [];
  for (let from = head; ; ) {
    const target = from.soleChainedTarget();
    if (target === undefined) return undefined;
    const op = target.op;
    const info = target.info;
    // Exactly these classes: their processElement is known (subclasses may change it).
    const type: unknown = op.constructor;
    let output: unknown;
    if (type === SinkOperator) {
      const writer = (op as SinkOperator).fusedWriter();
      stages.push({ kind: "sink", callee: writer, runtime: undefined, extra: undefined, info, op, from });
      return stages;
    }
    if (type === MapOperator || type === FilterOperator) {
      const step = (op as MapOperator | FilterOperator).fusedStep();
      const kind = type === MapOperator ? "map" : "filter";
      stages.push({ kind, callee: step.fn, runtime: step.runtime, extra: undefined, info, op, from });
      output = step.output;
    } else if (type === FlatMapOperator) {
      const step = (op as FlatMapOperator).fusedStep();
      stages.push({
        kind: "flatMap",
        callee: step.fn,
        runtime: step.runtime,
        extra: step.returned,
        info,
        op,
        from,
      });
      output = step.output;
    } else if (type === KeyedReduceOperator) {
      const step = (op as KeyedReduceOperator).fusedStep();
      if (step === undefined) return undefined;
      stages.push({ kind: "reduce", callee: step.fn, runtime: undefined, extra: step, info, op, from });
      output = step.output;
    } else return undefined;
    if (!(output instanceof RoutingOutput)) return undefined;
    from = output;
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

  // Stage j (1-based) takes v{j-1}. Stages up to the first flatMap run in the loop and count in
  // locals (c{j}, added to the counters when the poll ends); a flatMap gets a collector of its
  // own (col{j}, made once for the task) running the stages after it, which count in the fields.
  const collectors: string[] = [];
  const flush: string[] = ["counter.numRecords += c1;"];
  const locals: string[] = [];
  const stageCode = (j: number, inLoop: boolean): string => {
    const s = stages[j - 1]!;
    const f = bind(`f${j}`, s.callee);
    const info = bind(`info${j}`, s.info);
    const out = bind(`out${j}`, s.from);
    const op = bind(`op${j}`, s.op);
    let code: string;
    if (inLoop) {
      locals.push(`c${j} = 0`);
      flush.push(`${out}.numRecordsOut += c${j};`, `${op}.numRecordsIn += c${j};`);
      code = `c${j}++;\n`;
    } else code = `${out}.numRecordsOut++;\n${op}.numRecordsIn++;\n`;
    const guard = (call: string) => `try {\n${call}\n} catch (e) {\nthrow attribute(e, ${info});\n}\n`;
    const rest = () => stageCode(j + 1, inLoop);
    const input = `v${j - 1}`;
    switch (s.kind) {
      case "sink":
        return `${code}${guard(`${f}.write(${input});`)}`;
      case "map": {
        const r = bind(`runtime${j}`, s.runtime);
        return `${code}let v${j};\n${guard(`v${j} = ${f}(${input}, ${r});`)}${rest()}`;
      }
      case "filter": {
        const r = bind(`runtime${j}`, s.runtime);
        return `${code}let keep${j};\n${guard(`keep${j} = ${f}(${input}, ${r});`)}if (keep${j}) {\nconst v${j} = ${input};\n${rest()}}\n`;
      }
      case "flatMap": {
        // FlatMapOperator.processElement, with col{j} for its collector.
        const r = bind(`runtime${j}`, s.runtime);
        const returned = bind(`returned${j}`, s.extra);
        collectors.push(`const col${j} = { collect: (v${j}) => {\n${stageCode(j + 1, false)}} };`);
        return `${code}${guard(`const r${j} = ${f}(${input}, col${j}, ${r});\nif (r${j} !== undefined) for (const x of ${returned}(r${j})) col${j}.collect(x);`)}`;
      }
      case "reduce": {
        // KeyedReduceOperator.processElement (its key group always hashed: see fusedStep).
        const step = s.extra as FusedReduceStep;
        const key = bind(`key${j}`, step.keySelector);
        const backend = bind(`backend${j}`, step.backend);
        const state = bind(`state${j}`, step.state);
        // A backend over every key group takes the key alone: its key group is computed only if a
        // snapshot in progress needs it (no murmur3 per record at parallelism 1).
        const lazy =
          step.backend.setCurrentKeyLazily !== undefined && step.backend.ownsAllKeyGroups?.() === true;
        const call = [
          `const k${j} = ${key}(${input});`,
          lazy
            ? `${backend}.setCurrentKeyLazily(k${j});`
            : `${backend}.setCurrentKey(k${j}, assignToKeyGroup(k${j}, ${step.maxParallelism | 0}));`,
          `const acc${j} = ${state}.value();`,
          `v${j} = acc${j} === undefined ? ${input} : ${f}(acc${j}, ${input});`,
          `${state}.update(v${j});`,
        ].join("\n");
        return `${code}let v${j};\n${guard(call)}${rest()}`;
      }
    }
  };
  bind("assignToKeyGroup", assignToKeyGroup);
  const body = stageCode(1, true);
  const code = `"use strict";
${collectors.join("\n")}
return function fusedSourceLoop(split, from, stride, count) {
let ${locals.join(", ")};
${setTimestampOnce}
try {
for (let n = 0, i = from; n < count; n++, i += stride) {
const v0 = ${record};
${timestamp}
${before}
${setTimestamp}
${body}${after}
}
} finally {
${flush.join("\n")}
}
};`;
  const factory = new Function(...params, code);
  return factory(...args) as IndexedLoop;
}
