// The sink operator's two-phase commit, one operator in a harness: what a checkpoint keeps (only
// committables not known to be committed), which notification commits what (every staged
// checkpoint up to the completed one, once), what a restore commits again, and when the sink is
// asked to remove leftovers of earlier attempts (after a restore, on subtask 0 only, with every
// restored committable; never on a fresh start).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DataStream } from "../../src/index.ts";
import type {
  Committer,
  PrecommittingSinkWriter,
  SinkWriterContext,
  TwoPhaseCommittingSink,
} from "../../src/core/sink.ts";
import { OneInputHarness } from "../../src/testing/index.ts";

/** Stages what was written since the last prepareCommit as one committable "id:a,b"; logs calls. */
class RecordingSink implements TwoPhaseCommittingSink<string, string> {
  readonly log: string[] = [];
  createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<string, string> {
    let buffered: string[] = [];
    return {
      write: (v) => {
        buffered.push(v);
      },
      prepareCommit: (id) => {
        const out = buffered.length === 0 ? [] : [`${ctx.subtaskIndex}/${id}:${buffered.join(",")}`];
        buffered = [];
        return out;
      },
    };
  }
  createCommitter(): Committer<string> {
    return {
      commit: (cs) => {
        this.log.push(`commit ${cs.join(" ")}`);
      },
    };
  }
  abortLeftovers(ctx: SinkWriterContext, restored: string[]): void {
    this.log.push(`abortLeftovers@${ctx.subtaskIndex} [${restored.join(" ")}]`);
  }
}

function sinkHarness(sink: RecordingSink, p = 1, i = 0) {
  // The harness drives a sink as any one-input operator; its build returns the sink's stream end.
  const build = (s: DataStream<string>) => s.sinkTo(sink).uid("sink") as unknown as DataStream<never>;
  return OneInputHarness.of(build, {
    parallelism: p,
    subtaskIndex: i,
  });
}

describe("sink operator: two-phase commits", () => {
  it("a fresh start asks for no leftover removal; a completed checkpoint commits once and leaves the snapshot", async () => {
    const sink = new RecordingSink();
    const h = sinkHarness(sink);
    await h.open();
    h.processElement("a");
    await h.snapshot(1);
    h.processElement("b");
    await h.snapshot(2);
    assert.deepEqual(sink.log, [], "nothing committed before a checkpoint completes");
    h.notifyCheckpointComplete(2); // 1's notification was lost: 2 covers it
    assert.deepEqual(sink.log, ["commit 0/1:a", "commit 0/2:b"]);
    h.notifyCheckpointComplete(2);
    assert.equal(sink.log.length, 2, "committed once");
    const after = await h.snapshot(3);
    await h.close();

    // Restored from a snapshot taken after the commits: nothing to commit again.
    const again = new RecordingSink();
    const r = sinkHarness(again);
    await r.initializeState(after);
    await r.open();
    assert.deepEqual(again.log, ["abortLeftovers@0 []"]);
  });

  it("a restore commits the snapshot's committables again, then subtask 0 alone removes leftovers", async () => {
    const snaps = [];
    for (const i of [0, 1]) {
      const sink = new RecordingSink();
      const h = sinkHarness(sink, 2, i);
      await h.open();
      h.processElement(`x${i}`);
      await h.snapshot(4);
      h.processElement(`y${i}`);
      snaps.push(await h.snapshot(5));
      await h.close();
    }
    const s0 = new RecordingSink();
    const h0 = sinkHarness(s0, 1, 0);
    await h0.initializeState(snaps);
    await h0.open();
    assert.deepEqual(s0.log, [
      "commit 0/4:x0",
      "commit 1/4:x1",
      "commit 0/5:y0",
      "commit 1/5:y1",
      "abortLeftovers@0 [0/4:x0 1/4:x1 0/5:y0 1/5:y1]",
    ]);

    const s1 = new RecordingSink();
    const h1 = sinkHarness(s1, 2, 1);
    await h1.initializeState(snaps);
    await h1.open();
    assert.ok(
      s1.log.every((l) => !l.startsWith("abortLeftovers")),
      `subtask 1 does not remove leftovers: ${s1.log.join("; ")}`,
    );
  });
});
