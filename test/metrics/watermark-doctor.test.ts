// The watermark doctor against real running jobs, one situation each: a split with no data and no
// idleness (behind a channel, from another source subtask), the same with idleness configured, a
// source subtask without a split, one slow split, a partition with old timestamps, a source
// without a WatermarkStrategy. Each job runs until the doctor names the expected cause (or a
// generous deadline passes), served at GET /jobs/:jid/watermarks/doctor.

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  type ManagedJobClient,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
} from "../../src/index.ts";
import type { WatermarkDiagnosis, WatermarkFinding } from "../../src/runtime/metrics/watermark-doctor.ts";
import { type RestServer, startRestServer } from "../../src/web/rest-server.ts";
import { type ScriptedRecord, type ScriptedSplit, ScriptedSplitSource } from "./scripted-splits.ts";

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

const clients: ManagedJobClient[] = [];
let server: RestServer | undefined;

async function doctor(job: ManagedJobClient, minLag = 500): Promise<WatermarkDiagnosis> {
  server ??= await startRestServer({ port: 0, jobs: () => clients.map((c) => c.metrics) });
  const res = await fetch(`${server.url}/jobs/${job.jobId}/watermarks/doctor?min-lag=${minLag}`);
  assert.equal(res.status, 200);
  return (await res.json()) as WatermarkDiagnosis;
}

