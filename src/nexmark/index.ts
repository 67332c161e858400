// The Nexmark benchmark as an application of Weir: its queries, the job that runs one over the
// generator or an events file, and the runner behind `weir nexmark`. Only the generator and its
// source are a connector (src/connectors/nexmark); this sits beside the CLI, above the cluster.

export {
  type BidTimeType,
  nexmarkQuery,
  type NexmarkQuery,
  type NexmarkQueryOptions,
  PENDING_QUERIES,
  type PendingNexmarkQuery,
  type Q0Result,
  type Q1Result,
  type Q2Result,
  type Q3Result,
  type Q4Result,
  type Q5Result,
  type Q7Result,
  type Q8Result,
  type Q9Result,
  type Q11Result,
  type Q12Result,
  type Q13Result,
  type Q14Result,
  type Q18Result,
  type Q19Result,
  type Q21Result,
  type Q22Result,
  QUERIES,
  runnableQueryNames,
} from "./queries/index.ts";
export { buildNexmarkJob, type NexmarkJobParams, RESULTS_COUNTER } from "./pipeline.ts";
export { type NexmarkRunOptions, type NexmarkRunReport, runNexmark } from "./runner.ts";
