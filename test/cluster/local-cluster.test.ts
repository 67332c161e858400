// A cluster's whole life from the command line: application mode (weir jobmanager --job runs one
// job and ends the cluster with it), and a local cluster started and stopped in the background
// (weir cluster start|stop), with each process's log file in the cluster's directory.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startProcess, waitForOutput } from "./process-cluster.ts";

const WORDCOUNT = fileURLToPath(new URL("../fixtures/wordcount-job.ts", import.meta.url));
const ENV = { WEIR_TEST_WC_WORDS: "20000", WEIR_TEST_WC_VOCAB: "500", WEIR_TEST_WC_SEED: "3" };
const STDERR_JOB = fileURLToPath(new URL("../cli/fixtures/print-stderr.ts", import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("application mode: weir jobmanager --job", () => {
  it("runs the job on the TaskManagers, prints its summary, and ends the cluster", async () => {
    const jm = startProcess(
      ["jobmanager", "--port", "0", "--rest-port", "0", "--job", WORDCOUNT, "-p", "2"],
      ENV,
    );
    const tms = [jm];
    try {
      const port = (
        await waitForOutput(jm, /JobManager listening on [\d.]+:(\d+)/, "the JobManager's port")
      )[1];
      for (const id of ["tm-a", "tm-b"]) {
        tms.push(startProcess(["taskmanager", "-m", `127.0.0.1:${port}`, "--id", id], ENV));
      }
      assert.equal(await jm.exited, 0, jm.err());
      assert.match(jm.out(), /^Job 'wordcount-fixture' finished in .*counts \(p=2\): 20,000 records/m);
      // The TaskManagers were told to exit with the cluster.
      assert.equal(await tms[1]!.exited, 0, tms[1]!.err());
      assert.equal(await tms[2]!.exited, 0, tms[2]!.err());
    } finally {
      for (const p of tms) p.child.kill("SIGKILL");
    }
  });
});

describe("weir cluster start | stop", () => {
  it("starts a JobManager and TaskManagers in the background, and stops them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-local-cluster-"));
    const [port, restPort] = [await freePort(), await freePort()];
    let pids: number[] = [];
    try {
      const start = startProcess(
        [
          "cluster",
          "start",
          "--taskmanagers",
          "2",
          "--slots",
          "1",
          "--port",
          String(port),
          "--rest-port",
          String(restPort),
          "--flamegraph",
          "--pid-dir",
          dir,
        ],
        {},
      );
      assert.equal(await start.exited, 0, start.err());
      const file = JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8")) as {
        jobmanager: { pid: number };
        taskmanagers: number[];
      };
      pids = [file.jobmanager.pid, ...file.taskmanagers];
      // --flamegraph reaches the JobManager (which serves flame graphs: cluster-observability.test.ts).
      const jmArgv = readFileSync(`/proc/${file.jobmanager.pid}/cmdline`, "utf8").split("\0");
      assert.ok(jmArgv.includes("--flamegraph"), jmArgv.join(" "));
      // Both TaskManagers register: the REST API lists them.
      const until = Date.now() + 30_000;
      let ids: string[] = [];
      while (ids.length < 2 && Date.now() < until) {
        try {
          const r = await fetch(`http://127.0.0.1:${restPort}/taskmanagers`);
          ids = ((await r.json()) as { taskmanagers: Array<{ id: string }> }).taskmanagers.map((t) => t.id);
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(ids.sort(), ["tm-0", "tm-1"]);
      // Each process logs JSON lines (pino) to <pid-dir>/<name>.log; the REST API serves those files.
      const logs = await (await fetch(`http://127.0.0.1:${restPort}/taskmanagers/tm-1/logs`)).text();
      const entries = logs
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { level: string; msg: string; name: string });
      assert.ok(
        entries.some((e) => e.level === "INFO" && /^registered with the JobManager/.test(e.msg)),
        logs,
      );
      assert.ok(entries.every((e) => e.name === "taskmanager tm-1"));
      assert.equal(logs, readFileSync(join(dir, "taskmanager-1.log"), "utf8"));
      // What a task writes to stderr goes into its TaskManager's log file (served as /logs).
      const run = startProcess(
        ["run", "-m", `127.0.0.1:${restPort}`, STDERR_JOB, "-p", "2", "--", "--count", "4"],
        {},
      );
      assert.equal(await run.exited, 0, run.err());
      // (The log file is written asynchronously: ask until all four are there.)
      let complaints: string[] = [];
      const logged = Date.now() + 20_000;
      while (complaints.length < 4 && Date.now() < logged) {
        complaints = [];
        for (const id of ["tm-0", "tm-1"]) {
          const text = await (await fetch(`http://127.0.0.1:${restPort}/taskmanagers/${id}/logs`)).text();
          for (const line of text.trim().split("\n")) {
            const e = JSON.parse(line) as { level: string; msg: string };
            const m = /^slot \d+ stderr: (stderr line \d)$/.exec(e.msg);
            if (m !== null && e.level === "WARN") complaints.push(m[1]!);
          }
        }
        if (complaints.length < 4) await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(
        complaints.sort(),
        [1, 2, 3, 4].map((n) => `stderr line ${n}`),
      );
      const jmLog = await (await fetch(`http://127.0.0.1:${restPort}/jobmanager/log`)).text();
      assert.match(jmLog, /"msg":"TaskManager tm-0 registered: 1 slot\(s\)/);
      assert.ok(existsSync(join(dir, "jobmanager.err")) && existsSync(join(dir, "taskmanager-0.out")));
      const stop = startProcess(["cluster", "stop", "--pid-dir", dir], {});
      assert.equal(await stop.exited, 0, stop.err());
      const gone = Date.now() + 20_000;
      const alive = () =>
        pids.filter((pid) => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        });
      while (alive().length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(alive(), []);
      assert.ok(!existsSync(join(dir, "cluster.json")));
    } finally {
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // exited
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
