// The client of the tests across hosts, run on a host of its own (test/cluster/netns-hosts.ts):
// submits a job to the JobManager whose REST API is at argv[2] (token from $WEIR_CLUSTER_TOKEN), prints
// "submitted <job id>" once it is accepted, follows it, and prints "end <JSON>" when it ends: its
// status, restarts, error and collected values.
//   node --import tsx test/cluster/netns-client.ts <host:port> <job.ts> <parallelism>

import { ClusterClient } from "../../src/cluster/cluster-client.ts";

const [address, job, parallelism] = process.argv.slice(2);
const client = new ClusterClient(address!, process.env.WEIR_CLUSTER_TOKEN ?? "");
try {
  const submitted = await client.submit(job!, { parallelism: Number(parallelism) }, { follow: true });
  process.stdout.write(`submitted ${submitted.jobId}\n`);
  const end = await submitted.ended;
  const collected = Object.fromEntries(end.result?.collected ?? new Map());
  const line = JSON.stringify({
    status: end.status,
    restarts: end.result?.restarts,
    error: end.error === undefined ? undefined : String(end.error),
    collected,
  });
  process.stdout.write(`end ${line}\n`);
} finally {
  client.close();
}
