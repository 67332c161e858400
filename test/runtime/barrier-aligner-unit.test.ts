// The barrier aligner on its own, driven event by event with stand-in channels: which barrier
// blocks which channel, when the snapshot is taken (aligned, at-least-once, unaligned, aligned
// with a timeout), what in-flight data an unaligned checkpoint keeps, and how aborts, ended
// channels and newer barriers end a checkpoint. The timeout is a scheduled action the test runs
// itself: nothing waits on the clock. (Written from mutation testing of barrier-aligner.ts: each
// case pins a behaviour a one-token change broke without any other test noticing.)

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ALIGNED_TIMEOUT,
  AT_LEAST_ONCE,
  EXACTLY_ONCE,
  UNALIGNED,
  bytes,
  setup,
} from "../harness/barrier-aligner-stubs.ts";

describe("BarrierAligner, exactly-once aligned", () => {
  it("blocks each channel at its barrier and snapshots once every channel delivered it", () => {
    const t = setup(3, EXACTLY_ONCE);
    assert.equal(t.aligner.pending, 0);
    const before = performance.now();
    t.barrier(1, 0);
    assert.deepEqual(t.blocked(), [true, false, false]);
    assert.equal(t.aligner.pending, 1);
    t.barrier(1, 2);
    assert.deepEqual(t.blocked(), [true, false, true]);
    assert.equal(t.snapshots.length, 0);
    t.barrier(1, 1);
    const after = performance.now();
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: false, alignedOnly: false }]);
    assert.deepEqual(t.blocked(), [false, false, false], "every channel reads again after the snapshot");
    assert.equal(t.aligner.pending, 0);
    assert.ok(t.aligner.lastAlignmentMs >= 0 && t.aligner.lastAlignmentMs <= after - before);
    assert.equal(t.scheduled.length, 0, "no alignment timeout without unaligned checkpoints");
    assert.equal(t.states.length, 0);
  });

  it("aligns the next checkpoint afresh: the channels of the last one do not count", () => {
    const t = setup(2, EXACTLY_ONCE);
    t.barrier(1, 0);
    t.barrier(1, 1);
    t.barrier(2, 1);
    assert.deepEqual(t.snapshots.length, 1, "checkpoint 2 waits for channel 0");
    assert.deepEqual(t.blocked(), [false, true]);
    t.barrier(2, 0);
    assert.deepEqual(
      t.snapshots.map((s) => s.id),
      [1, 2],
    );
  });

  it("ignores an announcement: only unaligned checkpoints start on it", () => {
    const t = setup(2, EXACTLY_ONCE);
    t.aligner.onAnnounced(1);
    assert.equal(t.snapshots.length, 0);
    assert.equal(t.aligner.pending, 0);
  });

  it("a newer barrier supersedes the checkpoint being aligned and releases its channels", () => {
    const t = setup(2, EXACTLY_ONCE);
    t.barrier(1, 0);
    t.barrier(2, 1);
    assert.equal(t.snapshots.length, 0, "channel 0 has not delivered barrier 2");
    assert.deepEqual(t.blocked(), [false, true]);
    assert.equal(t.aligner.pending, 2);
    t.barrier(2, 0);
    assert.deepEqual(t.snapshots, [{ id: 2, unaligned: false, alignedOnly: false }]);
  });

  it("an ended channel no longer takes part in the alignment", () => {
    const t = setup(3, EXACTLY_ONCE);
    t.barrier(1, 0);
    t.end(2);
    assert.equal(t.snapshots.length, 0);
    t.end(1);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: false, alignedOnly: false }]);
    assert.deepEqual(t.blocked(), [false, false, false]);
  });

  it("channels ending with no checkpoint pending snapshot nothing", () => {
    const t = setup(2, EXACTLY_ONCE);
    t.end(0);
    t.end(1);
    assert.equal(t.snapshots.length, 0);
    assert.equal(t.states.length, 0);
  });

  it("abort releases the blocked channels and the aborted checkpoint's later barriers are ignored", () => {
    const t = setup(2, EXACTLY_ONCE);
    t.barrier(1, 0);
    t.aligner.abort(7);
    assert.deepEqual(t.blocked(), [true, false], "aborting another checkpoint changes nothing");
    assert.equal(t.aligner.pending, 1);
    t.aligner.abort(1);
    assert.deepEqual(t.blocked(), [false, false]);
    assert.equal(t.aligner.pending, 0);
    t.barrier(1, 1);
    assert.deepEqual(t.blocked(), [false, false], "a barrier of an aborted checkpoint blocks nothing");
    assert.equal(t.aligner.pending, 0);
    t.barrier(1, 0);
    assert.equal(t.snapshots.length, 0);
    t.barrier(2, 0);
    t.barrier(2, 1);
    assert.deepEqual(
      t.snapshots.map((s) => s.id),
      [2],
    );
  });

  it("a savepoint's aligned-only barriers align and say so", () => {
    const t = setup(2, EXACTLY_ONCE);
    t.barrier(3, 0, true);
    assert.deepEqual(t.blocked(), [true, false]);
    t.barrier(3, 1, true);
    assert.deepEqual(t.snapshots, [{ id: 3, unaligned: false, alignedOnly: true }]);
  });
});

