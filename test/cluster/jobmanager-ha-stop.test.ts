// JobManager high availability: the leader lost by SIGSTOP, then SIGCONT (test/cluster/jobmanager-ha.ts).

import { leaderLossTest } from "./jobmanager-ha.ts";

leaderLossTest("SIGSTOP, then SIGCONT");
