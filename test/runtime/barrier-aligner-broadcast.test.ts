// The barrier aligner with channels of broadcast edges (InputChannel.alignedBarriers), whose
// barriers come in order even in unaligned checkpoints (FLINK-22815): each such channel blocks at
// its barrier, the unaligned snapshot waits until all of them have delivered it, and only then do
// the other channels that are not past their barrier record their data as in-flight state. Those
// channels are read meanwhile (what is read goes into the snapshot) and block at their own
// barrier. Aborts, newer checkpoints, ended channels and the aligned timeout (which never turns a
// broadcast channel unaligned) are driven event by event; nothing waits on the clock.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ALIGNED_TIMEOUT, EXACTLY_ONCE, UNALIGNED, bytes, setup } from "../harness/barrier-aligner-stubs.ts";

describe("BarrierAligner, unaligned with broadcast channels", () => {
  it("an announcement waits for the broadcast channels, each blocked at its barrier; then the others record", () => {
    // Channels 0 and 1 are of a keyed edge, 2 and 3 of a broadcast edge.
    const t = setup(4, UNALIGNED, [2, 3]);
    const before = performance.now();
    t.aligner.onAnnounced(1);
    assert.equal(t.snapshots.length, 0, "the broadcast channels have not delivered barrier 1");
    assert.equal(t.aligner.pending, 1);
    t.barrier(1, 2);
    assert.deepEqual(t.blocked(), [false, false, true, false]);
    t.aligner.onAnnounced(1); // the other keyed channel's announcement: the alignment goes on
    assert.deepEqual(t.blocked(), [false, false, true, false]);
    assert.equal(t.snapshots.length, 0);
    // A keyed channel read up to its barrier before the snapshot: blocked, nothing of it recorded.
    t.barrier(1, 0);
    assert.deepEqual(t.blocked(), [true, false, true, false]);
    assert.equal(t.snapshots.length, 0);
    t.barrier(1, 3);
    const after = performance.now();
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(t.blocked(), [false, false, false, false], "every channel reads again");
    assert.equal(t.scheduled.length, 0, "unaligned from the start: no alignment timeout");
    assert.ok(t.aligner.lastAlignmentMs >= 0 && t.aligner.lastAlignmentMs <= after - before);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[], [1], [], []],
      "only the keyed channel not past its barrier records",
    );
    assert.equal(t.states.length, 0);
    t.barrier(1, 1);
    assert.deepEqual(t.states, [{ id: 1, inputs: [[1, 0, ["in-flight 1 of 1"]]] }]);
    assert.equal(t.aligner.pending, 0);
    t.barrier(1, 1); // late: ignored
    assert.equal(t.snapshots.length, 1);
    assert.deepEqual(t.blocked(), [false, false, false, false]);
  });

  it("a broadcast barrier read before any announcement starts the checkpoint; the last one snapshots", () => {
    const t = setup(3, UNALIGNED, [2]);
    t.barrier(1, 2);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[1], [1], []],
    );
    t.aligner.onAnnounced(1);
    t.barrier(1, 0);
    assert.equal(t.states.length, 0);
    t.barrier(1, 1);
    assert.deepEqual(
      t.states.map((s) => s.inputs.map((i) => i[0])),
      [[0, 1]],
    );
  });

  it("an unaligned barrier read before the broadcast ones blocks its channel instead of starting the snapshot", () => {
    const t = setup(3, UNALIGNED, [2]);
    t.stubs[0]!.partial = [12, bytes("head")]; // the barrier split an element: its start is in flight
    t.barrier(1, 0);
    assert.equal(t.snapshots.length, 0);
    assert.deepEqual(t.blocked(), [true, false, false]);
    t.barrier(1, 2);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[], [1], []],
    );
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

  it("every channel past its barrier before the snapshot: unaligned all the same, with nothing in flight", () => {
    const t = setup(2, UNALIGNED, [1]);
    t.barrier(4, 0);
    t.barrier(4, 1);
    assert.deepEqual(t.snapshots, [{ id: 4, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(t.states, [{ id: 4, inputs: [] }]);
  });

  it("an ended broadcast channel no longer holds the snapshot; with all ended, unaligned starts at once", () => {
    const t = setup(3, UNALIGNED, [1, 2]);
    t.aligner.onAnnounced(1);
    t.barrier(1, 1);
    assert.equal(t.snapshots.length, 0);
    t.end(2);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[1], [], []],
    );
    t.barrier(1, 0);
    t.end(1);
    t.aligner.onAnnounced(2);
    assert.deepEqual(t.snapshots.at(-1), { id: 2, unaligned: true, alignedOnly: false });
    assert.equal(t.aligner.lastAlignmentMs, 0);
    assert.deepEqual(t.stubs[0]!.started, [1, 2]);
    t.barrier(2, 0);
    t.barrier(3, 0); // read before its announcement ran: started at once, no alignment either
    assert.deepEqual(t.snapshots.at(-1), { id: 3, unaligned: true, alignedOnly: false });
    assert.equal(t.aligner.lastAlignmentMs, 0);
  });

  it("abort releases the blocked channels; the aborted checkpoint's later barriers are ignored", () => {
    const t = setup(3, UNALIGNED, [1, 2]);
    t.aligner.onAnnounced(1);
    t.barrier(1, 1);
    t.aligner.abort(5);
    assert.deepEqual(t.blocked(), [false, true, false], "aborting another checkpoint changes nothing");
    t.aligner.abort(1);
    assert.deepEqual(t.blocked(), [false, false, false]);
    assert.equal(t.aligner.pending, 0);
    t.barrier(1, 2);
    t.aligner.onAnnounced(1);
    assert.deepEqual(t.blocked(), [false, false, false]);
    assert.equal(t.snapshots.length, 0);
    assert.equal(t.aligner.pending, 0);
    t.barrier(2, 1);
    t.barrier(2, 2);
    assert.deepEqual(t.snapshots, [{ id: 2, unaligned: true, alignedOnly: false }]);
  });

  it("a newer checkpoint supersedes one still waiting for its broadcast barriers", () => {
    const t = setup(3, UNALIGNED, [1, 2]);
    t.aligner.onAnnounced(1);
    t.barrier(1, 1);
    t.aligner.onAnnounced(2); // checkpoint 1 was given up upstream
    assert.deepEqual(t.blocked(), [false, false, false], "checkpoint 1's channels are released");
    assert.equal(t.aligner.pending, 2);
    t.barrier(1, 2); // checkpoint 1's barrier: too old
    assert.deepEqual(t.blocked(), [false, false, false]);
    t.barrier(2, 1);
    t.barrier(2, 2);
    assert.deepEqual(t.snapshots, [{ id: 2, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[2], [], []],
    );
  });

  it("a newer checkpoint waits for its broadcast barriers while the older one's recording goes on", () => {
    const t = setup(3, UNALIGNED, [2]);
    t.barrier(1, 2);
    assert.deepEqual(t.snapshots.length, 1);
    t.aligner.onAnnounced(2);
    assert.equal(t.snapshots.length, 1);
    t.barrier(1, 0);
    t.barrier(1, 1);
    assert.deepEqual(
      t.states.map((s) => s.id),
      [1],
    );
    t.barrier(2, 2);
    assert.deepEqual(
      t.snapshots.map((s) => s.id),
      [1, 2],
    );
  });

  it("a savepoint's aligned-only barriers align every channel, as without broadcast channels", () => {
    const t = setup(2, UNALIGNED, [1]);
    t.barrier(3, 1, true);
    t.barrier(3, 0, true);
    assert.deepEqual(t.snapshots, [{ id: 3, unaligned: false, alignedOnly: true }]);
  });

  it("aligned checkpoints: a broadcast channel is one more channel to align", () => {
    const t = setup(2, EXACTLY_ONCE, [1]);
    t.barrier(1, 1);
    assert.equal(t.snapshots.length, 0);
    t.barrier(1, 0);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: false, alignedOnly: false }]);
  });
});

