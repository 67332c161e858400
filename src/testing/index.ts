// The public entry point `weir-stream/testing`: operator test harnesses for users' unit tests (Flink's
// operator test harnesses, Kafka Streams' TopologyTestDriver). Everything here is public API.

export {
  BroadcastHarness,
  KeyedBroadcastHarness,
  KeyedOneInputHarness,
  KeyedTwoInputHarness,
  OneInputHarness,
  TwoInputHarness,
} from "./harnesses.ts";
export { HarnessError } from "./harness-error.ts";
export type { HarnessEvent, StreamRecord } from "./harness-output.ts";
export { HarnessSnapshot } from "./harness-snapshot.ts";
export { type HarnessOptions, subtaskForKey } from "./harness-subtask.ts";
export { OperatorHarness } from "./operator-harness.ts";