/** Run a windowed job over `splits` (source parallelism `p`) until the window's finding satisfies `done`. */
async function diagnose(
  name: string,
  splits: ScriptedSplit[],
  p: number,
  strategy: WatermarkStrategy<ScriptedRecord> | undefined,
  done: (f: WatermarkFinding) => boolean,
  /** "assigner": the source has no strategy; assignTimestampsAndWatermarks(strategy) is chained after it. */
  where: "source" | "assigner" = "source",
): Promise<{ finding: WatermarkFinding; all: WatermarkDiagnosis }> {
  const env = new StreamExecutionEnvironment({ parallelism: 1 });
  const source = new ScriptedSplitSource(splits);
  const stream =
    strategy === undefined
      ? env.fromSource(source, "Events")
      : where === "assigner"
        ? env
            .fromSource(source, "Events")
            .setParallelism(p)
            .assignTimestampsAndWatermarks(strategy)
            .name("Stamps")
        : env.fromSource(source, strategy, "Events");
  stream
    .setParallelism(p)
    .keyBy((r) => r.split)
    .window(TumblingEventTimeWindows.of(1000))
    .reduce((a, b) => (a.t > b.t ? a : b))
    .name("Windows")
    .setParallelism(1)
    .collect("out");
  const job = await env.executeAsync(name);
  clients.push(job);
  const deadline = Date.now() + 60_000;
  let last: WatermarkDiagnosis | undefined;
  try {
    for (;;) {
      last = await doctor(job);
      const finding = last.findings.find((f) => f.vertexName.includes("Windows"));
      if (finding !== undefined && done(finding)) return { finding, all: last };
      if (Date.now() > deadline)
        assert.fail(`no such diagnosis in time; last: ${JSON.stringify(last, null, 1)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await job.cancel();
  }
}

const monotonous = () =>
  WatermarkStrategy.forMonotonousTimestamps<ScriptedRecord>().withTimestampAssigner((r) => r.t);

describe("watermark doctor", () => {
  after(async () => {
    for (const c of clients) await c.cancel();
    await server?.close();
  });

  it("a split with no data and no idleness, behind the channel from its source subtask", async () => {
    const { finding } = await diagnose(
      "doctor-no-data",
      [
        { id: "p0", subtask: 0, rate: 500, start: T0, step: 10 },
        { id: "p1", subtask: 1, rate: 0, start: T0, step: 10 },
      ],
      2,
      monotonous(),
      (f) => f.cause === "no-data-no-idleness",
    );
    assert.equal(finding.watermark, null, "the window has no watermark at all");
    assert.ok(finding.pendingEventTimeTimers > 0, "windows wait to fire");
    const [channel, split] = finding.path;
    assert.ok(channel!.input.kind === "channel", "first the channel");
    assert.equal(channel!.input.producerSubtask, 1);
    assert.match(channel!.input.producerName, /Events/);
    assert.equal(channel!.watermark, null);
    assert.ok(channel!.othersWatermark! > T0, "the other channel has a watermark");
    assert.deepEqual(split!.input, { kind: "split", splitId: "p1" });
    assert.match(
      finding.message,
      /split 'p1' of source 'Events.*' subtask 1 has had no data and no idleness is configured/,
    );
    assert.match(finding.message, /withIdleness/);
  });

  it("the same split with idleness configured: it will go idle", async () => {
    const { finding } = await diagnose(
      "doctor-idleness-pending",
      [
        { id: "p0", subtask: 0, rate: 500, start: T0, step: 10 },
        { id: "p1", subtask: 0, rate: 0, start: T0, step: 10 },
      ],
      1,
      monotonous().withIdleness(600_000),
      (f) => f.cause === "no-data-idleness-pending",
    );
    assert.deepEqual(finding.path.at(-1)!.input, { kind: "split", splitId: "p1" });
    assert.match(finding.message, /idle once it has had none for 10\.0 min/);
  });

  it("a source subtask without a split", async () => {
    const { finding } = await diagnose(
      "doctor-no-split",
      [{ id: "only", subtask: 0, rate: 500, start: T0, step: 10 }],
      2,
      monotonous(),
      (f) => f.cause === "no-split-no-idleness",
    );
    const channel = finding.path[0]!.input;
    assert.equal(channel.kind === "channel" && channel.producerSubtask, 1);
    assert.match(finding.message, /no more subtasks than splits/);
  });

  it("one slow split: named with its rate and how far behind it is", async () => {
    const { finding } = await diagnose(
      "doctor-slow-split",
      [
        { id: "fast", subtask: 0, rate: 1000, start: T0, step: 1 },
        { id: "slow", subtask: 0, rate: 50, start: T0, step: 1 },
      ],
      1,
      monotonous(),
      (f) => f.cause === "slow-split" && (f.path.at(-1)?.behindMs ?? 0) > 500,
      // (a transient state at the start, before either split has a watermark, names another cause)
    );
    const hop = finding.path.at(-1)!;
    assert.deepEqual(hop.input, { kind: "split", splitId: "slow" });
    assert.ok(finding.lagMs! > 500, `lag ${finding.lagMs}`);
    assert.match(
      finding.message,
      /split 'slow' .* is slow: it reads \d+ records\/s against \d+ on the others/,
    );
  });

  it("a partition with old timestamps: as fast as the others, an hour older", async () => {
    const { finding } = await diagnose(
      "doctor-old-timestamps",
      [
        { id: "now", subtask: 0, rate: 300, start: T0, step: 1 },
        { id: "old", subtask: 0, rate: 300, start: T0 - HOUR, step: 1 },
      ],
      1,
      monotonous(),
      (f) => f.cause === "old-timestamps" && (f.path.at(-1)?.behindMs ?? 0) > HOUR / 2 && f.lagMs !== null,
    );
    const hop = finding.path.at(-1)!;
    assert.deepEqual(hop.input, { kind: "split", splitId: "old" });
    assert.ok(hop.behindMs! > HOUR - 60_000 && hop.behindMs! <= HOUR, `behind ${hop.behindMs}`);
    assert.ok(finding.lagMs! > HOUR - 60_000, `lag ${finding.lagMs}`);
    assert.match(finding.message, /split 'old' .* its events are 60\.0 min older/);
    // currentEmitEventTimeLag of each split: the old one's is an hour longer.
    const job = clients[clients.length - 1]!;
    const base = `${server!.url}/jobs/${job.jobId}/vertices/${finding.path.at(-1)!.vertexId}/metrics`;
    const ids = "0.Events.source.old.currentEmitEventTimeLag,0.Events.source.now.currentEmitEventTimeLag";
    const values = (await (await fetch(`${base}?get=${ids}`)).json()) as Array<{ id: string; value: string }>;
    assert.equal(values.length, 2, JSON.stringify(values));
    const [old, now] = values.map((v) => Number(v.value));
    assert.ok(Math.abs(old! - now! - HOUR) < 60_000, `lags ${old} and ${now}`);
  });

  it("a source without a WatermarkStrategy: windows wait, no watermark anywhere", async () => {
    const { finding, all } = await diagnose(
      "doctor-no-strategy",
      [{ id: "p0", subtask: 0, rate: 500, start: T0, step: 10 }],
      1,
      undefined,
      (f) => f.cause !== undefined,
    );
    assert.equal(all.frontier, null);
    assert.equal(finding.cause, "no-watermark-strategy");
    assert.match(finding.message, /has no WatermarkStrategy/);
  });

  it("an assigner chained after a source without a strategy, one subtask without data", async () => {
    // The source has no WatermarkStrategy, but it needs none: the chained assigner makes the
    // watermark. Its subtask 1 reads a split with no data: that is what holds the window.
    const { finding, all } = await diagnose(
      "doctor-assigner-no-data",
      [
        { id: "p0", subtask: 0, rate: 500, start: T0, step: 10 },
        { id: "p1", subtask: 1, rate: 0, start: T0, step: 10 },
      ],
      2,
      monotonous(),
      (f) => f.cause === "no-data-no-idleness",
      "assigner",
    );
    assert.equal(finding.cause, "no-data-no-idleness", finding.message);
    const channel = finding.path[0]!.input;
    assert.equal(channel.kind === "channel" && channel.producerSubtask, 1);
    assert.match(finding.message, /'Stamps' \(assignTimestampsAndWatermarks\) subtask 1 has had no records/);
    assert.match(finding.message, /withIdleness/);
    // The chain's own rows show the watermark the diagnosis judges, the assigner's, not the
    // source's (which has none): subtask 0 assigns at the frontier, so it is no finding at all;
    // subtask 1 has none.
    const chain = all.findings.filter((f) => f.vertexName.includes("Stamps"));
    assert.deepEqual(
      chain.map((f) => ({ subtask: f.subtask, watermark: f.watermark, lagMs: f.lagMs, cause: f.cause })),
      [{ subtask: 1, watermark: null, lagMs: null, cause: "no-data-no-idleness" }],
      JSON.stringify(all, null, 1),
    );
  });

  it("the same with idleness configured on the assigner's strategy: it will go idle", async () => {
    const { finding } = await diagnose(
      "doctor-assigner-idleness-pending",
      [
        { id: "p0", subtask: 0, rate: 500, start: T0, step: 10 },
        { id: "p1", subtask: 1, rate: 0, start: T0, step: 10 },
      ],
      2,
      monotonous().withIdleness(600_000),
      (f) => f.cause === "no-data-idleness-pending",
      "assigner",
    );
    assert.equal(finding.cause, "no-data-idleness-pending", finding.message);
    assert.match(finding.message, /idle once it has had none for 10\.0 min/);
  });

  it("a healthy job has no findings", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const source = new ScriptedSplitSource([
      { id: "a", subtask: 0, rate: 300, start: T0, step: 1 },
      { id: "b", subtask: 0, rate: 300, start: T0, step: 1 },
    ]);
    env
      .fromSource(source, monotonous(), "Events")
      .keyBy((r) => r.split)
      .window(TumblingEventTimeWindows.of(1000))
      .reduce((a, b) => (a.t > b.t ? a : b))
      .collect("out");
    const job = await env.executeAsync("doctor-healthy");
    clients.push(job);
    try {
      // Wait until a window has fired (the watermark moves), then ask.
      const deadline = Date.now() + 60_000;
      let d: WatermarkDiagnosis;
      do {
        await new Promise((r) => setTimeout(r, 50));
        d = await doctor(job, 5_000);
        assert.ok(Date.now() < deadline, "no watermark in time");
      } while (d.frontier === null || d.frontier < T0 + 1000);
      assert.deepEqual(d.findings, []);
    } finally {
      await job.cancel();
    }
  });
});
