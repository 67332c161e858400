// `weir run` prints the watermark doctor's diagnosis when a job ends with windows that never
// fired: a job whose second source subtask reads a split without data, cancelled with Ctrl-C.
// The REST API's doctor tells the test when the diagnosis is there to be printed.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { spawnWeir } from "../cli/cli-harness.ts";

const JOB = "test/metrics/fixtures/stuck-window-job.ts";

describe("weir run and the watermark doctor", () => {
  it("names the split holding the windows back when the job ends", async () => {
    const run = spawnWeir(["run", JOB, "--rest-port", "0"]);
    try {
      await run.until((err) => /REST API at http:\/\/127\.0\.0\.1:\d+/.test(err), "stderr");
      const url = /REST API at (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr())![1]!;
      const { jobs } = (await (await fetch(`${url}/jobs/overview`)).json()) as { jobs: any[] };
      const deadline = Date.now() + 60_000;
      for (;;) {
        const d = (await (await fetch(`${url}/jobs/${jobs[0].jid}/watermarks/doctor`)).json()) as any;
        if (d.findings.some((f: any) => f.cause === "no-data-no-idleness" && f.pendingEventTimeTimers > 0))
          break;
        assert.ok(Date.now() < deadline, `no diagnosis in time: ${JSON.stringify(d)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      run.child.kill("SIGINT");
      const { code } = await run.exited;
      assert.equal(code, 0, run.stderr());
      const err = run.stderr();
      assert.match(err, /^weir: the job ended with windows that never fired; the watermark doctor says:$/m);
      assert.match(
        err,
        /^ {2}'Windows' subtask 0 is without a watermark; \d+ event-time timer\(s\) \(windows\) wait for it; held back by the channel from 'Events' subtask 1.*split 'empty' of source 'Events' subtask 1 has had no data and no idleness is configured/m,
      );
    } finally {
      run.child.kill("SIGKILL");
    }
  });
});
