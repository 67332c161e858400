// The watermark doctor fed synthetic task snapshots: situations a real job reaches only by chance
// or after a long time (a lag just at the threshold, an assigner whose siblings are idle or of
// another operator, a loop of channels, hours of lag), each answer checked exactly.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JobVertexInfo } from "../../src/runtime/metrics/job-metrics.ts";
import type {
  AssignerWatermarkInfo,
  ChannelWatermarkInfo,
  SplitWatermarkInfo,
  TaskMetricsSnapshot,
  TaskWatermarkInfo,
} from "../../src/runtime/metrics/task-metrics-snapshot.ts";
import { diagnoseWatermarks, windowsNeverFiredLines } from "../../src/runtime/metrics/watermark-doctor.ts";

const NONE = Number.NEGATIVE_INFINITY;

const vertices: JobVertexInfo[] = [
  { id: 1, name: "Events", parallelism: 2, operators: [] },
  { id: 2, name: "Windows", parallelism: 1, operators: [] },
  { id: 3, name: "Events -> Stamps", parallelism: 4, operators: [] },
];

function task(
  vertexId: number,
  subtask: number,
  watermarks: Partial<TaskWatermarkInfo> | undefined,
  metrics: Record<string, number> = {},
  state = "running",
): TaskMetricsSnapshot {
  return {
    vertexId,
    subtask,
    attempt: 0,
    taskName: `task-${vertexId}`,
    state,
    timestamp: 0,
    metrics,
    operators: [],
    ...(watermarks === undefined ? {} : { watermarks: { pendingTimers: [], ...watermarks } }),
  };
}

const split = (splitId: string, watermark: number, records = 10, recordsPerSecond = 10, idle = false) =>
  ({ splitId, watermark, idle, records, recordsPerSecond }) satisfies SplitWatermarkInfo;

const channel = (producerVertexId: number, producerSubtask: number, watermark: number, more = {}) =>
  ({
    producerVertexId,
    producerSubtask,
    watermark,
    idle: false,
    ended: false,
    ...more,
  }) satisfies ChannelWatermarkInfo;

const source = (splits: SplitWatermarkInfo[], idleTimeoutMs: number | null = null, eventTime = true) => ({
  source: { eventTime, idleTimeoutMs, splits },
});

/** A source task at `w` whose one split is at `w`: the job's frontier. */
const ahead = (subtask: number, w: number) =>
  task(1, subtask, source([split(`s${subtask}`, w)]), {
    currentInputWatermark: w,
    currentOutputWatermark: w,
  });

/** The window task, reading channels from the source's subtasks, with `timers` windows waiting. */
const windows = (w: number, channels: ChannelWatermarkInfo[], timers = [2, 1]) =>
  task(
    2,
    0,
    {
      channels,
      pendingTimers: timers.map((n, i) => ({ uid: `w${i}`, name: "Windows", eventTimeTimers: n })),
    },
    { currentInputWatermark: w },
  );

const assigner = (watermark: number, more: Partial<AssignerWatermarkInfo> = {}): AssignerWatermarkInfo => ({
  uid: "stamps",
  name: "Stamps",
  watermark,
  idle: false,
  idleTimeoutMs: null,
  records: 100,
  recordsPerSecond: 100,
  ...more,
});

/** The diagnosis of the window task reading a lagging source subtask 1 with these splits. */
function behindSource(splits: SplitWatermarkInfo[], idleTimeoutMs: number | null = null, eventTime = true) {
  const d = diagnoseWatermarks(vertices, [
    ahead(0, 50_000),
    task(1, 1, source(splits, idleTimeoutMs, eventTime), { currentInputWatermark: 50_000 }),
    windows(NONE, [channel(1, 0, 50_000), channel(1, 1, 2_000)]),
  ]);
  const f = d.findings.find((x) => x.vertexId === 2);
  assert.ok(f !== undefined, JSON.stringify(d));
  return f;
}

