// JobManager high availability: the leader lost by SIGKILL (test/cluster/jobmanager-ha.ts).

import { leaderLossTest } from "./jobmanager-ha.ts";

leaderLossTest("SIGKILL");