describe("BarrierAligner, at-least-once", () => {
  it("never blocks and snapshots when the last barrier arrives", () => {
    const t = setup(2, AT_LEAST_ONCE);
    t.barrier(1, 0);
    assert.deepEqual(t.blocked(), [false, false]);
    assert.equal(t.aligner.pending, 1);
    t.barrier(1, 1);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: false, alignedOnly: false }]);
  });

  it("an older barrier arriving after a newer one does not complete the newer checkpoint", () => {
    const t = setup(2, AT_LEAST_ONCE);
    t.barrier(1, 0);
    t.barrier(2, 0); // channel 0 is not blocked: it runs ahead to checkpoint 2
    t.barrier(1, 1);
    assert.equal(t.snapshots.length, 0, "channel 1's data before barrier 2 is not in checkpoint 2 yet");
    t.barrier(2, 1);
    assert.deepEqual(t.snapshots, [{ id: 2, unaligned: false, alignedOnly: false }]);
  });

  it("a savepoint's aligned-only barriers block even without exactly-once", () => {
    const t = setup(2, AT_LEAST_ONCE);
    t.barrier(4, 1, true);
    assert.deepEqual(t.blocked(), [false, true]);
  });
});

describe("BarrierAligner, unaligned", () => {
  it("starts on the announcement and records every channel until its barrier", () => {
    const t = setup(2, UNALIGNED);
    t.aligner.onAnnounced(1);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: true, alignedOnly: false }]);
    assert.equal(t.aligner.lastAlignmentMs, 0);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[1], [1]],
    );
    assert.equal(t.aligner.pending, 1);
    t.aligner.onAnnounced(1); // the other channel's announcement of the same barrier
    assert.equal(t.snapshots.length, 1);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[1], [1]],
    );
    t.barrier(1, 1);
    assert.equal(t.states.length, 0);
    assert.deepEqual(t.blocked(), [false, false], "unaligned checkpoints never block");
    t.barrier(1, 0);
    assert.deepEqual(t.states, [
      {
        id: 1,
        inputs: [
          [1, 0, ["in-flight 1 of 1"]],
          [0, 0, ["in-flight 0 of 1"]],
        ],
      },
    ]);
    assert.equal(t.aligner.pending, 0);
    t.aligner.onAnnounced(1); // a late announcement of a completed checkpoint
    t.barrier(1, 1);
    assert.equal(t.snapshots.length, 1);
    assert.equal(t.states.length, 1);
  });

  it("a channel's barrier read after its recording completed is ignored", () => {
    const t = setup(2, UNALIGNED);
    t.aligner.onAnnounced(1);
    t.stubs[0]!.recordingSpillNeed = 9;
    t.aligner.channelRecorded(1, t.ch[0]!); // the channel saw its barrier arrive
    t.aligner.channelRecorded(1, t.ch[0]!); // told twice: recorded once
    t.barrier(1, 0); // then the task reads that barrier
    assert.equal(t.snapshots.length, 1);
    assert.equal(t.states.length, 0);
    t.aligner.channelRecorded(1, t.ch[1]!);
    assert.deepEqual(t.states, [
      {
        id: 1,
        inputs: [
          [0, 9, ["in-flight 0 of 1"]],
          [1, 0, ["in-flight 1 of 1"]],
        ],
      },
    ]);
  });

  it("a barrier read before its announcement ran starts the checkpoint; that channel records nothing", () => {
    const t = setup(3, UNALIGNED);
    t.barrier(1, 1);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[1], [], [1]],
    );
    t.aligner.onAnnounced(1);
    assert.equal(t.snapshots.length, 1);
    t.barrier(1, 0);
    t.barrier(1, 2);
    assert.deepEqual(t.states, [
      {
        id: 1,
        inputs: [
          [0, 0, ["in-flight 0 of 1"]],
          [2, 0, ["in-flight 2 of 1"]],
        ],
      },
    ]);
  });

  it("with one channel the checkpoint completes at its barrier, with no in-flight data", () => {
    const t = setup(1, UNALIGNED);
    t.barrier(5, 0);
    assert.deepEqual(t.snapshots, [{ id: 5, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(t.states, [{ id: 5, inputs: [] }]);
  });

  it("completes once when every channel's barrier is already queued", () => {
    const t = setup(2, UNALIGNED);
    for (const s of t.stubs) s.barrierQueued = 1;
    t.aligner.onAnnounced(1);
    assert.deepEqual(t.states, [
      {
        id: 1,
        inputs: [
          [0, 0, ["in-flight 0 of 1"]],
          [1, 0, ["in-flight 1 of 1"]],
        ],
      },
    ]);
    t.barrier(1, 0);
    t.barrier(1, 1);
    assert.equal(t.states.length, 1);
    assert.equal(t.snapshots.length, 1);
  });

  it("a channel with its barrier queued completes at once, the others when theirs comes", () => {
    const t = setup(2, UNALIGNED);
    t.stubs[0]!.barrierQueued = 1;
    t.aligner.onAnnounced(1);
    assert.equal(t.states.length, 0);
    t.barrier(1, 1);
    assert.deepEqual(
      t.states.map((s) => s.inputs.map((i) => i[0])),
      [[0, 1]],
    );
  });

  it("an ended channel completes its recording; channels still open go on recording", () => {
    const t = setup(3, UNALIGNED);
    t.aligner.onAnnounced(1);
    t.end(2);
    assert.equal(t.states.length, 0);
    t.end(1);
    assert.equal(t.states.length, 0);
    t.barrier(1, 0);
    assert.deepEqual(
      t.states.map((s) => s.inputs.map((i) => i[0])),
      [[2, 1, 0]],
    );
  });

  it("an ended channel is not recorded at all", () => {
    const t = setup(2, UNALIGNED);
    t.end(0);
    t.aligner.onAnnounced(1);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[], [1]],
    );
    t.barrier(1, 1);
    assert.deepEqual(
      t.states.map((s) => s.inputs.map((i) => i[0])),
      [[1]],
    );
  });

  it("abort stops the recording and the aborted checkpoint's barriers are ignored", () => {
    const t = setup(2, UNALIGNED);
    t.aligner.onAnnounced(1);
    t.aligner.abort(6);
    assert.equal(t.aligner.pending, 1, "aborting another checkpoint changes nothing");
    assert.deepEqual(
      t.stubs.map((s) => s.recording !== undefined),
      [true, true],
    );
    t.aligner.abort(1);
    assert.equal(t.aligner.pending, 0);
    assert.deepEqual(
      t.stubs.map((s) => s.recording),
      [undefined, undefined],
    );
    t.aligner.channelRecorded(1, t.ch[0]!);
    t.barrier(1, 0);
    t.barrier(1, 1);
    t.end(0);
    assert.equal(t.snapshots.length, 1);
    assert.equal(t.states.length, 0);
    t.aligner.onAnnounced(2);
    t.barrier(2, 0);
    t.barrier(2, 1);
    assert.deepEqual(
      t.states.map((s) => s.id),
      [2],
    );
  });

  it("a newer barrier supersedes an unfinished unaligned checkpoint", () => {
    const t = setup(2, UNALIGNED);
    t.aligner.onAnnounced(1);
    t.barrier(2, 0); // channel 0's checkpoint 1 barrier never came (declined upstream)
    assert.deepEqual(
      t.snapshots.map((s) => s.id),
      [1, 2],
    );
    assert.equal(t.stubs[0]!.recording, undefined, "channel 0 no longer records for checkpoint 1");
    assert.deepEqual(t.stubs[1]!.started, [1, 2]);
    t.barrier(2, 1);
    assert.deepEqual(t.states, [{ id: 2, inputs: [[1, 0, ["in-flight 1 of 2"]]] }]);
  });

  it("a newer announcement supersedes an unfinished unaligned checkpoint", () => {
    const t = setup(2, UNALIGNED);
    t.aligner.onAnnounced(1);
    t.aligner.channelRecorded(1, t.ch[0]!);
    t.aligner.onAnnounced(2);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [
        [1, 2],
        [1, 2],
      ],
    );
    t.aligner.channelRecorded(2, t.ch[0]!);
    t.aligner.channelRecorded(2, t.ch[1]!);
    assert.deepEqual(
      t.states.map((s) => [s.id, s.inputs.length]),
      [[2, 2]],
    );
  });

  it("a savepoint's aligned-only barriers align, and an unaligned checkpoint after them releases the channels", () => {
    const t = setup(2, UNALIGNED);
    t.barrier(1, 0, true);
    assert.equal(t.snapshots.length, 0, "aligned-only: no unaligned snapshot");
    assert.deepEqual(t.blocked(), [true, false]);
    assert.equal(t.scheduled.length, 0);
    t.barrier(1, 1, true);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: false, alignedOnly: true }]);
    t.barrier(2, 0, true);
    assert.deepEqual(t.blocked(), [true, false]);
    t.aligner.onAnnounced(3);
    assert.deepEqual(t.blocked(), [false, false]);
    assert.deepEqual(t.snapshots.at(-1), { id: 3, unaligned: true, alignedOnly: false });
  });

  it("a split element's start on the channel whose barrier started it is in-flight data", () => {
    const t = setup(2, UNALIGNED);
    t.stubs[0]!.partial = [12, bytes("head")];
    t.barrier(1, 0);
    t.barrier(1, 1);
    assert.deepEqual(t.states, [
      {
        id: 1,
        inputs: [
          [0, 12, ["head"]],
          [1, 0, ["in-flight 1 of 1"]],
        ],
      },
    ]);
  });
});

