// JobManager high availability across real processes on loopback, with a private etcd started by
// the test: two `weir jobmanager --ha` (one leads, one stands by), two TaskManagers (one given
// both JobManager addresses, one the etcd address), and the exactly-once chaos job (keyed windows,
// the exactly-once file sink). The leader is SIGKILLed, or frozen with SIGSTOP and thawed after
// the standby took over (a deposed leader, fenced out of etcd): the standby takes over, the
// TaskManagers register with it, it runs the job again from its latest checkpoint pointer, and the
// committed output equals a failure-free run's. The pointer in etcd only ever moves forward.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ClusterClient } from "../../src/cluster/cluster-client.ts";
import { EtcdHaServices } from "../../src/cluster/ha/ha-services.ts";
import type { ChaosParams } from "../checkpoint/fixtures/chaos-job.ts";
import { type EtcdTestServer, freePort, startEtcd } from "../fixtures/etcd-server.ts";
import { EVENTS, JOB, KEYS, checkpointCompleted, committed, expected, waitFor } from "./failover-job.ts";
import { type Proc, startProcess, waitForOutput } from "./process-cluster.ts";

/** How the leader is lost. */
export type LeaderLoss = "SIGKILL" | "SIGSTOP, then SIGCONT";

async function waitForErr(p: Proc, pattern: RegExp, what: string, ms = 180_000): Promise<RegExpMatchArray> {
  const until = Date.now() + ms;
  for (;;) {
    const m = p.err().match(pattern);
    if (m !== null) return m;
    if (Date.now() > until) throw new Error(`${what}: not seen\nstdout: ${p.out()}\nstderr: ${p.err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * One scenario per test file (jobmanager-ha-kill.test.ts, jobmanager-ha-stop.test.ts): each runs
 * real processes for a minute or more, and a file has the runner's 300 s.
 */
export function leaderLossTest(how: LeaderLoss): void {
  let etcd: EtcdTestServer;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.close();
  });
  describe("JobManager high availability (etcd)", () => {
    it(`the leader ${how}: the standby takes over, the job finishes, output exact`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-jm-ha-"));
      const clusterId = `jm-ha-${process.pid}-${how.length}`;
      const params: ChaosParams = {
        out: join(dir, "out"),
        checkpoints: join(dir, "checkpoints"),
        events: EVENTS,
        keys: KEYS,
        rate: 4_000, // at least 10 s: still running when the leader is stopped
      };
      const env = { WEIR_CHAOS_JOB: JSON.stringify(params), WEIR_CLUSTER_TOKEN: "" };
      const ha = ["--ha", etcd.endpoints, "--ha-cluster-id", clusterId];
      const procs: Proc[] = [];
      const services = await EtcdHaServices.connect({ endpoints: etcd.endpoints, clusterId });
      const pointers = services.checkpointPointers();
      try {
        const ports = [await freePort(), await freePort()];
        const jobManager = (port: number) =>
          startProcess(
            [
              "jobmanager",
              "--port",
              String(port),
              "--rest-port",
              "0",
              ...ha,
              "--ha-lease-ttl",
              "2",
              "--ha-storage-dir",
              join(dir, "ha"),
              "--heartbeat-interval",
              "200",
              "--heartbeat-timeout",
              "2000",
            ],
            env,
          );
        const leader = jobManager(ports[0]!);
        procs.push(leader);
        const rest = (
          await waitForOutput(
            leader,
            /JobManager listening on .*; REST API at (\S+)/,
            "the first JobManager leads",
            120_000,
          )
        )[1]!;
        const standby = jobManager(ports[1]!);
        procs.push(standby);
        await waitForOutput(
          standby,
          /standing by for leadership/,
          "the second JobManager stands by",
          120_000,
        );
        const both = ports.map((p) => `127.0.0.1:${p}`).join(",");
        const tms = [
          startProcess(["taskmanager", "-m", both, "--slots", "1", "--id", "tm-0"], env),
          startProcess(["taskmanager", ...ha, "--slots", "1", "--id", "tm-1"], env),
        ];
        procs.push(...tms);
        for (const tm of tms) await waitForOutput(tm, /registered with/, "a TaskManager registered", 120_000);

        const client = new ClusterClient(rest, "");
        const job = await client.submit(JOB, { parallelism: 2 }, { follow: false });
        client.close();
        // Every pointer the leaders publish: it only moves forward. The job's id counter in etcd
        // is always past it (both leaders take their ids there, so theirs never collide).
        const seen: number[] = [];
        const counter = services.checkpointIdCounter(job.jobId);
        const counterBehind: string[] = [];
        const watch = setInterval(() => {
          void pointers.get(job.jobId).then(async (p) => {
            if (p === undefined) return;
            if (seen.at(-1) !== p.checkpointId) seen.push(p.checkpointId);
            const next = await counter.get();
            // A job that ended loses its pointer, then its counter: a pointer read before the
            // one and a counter read after the other are not a counter behind. The pointer still
            // there after the counter was read means the counter read was of the running job.
            if (next <= p.checkpointId && (await pointers.get(job.jobId)) !== undefined)
              counterBehind.push(`pointer ${p.checkpointId}, counter ${next}`);
          });
        }, 50);
        try {
          await waitFor(() => checkpointCompleted(params.checkpoints, job.jobId), "a checkpoint", 120_000);
          await waitFor(() => seen.length > 0, "a checkpoint pointer in etcd", 120_000);
          leader.child.kill(how === "SIGKILL" ? "SIGKILL" : "SIGSTOP");
          const killedAt = new Date().toISOString();
          await waitForOutput(
            standby,
            /JobManager listening on/,
            `the standby takes over (leader stopped at ${killedAt})`,
            180_000,
          );
          await waitForErr(
            standby,
            new RegExp(`job ${job.jobId} \\('[^']*'\\) recovered from checkpoint \\d+`),
            "the job recovered",
          );
          if (how !== "SIGKILL") {
            leader.child.kill("SIGCONT");
            // The deposed leader learns it no longer leads, and stops its jobs.
            await waitForErr(leader, /this JobManager no longer leads/, "the old leader steps down");
          }
          await waitForErr(
            standby,
            new RegExp(`job 'chaos' \\(${job.jobId}\\) FINISHED`),
            "the job finishes",
            300_000,
          );
        } finally {
          clearInterval(watch);
        }
        assert.deepEqual(committed(params.out), expected());
        for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `pointers ${seen}`);
        assert.deepEqual(counterBehind, [], "checkpoint ids not taken from the counter in etcd");
        // The finished job is gone from the job store.
        const store = services.jobStore();
        const until = Date.now() + 120_000;
        while ((await store.list()).length > 0 && Date.now() < until)
          await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(await store.list(), []);
        // So are its checkpoint pointer and id counter (a job that ran is never resubmitted by id).
        while ((await counter.get()) !== 1 && Date.now() < until)
          await new Promise((r) => setTimeout(r, 100));
        assert.equal(await counter.get(), 1, "the finished job's id counter is removed");
        // Both TaskManagers found the new leader.
        for (const tm of tms)
          assert.match(tm.err(), new RegExp(`registered with the JobManager at 127.0.0.1:${ports[1]}`));
      } finally {
        for (const p of procs) {
          p.child.kill("SIGCONT");
          p.child.kill("SIGKILL");
        }
        await Promise.all(procs.map((p) => p.exited));
        await services.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
