// Finds the one operator a harness drives in what a test built with the DataStream API: the
// harness hands placeholder input streams to the test's build function, which applies the same
// calls as the job (keyBy, window, connect, process...), and the last transformation it returns
// is the operator under test: its factory, key selectors, uid and max parallelism.

import { StreamExecutionEnvironment } from "../api/environment.ts";
import type { DataStream } from "../api/streams.ts";
import type { KeySelector } from "../core/functions.ts";
import type { OperatorTransformation, Transformation } from "../graph/transformation.ts";
import { HarnessError } from "./harness-error.ts";

/** The operator under test, as the job would create it. */
export interface OperatorDefinition {
  transformation: OperatorTransformation;
  /** For each input of the harness: the operator's input index it feeds. */
  operatorInputOf: number[];
  /** For each input of the operator: its key selector when keyed. */
  keySelectors: Array<KeySelector<any, unknown> | undefined>;
  maxParallelism: number;
}

/**
 * Runs `build` on `numInputs` placeholder streams and returns the operator of the stream it
 * returns; every input of that operator must come straight (through keyBy, broadcast and other
 * partitionings) from a different placeholder input.
 */
export function defineOperator(
  numInputs: number,
  build: (...inputs: DataStream<any>[]) => unknown,
  harness: string,
  maxParallelism: number | undefined,
): OperatorDefinition {
  const env = new StreamExecutionEnvironment({
    parallelism: 1,
    ...(maxParallelism === undefined ? {} : { maxParallelism }),
  });
  const inputs = Array.from({ length: numInputs }, (_v, i) =>
    env.fromCollection<unknown>([], `harness input ${i + 1}`),
  );
  if (typeof build !== "function") {
    throw new HarnessError(`${harness}.of() needs a function building the operator from its input stream(s)`);
  }
  const result = build(...inputs) as Partial<DataStream<unknown>> | undefined;
  const t = (result as { transformation?: Transformation } | undefined)?.transformation;
  if (t === undefined || t.kind !== "operator") {
    throw new HarnessError(
      `${harness}.of(): the build function must return the stream the operator under test produces (e.g. input.keyBy(...).process(fn)), got ${t === undefined ? String(result) : `a ${t.kind} stream`}`,
    );
  }
  if (t.inputs.length !== numInputs) {
    throw new HarnessError(
      `${harness} drives operators with ${numInputs} input(s), but '${t.name}' has ${t.inputs.length}; use ${t.inputs.length === 1 ? "OneInputHarness or KeyedOneInputHarness" : "TwoInputHarness, KeyedTwoInputHarness or a broadcast harness"}`,
    );
  }
  const operatorInputOf = new Array<number>(numInputs).fill(-1);
  t.inputs.forEach((input, operatorInput) => {
    const source = sourceOf(input, t.name, harness);
    const harnessInput = inputs.findIndex((s) => s.transformation === source);
    if (harnessInput < 0 || operatorInputOf[harnessInput] !== -1) {
      throw new HarnessError(
        `${harness}.of(): input ${operatorInput + 1} of '${t.name}' does not come from a harness input of its own; build the operator from the input streams you are given, each used once`,
      );
    }
    operatorInputOf[harnessInput] = operatorInput;
  });
  return {
    transformation: t,
    operatorInputOf,
    keySelectors: t.keySelectors,
    maxParallelism: t.maxParallelism ?? env.getMaxParallelism(),
  };
}

/** The placeholder input a transformation reads, through partitionings only. */
function sourceOf(t: Transformation, operator: string, harness: string): Transformation {
  let current = t;
  while (current.kind === "partition") current = current.input;
  if (current.kind === "source") return current;
  throw new HarnessError(
    `${harness} drives one operator, but '${operator}' reads from '${current.name}' (a ${current.kind}), built in the same function; test '${current.name}' with a harness of its own, or build only the last operator`,
  );
}
