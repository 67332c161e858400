// Heartbeats both ways, with the interval and timeout given to `weir jobmanager` (the JobManager
// tells each TaskManager its values when it registers): a frozen JobManager (SIGSTOP: its
// connections stay open) is noticed by the TaskManager after --heartbeat-timeout, which ends its
// tasks and registers again once the JobManager answers. A timeout not above the interval is
// refused. (A frozen TaskManager noticed by the JobManager: taskmanager-failover.test.ts.)

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startCluster, startProcess } from "./process-cluster.ts";

async function waitUntil(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("heartbeat interval and timeout", () => {
  it("a TaskManager notices a frozen JobManager after the configured timeout and registers again", async () => {
    const cluster = await startCluster({
      taskManagers: 1,
      slots: 1,
      heartbeatIntervalMs: 200,
      heartbeatTimeoutMs: 1_700,
    });
    try {
      const tm = cluster.taskManagers[0]!;
      const registrations = () => tm.err().match(/INFO registered with the JobManager/g)?.length ?? 0;
      assert.equal(registrations(), 1);
      cluster.jobManager.child.kill("SIGSTOP");
      await waitUntil(
        () => /WARN lost the JobManager: no heartbeat for 1700 ms/.test(tm.err()),
        "the TaskManager's timeout",
      );
      cluster.jobManager.child.kill("SIGCONT");
      await waitUntil(() => registrations() === 2, "the TaskManager registered again");
    } finally {
      cluster.jobManager.child.kill("SIGCONT");
      await cluster.stop();
    }
  });

  it("weir jobmanager refuses a heartbeat timeout not longer than the interval", async () => {
    const jm = startProcess(
      ["jobmanager", "--port", "0", "--heartbeat-interval", "2000", "--heartbeat-timeout", "2000"],
      {},
    );
    assert.equal(await jm.exited, 2, jm.err());
    assert.match(
      jm.err(),
      /--heartbeat-timeout of 'weir jobmanager' \(2000 ms\) must be longer than --heartbeat-interval \(2000 ms\)/,
    );
  });
});