describe("BarrierAligner, aligned with a timeout and broadcast channels", () => {
  it("the timeout never turns a broadcast channel unaligned: the snapshot waits for its barrier", () => {
    const t = setup(3, ALIGNED_TIMEOUT, [2]);
    t.barrier(1, 0);
    assert.deepEqual(t.blocked(), [true, false, false]);
    t.scheduled[0]!.action();
    assert.equal(t.snapshots.length, 0, "channel 2 (broadcast) has not delivered barrier 1");
    assert.deepEqual(t.blocked(), [true, false, false]);
    t.barrier(1, 2);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[], [1], []],
    );
    t.barrier(1, 1);
    assert.deepEqual(t.states, [{ id: 1, inputs: [[1, 0, ["in-flight 1 of 1"]]] }]);
  });

  it("the timeout after the broadcast barriers came snapshots at once", () => {
    const t = setup(3, ALIGNED_TIMEOUT, [2]);
    t.barrier(1, 2);
    assert.equal(t.snapshots.length, 0, "aligned first: channels 0 and 1 may still deliver in time");
    t.scheduled[0]!.action();
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: true, alignedOnly: false }]);
    assert.deepEqual(
      t.stubs.map((s) => s.started),
      [[1], [1], []],
    );
  });

  it("without a timeout, every channel's barrier makes an aligned snapshot", () => {
    const t = setup(2, ALIGNED_TIMEOUT, [1]);
    t.barrier(1, 1);
    t.barrier(1, 0);
    assert.deepEqual(t.snapshots, [{ id: 1, unaligned: false, alignedOnly: false }]);
  });
});