/** The diagnosis of subtask 1 of a chain source -> assigner, beside its siblings. */
function assignerFinding(mine: AssignerWatermarkInfo, siblings: Array<AssignerWatermarkInfo | undefined>) {
  // `undefined`: no snapshot of that subtask.
  const tasks = [mine, ...siblings].flatMap((a, i) =>
    a === undefined
      ? []
      : [
          task(
            3,
            i === 0 ? 1 : i === 1 ? 0 : i,
            { assigner: a },
            {
              currentInputWatermark: NONE,
              currentOutputWatermark: a.watermark,
            },
          ),
        ],
  );
  const d = diagnoseWatermarks(vertices, [...tasks, ahead(0, 90_000)], { minLagMs: 0 });
  const f = d.findings.find((x) => x.vertexId === 3 && x.subtask === 1);
  assert.ok(f !== undefined, JSON.stringify(d));
  return f;
}

describe("watermark doctor on synthetic snapshots", () => {
  it("follows the lowest channel to a split without data: the whole answer", () => {
    const d = diagnoseWatermarks(vertices, [
      ahead(0, 10_000),
      task(1, 1, source([split("b", NONE, 0, 0)]), { currentInputWatermark: NONE }),
      windows(NONE, [channel(1, 0, 10_000), channel(1, 1, NONE)]),
    ]);
    assert.equal(d.frontier, 10_000);
    assert.deepEqual(
      d.findings.map((f) => [
        f.vertexName,
        f.subtask,
        f.watermark,
        f.lagMs,
        f.pendingEventTimeTimers,
        f.cause,
      ]),
      [
        ["Events", 1, null, null, 0, "no-data-no-idleness"],
        ["Windows", 0, null, null, 3, "no-data-no-idleness"],
      ],
    );
    const w = d.findings[1]!;
    assert.deepEqual(w.path, [
      {
        vertexId: 2,
        vertexName: "Windows",
        subtask: 0,
        input: { kind: "channel", producerVertexId: 1, producerName: "Events", producerSubtask: 1 },
        watermark: null,
        othersWatermark: 10_000,
        behindMs: null,
      },
      {
        vertexId: 1,
        vertexName: "Events",
        subtask: 1,
        input: { kind: "split", splitId: "b" },
        watermark: null,
        othersWatermark: null,
        behindMs: null,
      },
    ]);
    assert.equal(
      w.message,
      "'Windows' subtask 0 is without a watermark; 3 event-time timer(s) (windows) wait for it; held back by the channel from 'Events' subtask 1 (no watermark, the other inputs have one), in turn held by split 'b': split 'b' of source 'Events' subtask 1 has had no data and no idleness is configured, so it holds the watermark back for good; add .withIdleness(ms) to the WatermarkStrategy",
    );
    assert.deepEqual(windowsNeverFiredLines(d), [
      "weir: the job ended with windows that never fired; the watermark doctor says:",
      `  ${w.message}`,
    ]);
  });

  it("a lag of exactly min-lag is no finding, one more millisecond is", () => {
    const at = (w: number, minLagMs?: number) =>
      diagnoseWatermarks(
        vertices,
        [ahead(0, 10_000), windows(w, [channel(1, 0, 10_000), channel(1, 1, w)])],
        minLagMs === undefined ? {} : { minLagMs },
      ).findings.map((f) => f.lagMs);
    assert.deepEqual(at(9_000), [], "1000 ms: the default min-lag");
    assert.deepEqual(at(8_999), [1_001]);
    assert.deepEqual(at(9_990, 10), []);
    assert.deepEqual(at(9_989, 10), [11]);
    assert.deepEqual(at(10_000, 0), []);
  });

  it("a lag is measured from the furthest watermark anywhere, the end of time left out", () => {
    const frontierOf = (t: TaskMetricsSnapshot) =>
      diagnoseWatermarks(vertices, [t, windows(0, [channel(1, 0, 0)])], { minLagMs: 0 }).frontier;
    const metricsOnly = (metrics: Record<string, number>) => task(1, 0, {}, metrics);
    assert.equal(frontierOf(metricsOnly({ currentInputWatermark: 7 })), 7);
    assert.equal(frontierOf(metricsOnly({ currentOutputWatermark: 8 })), 8);
    assert.equal(frontierOf({ ...metricsOnly({}), operators: [operatorAt(9)] }), 9);
    assert.equal(frontierOf(task(1, 0, source([split("a", 11), split("b", 4)]))), 11);
    assert.equal(
      frontierOf(metricsOnly({ currentInputWatermark: Number.POSITIVE_INFINITY, currentOutputWatermark: 3 })),
      3,
    );
    // The window task itself is at 0: the frontier is at least that.
    assert.equal(frontierOf(metricsOnly({ currentOutputWatermark: -5 })), 0);
  });

  it("finished subtasks, subtasks at the end of time and older snapshots are no findings", () => {
    const d = diagnoseWatermarks(vertices, [
      ahead(0, 10_000),
      task(2, 0, { pendingTimers: [{ uid: "w", name: "Windows", eventTimeTimers: 1 }] }, {}, "finished"),
      task(2, 1, {}, { currentInputWatermark: Number.POSITIVE_INFINITY }),
      task(2, 2, undefined, { currentInputWatermark: 0 }),
      task(2, 3, {}, { currentInputWatermark: 0 }),
    ]);
    assert.deepEqual(
      d.findings.map((f) => [f.subtask, f.lagMs, f.cause]),
      [[3, 10_000, undefined]],
    );
    assert.equal(d.findings[0]!.message, "'Windows' subtask 3 is at 0, 10.0 s behind the furthest source");
  });

  it("without any watermark, only subtasks with windows waiting are findings", () => {
    const d = diagnoseWatermarks(vertices, [
      task(1, 0, source([split("a", NONE)], null, false)),
      windows(NONE, [channel(1, 0, NONE)], [1]),
      task(2, 1, { channels: [channel(1, 0, NONE)] }),
    ]);
    assert.equal(d.frontier, null);
    assert.deepEqual(
      d.findings.map((f) => [f.vertexName, f.subtask, f.lagMs, f.pendingEventTimeTimers, f.cause]),
      [["Windows", 0, null, 1, "no-watermark-strategy"]],
    );
    assert.match(d.findings[0]!.message, /source 'Events' has no WatermarkStrategy/);
    assert.deepEqual(windowsNeverFiredLines({ frontier: null, findings: [] }), []);
    const noTimers = diagnoseWatermarks(vertices, [
      ahead(0, 5_000),
      task(2, 0, {}, { currentInputWatermark: 0 }),
    ]);
    assert.equal(noTimers.findings.length, 1);
    assert.deepEqual(windowsNeverFiredLines(noTimers), [], "no window waits");
  });

  it("idle and ended channels do not hold a subtask; with none active there is no cause", () => {
    const d = diagnoseWatermarks(vertices, [
      ahead(0, 10_000),
      windows(0, [
        channel(1, 0, 10_000),
        channel(1, 1, -50, { idle: true }),
        channel(9, 0, -60, { ended: true }),
        channel(9, 1, 4_000),
        channel(9, 2, 6_500),
      ]),
    ]);
    const [hop] = d.findings[0]!.path;
    assert.deepEqual(hop!.input, {
      kind: "channel",
      producerVertexId: 9,
      producerName: "vertex 9",
      producerSubtask: 1,
    });
    assert.deepEqual([hop!.watermark, hop!.othersWatermark, hop!.behindMs], [4_000, 10_000, 6_000]);
    assert.equal(d.findings[0]!.path.length, 1, "no snapshot of vertex 9: the trace ends");
    assert.match(
      d.findings[0]!.message,
      /held back by the channel from 'vertex 9' subtask 1 \(6\.0 s behind the other inputs\)$/,
    );

    const quiet = diagnoseWatermarks(vertices, [
      ahead(0, 10_000),
      task(
        7,
        0,
        { channels: [channel(1, 0, 0, { idle: true }), channel(1, 1, 0, { ended: true })] },
        { currentInputWatermark: 0 },
      ),
    ]);
    assert.deepEqual(
      quiet.findings.map((f) => [f.vertexName, f.path, f.cause, f.message]),
      [["task-7", [], undefined, "'task-7' subtask 0 is at 0, 10.0 s behind the furthest source"]],
    );
  });

  it("on a tie the first channel is followed; a producer without watermark info ends the trace", () => {
    const d = diagnoseWatermarks(vertices, [
      ahead(0, 10_000),
      task(1, 1, undefined, { currentOutputWatermark: 2_000 }),
      task(1, 2, source([split("c", 2_000)]), { currentOutputWatermark: 2_000 }),
      windows(2_000, [channel(1, 1, 2_000), channel(1, 2, 2_000), channel(1, 0, 10_000)]),
    ]);
    const f = d.findings.find((x) => x.vertexId === 2)!;
    assert.deepEqual(
      f.path.map((h) => h.input),
      [{ kind: "channel", producerVertexId: 1, producerName: "Events", producerSubtask: 1 }],
    );
    assert.equal(f.cause, undefined, "subtask 1's snapshot says nothing of its watermark");
  });

  it("a loop of channels is followed for at most 64 hops", () => {
    const loop = task(2, 0, { channels: [channel(2, 0, 0)] }, { currentInputWatermark: 0 });
    const d = diagnoseWatermarks(vertices, [ahead(0, 10_000), loop]);
    assert.equal(d.findings[0]!.path.length, 64);
    assert.equal(d.findings[0]!.cause, undefined);
  });

  it("a source without a strategy, with every split idle, or with one split", () => {
    assert.equal(behindSource([split("a", 2_000)], null, false).cause, "no-watermark-strategy");
    const idle = behindSource([split("a", 2_000, 5, 5, true)]);
    assert.equal(idle.cause, "source-behind");
    assert.match(idle.message, /: every split of source 'Events' is idle$/);
    const one = behindSource([split("only", 2_000)]);
    assert.equal(one.cause, "source-behind");
    assert.match(
      one.message,
      /: source 'Events' subtask 1 reads one split \('only'\), whose event time is at 2000$/,
    );
    assert.deepEqual(one.path[1]!.input, { kind: "split", splitId: "only" });
    const done = behindSource([split("done", Number.POSITIVE_INFINITY)]);
    assert.match(done.message, /reads one split \('done'\), whose event time is at the end of time$/);
  });

  it("names the split with the lowest watermark, on a tie the one with fewer records", () => {
    const tie = behindSource([
      split("busy", 2_000, 50),
      split("empty", 2_000, 0),
      split("idle", 0, 0, 0, true),
    ]);
    assert.deepEqual(tie.path[1]!.input, { kind: "split", splitId: "empty" });
    assert.deepEqual(
      [tie.path[1]!.watermark, tie.path[1]!.othersWatermark, tie.path[1]!.behindMs],
      [2_000, 2_000, 0],
    );
    assert.equal(tie.cause, "no-data-no-idleness");
    const first = behindSource([split("empty", 2_000, 0), split("busy", 2_000, 50)]);
    assert.deepEqual(first.path[1]!.input, { kind: "split", splitId: "empty" });
    const same = behindSource([split("a", 2_000, 5), split("b", 2_000, 5)]);
    assert.deepEqual(same.path[1]!.input, { kind: "split", splitId: "a" }, "a full tie: the first");
    const low = behindSource([split("x", 3_000, 5), split("y", 2_000, 9), split("z", 2_500, 1)]);
    assert.deepEqual(low.path[1]!.input, { kind: "split", splitId: "y" });
    assert.equal(low.path[1]!.behindMs, 1_000);
  });

  it("a reader without a split, and a split without data that will go idle", () => {
    const noSplit = behindSource([split("(no split)", NONE, 0, 0)]);
    assert.equal(noSplit.cause, "no-split-no-idleness");
    assert.match(
      noSplit.message,
      /: source 'Events' subtask 1 has no split to read and no idleness is configured, so it holds the watermark back for good; add \.withIdleness\(ms\) to the WatermarkStrategy, or give the source no more subtasks than splits$/,
    );
    const pending = behindSource([split("(no split)", NONE, 0, 0)], 90_000);
    assert.equal(pending.cause, "no-data-idleness-pending");
    assert.match(
      pending.message,
      /: source 'Events' subtask 1 has no split to read; it counts as idle once it has had none for 90\.0 s \(withIdleness\)$/,
    );
    const split0 = behindSource([split("p", NONE, 0, 0), split("q", 5_000)], 500);
    assert.match(
      split0.message,
      /: split 'p' of source 'Events' subtask 1 has had no data; it counts as idle once it has had none for 500 ms/,
    );
  });

  it("a slow split reads less than half the median of its siblings' rates", () => {
    // Siblings at 100 and 1000 records/s: the median (the upper middle) is 1000.
    const slow = behindSource([
      split("s", 1_000, 10, 400),
      split("a", 5_000, 10, 100),
      split("b", 61_000, 10, 1000),
    ]);
    assert.equal(slow.cause, "slow-split");
    assert.match(
      slow.message,
      /: split 's' of source 'Events' subtask 1 is slow: it reads 400 records\/s against 1000 on the others, and is 60\.0 s behind them in event time$/,
    );
    const half = behindSource([
      split("s", 1_000, 10, 500),
      split("a", 5_000, 10, 100),
      split("b", 4_000, 10, 1000),
    ]);
    assert.equal(half.cause, "old-timestamps", "exactly half is not slow");
    assert.match(
      half.message,
      /: split 's' of source 'Events' subtask 1 reads as fast as the others but its events are 4\.0 s older \(its watermark is 1000\)/,
    );
    // Three siblings, not in order: the median is the middle rate, 100.
    const three = behindSource([
      split("s", 1_000, 10, 40),
      split("a", 5_000, 10, 1000),
      split("b", 4_000, 10, 10),
      split("c", 3_000, 10, 100),
    ]);
    assert.match(three.message, /it reads 40 records\/s against 100 on the others, and is 4\.0 s behind/);
    const noWatermark = behindSource([split("s", NONE, 10, 10), split("a", 5_000, 10, 100)]);
    assert.equal(noWatermark.cause, "slow-split");
    assert.match(noWatermark.message, /against 100 on the others, and is behind them in event time$/);
    const stopped = behindSource([split("s", 1_000, 10, 0), split("a", 5_000, 10, 0)]);
    assert.equal(stopped.cause, "old-timestamps", "siblings reading nothing: no rate to compare");
  });

  it("an assigner without records, with and without an idle timeout", () => {
    const none = assignerFinding(assigner(NONE, { records: 0 }), [assigner(80_000)]);
    assert.deepEqual(
      [none.watermark, none.lagMs, none.cause, none.path],
      [null, null, "no-data-no-idleness", []],
    );
    assert.match(
      none.message,
      /^'Events -> Stamps' subtask 1 is without a watermark: 'Stamps' \(assignTimestampsAndWatermarks\) subtask 1 has had no records and its WatermarkStrategy has no idleness/,
    );
    const pending = assignerFinding(assigner(NONE, { records: 0, idleTimeoutMs: 3 * 3_600_000 }), []);
    assert.equal(pending.cause, "no-data-idleness-pending");
    assert.match(
      pending.message,
      /has had no records; it counts as idle once it has had none for 3\.0 h \(withIdleness\)$/,
    );
  });

  it("an assigner is compared with its own operator's active subtasks only", () => {
    // Subtask 1 at 10 s; subtask 0 at 70 s; subtask 2 idle far ahead; subtask 3 another operator.
    const f = assignerFinding(assigner(10_000, { recordsPerSecond: 100 }), [
      assigner(70_000, { recordsPerSecond: 100 }),
      assigner(900_000, { idle: true }),
      assigner(800_000, { uid: "other" }),
    ]);
    assert.equal(f.watermark, 10_000, "the assigner's watermark, not the task's input's");
    assert.equal(f.lagMs, 890_000, "the idle subtask's output is still the frontier");
    assert.equal(f.cause, "old-timestamps");
    assert.match(
      f.message,
      /^'Events -> Stamps' subtask 1 is at 10000, 14\.8 min behind the furthest source: 'Stamps' \(assignTimestampsAndWatermarks\) subtask 1 assigns as many records as the others but their events are 60\.0 s older \(its watermark is 10000\)/,
    );
    // A gap in the subtasks ends the search for siblings; a subtask without an assigner is none.
    const gap = assignerFinding(assigner(10_000), [assigner(10_000), undefined, assigner(70_000)]);
    assert.equal(gap.cause, "source-behind");
    const plain = diagnoseWatermarks(
      vertices,
      [
        task(3, 0, {}, { currentInputWatermark: 90_000 }),
        task(3, 1, { assigner: assigner(10_000) }),
        task(3, 2, { assigner: assigner(20_000) }),
      ],
      { minLagMs: 0 },
    );
    assert.equal(plain.findings.find((x) => x.subtask === 1)?.cause, "old-timestamps");
  });

  it("an assigner level with its siblings, or without active siblings, is not behind", () => {
    const level = assignerFinding(assigner(10_000), [assigner(10_000)]);
    assert.equal(level.cause, "source-behind");
    assert.match(
      level.message,
      /: 'Stamps' \(assignTimestampsAndWatermarks\) subtask 1 is not behind the operator's other subtasks; its watermark is at 10000$/,
    );
    assert.equal(
      assignerFinding(assigner(10_000), [assigner(50_000, { idle: true })]).cause,
      "source-behind",
    );
    assert.equal(assignerFinding(assigner(10_000), [assigner(NONE)]).cause, "source-behind");
    assert.equal(assignerFinding(assigner(10_000), [assigner(10_001)]).cause, "old-timestamps");
    // Records but no watermark yet, beside a sibling that has one: behind, by no finite amount.
    const unbounded = assignerFinding(assigner(NONE), [assigner(70_000)]);
    assert.equal(unbounded.cause, "old-timestamps");
    assert.match(
      unbounded.message,
      /assigns as many records as the others but their events are older \(its watermark is no watermark\)/,
    );
  });

  it("a slow assigner assigns less than half the median rate of its siblings", () => {
    const slow = assignerFinding(assigner(10_000, { recordsPerSecond: 400 }), [
      assigner(20_000, { recordsPerSecond: 1000 }),
      assigner(12_000, { recordsPerSecond: 100 }),
    ]);
    assert.equal(slow.cause, "slow-split");
    assert.match(
      slow.message,
      /subtask 1 is slow: it assigns 400 records\/s against 1000 on the other subtasks, and is 10\.0 s behind them in event time$/,
    );
    const half = assignerFinding(assigner(10_000, { recordsPerSecond: 500 }), [
      assigner(20_000, { recordsPerSecond: 1000 }),
      assigner(12_000, { recordsPerSecond: 100 }),
    ]);
    assert.equal(half.cause, "old-timestamps");
  });

  it("durations and times read as a person would write them", () => {
    const lag = (ms: number) => {
      const d = diagnoseWatermarks(
        vertices,
        [ahead(0, 2_000_000_000_000), task(2, 0, {}, { currentInputWatermark: 2_000_000_000_000 - ms })],
        {
          minLagMs: 0,
        },
      );
      return /, (.*) behind the furthest source/.exec(d.findings[0]!.message)![1];
    };
    assert.deepEqual([999.4, 1_000, 119_949, 120_000, 7_199_000, 7_200_000].map(lag), [
      "999 ms",
      "1.0 s",
      "119.9 s",
      "2.0 min",
      "120.0 min",
      "2.0 h",
    ]);
    const at = (w: number) =>
      diagnoseWatermarks(vertices, [ahead(0, w + 5_000), task(2, 0, {}, { currentInputWatermark: w })])
        .findings[0]!.message;
    assert.match(at(946_684_800_000), /is at 946684800000,/);
    assert.match(at(946_684_800_001), /is at 2000-01-01T00:00:00\.001Z,/);
    assert.match(at(4_102_444_799_999 - 5_000), /is at 2099-12-31T23:59:54\.999Z,/);
    assert.match(at(4_102_444_800_000), /is at 4102444800000,/);
  });
});

function operatorAt(w: number): TaskMetricsSnapshot["operators"][number] {
  return { uid: "op", name: "Op", metrics: { currentOutputWatermark: w }, user: [] };
}