describe("BarrierAligner, aligned with a timeout", () => {
  it("aligns first; when the timeout fires it snapshots unaligned, recording the late channels", () => {
    const t = setup(3, ALIGNED_TIMEOUT);
    const before = performance.now();
    t.aligner.onAnnounced(1); // announcements do not start anything while aligning first
    assert.equal(t.snapshots.length, 0);
    t.barrier(1, 0);
    assert.equal(t.snapshots.length, 0);
    assert.deepEqual(t.blocked(), [true, false, false]);
    assert.deepEqual(
      t.scheduled.map((s) => s.ms),
      [50],
    );
    t.barrier(1, 1);
    assert.deepEqual(t.scheduled.length, 1, "one timeout per checkpoint");
    t.scheduled[0]!.action();
    const after = performance.now();
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(t.blocked(), [false, false, false]);
    assert.ok(t.aligner.lastAlignmentMs >= 0 && t.aligner.lastAlignmentMs <= after - before);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[], [], [1]],
    );
    t.barrier(1, 2);
    assert.deepEqual(t.states, [{ id: 1, inputs: [[2, 0, ["in-flight 2 of 1"]]] }]);
  });

  it("a timeout firing after the alignment finished does nothing", () => {
    const t = setup(2, ALIGNED_TIMEOUT);
    t.barrier(1, 0);
    t.barrier(1, 1);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: false, alignedOnly: false }]);
    t.barrier(2, 0);
    t.scheduled[0]!.action(); // checkpoint 1's timeout, while 2 aligns
    assert.deepEqual(t.snapshots.length, 1);
    assert.deepEqual(t.blocked(), [true, false]);
    t.barrier(2, 1);
    assert.deepEqual(
      t.snapshots.map((s) => [s.id, s.unaligned]),
      [
        [1, false],
        [2, false],
      ],
    );
    t.scheduled[1]!.action();
    assert.equal(t.snapshots.length, 2);
    assert.equal(t.states.length, 0);
  });

  it("aligned-only barriers never time out", () => {
    const t = setup(2, ALIGNED_TIMEOUT);
    t.barrier(1, 0, true);
    assert.equal(t.scheduled.length, 0);
    assert.deepEqual(t.blocked(), [true, false]);
  });

  it("a barrier that split an element turns the checkpoint unaligned at once, keeping the start", () => {
    const t = setup(2, ALIGNED_TIMEOUT);
    t.stubs[1]!.partial = [40, bytes("start")];
    t.barrier(2, 1);
    assert.deepEqual(t.snapshots, [{ id: 2, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(t.blocked(), [false, false]);
    t.barrier(2, 0);
    assert.deepEqual(t.states, [
      {
        id: 2,
        inputs: [
          [1, 40, ["start"]],
          [0, 0, ["in-flight 0 of 2"]],
        ],
      },
    ]);
  });

  it("an aligned-only barrier that split an element stays aligned", () => {
    const t = setup(2, ALIGNED_TIMEOUT);
    t.stubs[1]!.partial = [40, bytes("start")];
    t.barrier(2, 1, true);
    assert.equal(t.snapshots.length, 0);
    assert.deepEqual(t.blocked(), [false, true]);
  });
});

describe("BarrierAligner, aligned exactly-once with a split element", () => {
  it("stays aligned: only unaligned checkpoints keep a split element's start", () => {
    const t = setup(2, EXACTLY_ONCE);
    t.stubs[0]!.partial = [8, bytes("ab")];
    t.barrier(1, 0);
    assert.equal(t.snapshots.length, 0);
    t.barrier(1, 1);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: false, alignedOnly: false }]);
    assert.equal(t.states.length, 0);
  });
});

it("BarrierAligner: an exactly-once aligner with an alignment timeout but no unaligned checkpoints never schedules one", () => {
  const t = setup(2, { exactlyOnce: true, unaligned: false, alignedTimeout: 100 });
  t.barrier(1, 0);
  t.aligner.onAnnounced(1);
  assert.equal(t.scheduled.length, 0);
  assert.equal(t.snapshots.length, 0);
});
