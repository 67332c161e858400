// A broadcast stream whose elements change keyed state, through an unaligned checkpoint restored
// at another parallelism (FLINK-22815's case). A keyed stream of counts is connected with a
// broadcast stream of numbers 1..M; processBroadcastElement adds each number to every key's sum
// through applyToKeyedState, so each subtask applies each number to its own key groups. Subtask 1
// is slow in the first run: subtask 0 runs ahead on the broadcast edge while subtask 1's channels
// fill up (real backpressure: unaligned barriers overtake data on the keyed edge). A checkpoint is
// triggered while subtask 0 has applied numbers that subtask 1 still holds in flight, the job is
// cancelled, and it is restored from that checkpoint at another parallelism. Every key must end
// with the sum 1..M and the count of its keyed records: a broadcast element applied twice to one
// old subtask's key groups, or missed for another's, changes a sum. The sums are reported by an
// event-time timer at the end of input, whatever the two inputs' interleaving.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadCheckpoint } from "../../src/checkpoint/fs-storage.ts";
import {
  DataGeneratorSource,
  JobCancelledError,
  MapStateDescriptor,
  RestartStrategies,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  WatermarkStrategy,
} from "../../src/index.ts";
import type { TaskSnapshot } from "../../src/runtime/snapshot.ts";
import { SourceGate, gatedSource } from "../harness/gated-source.ts";

const KEYS = 12;
/** Keyed records, over KEYS keys (record i has key i mod KEYS). */
const KEYED = 40_000;
/** Broadcast numbers 1..M. */
const M = 20_000;
const EXPECTED_SUM = (M * (M + 1)) / 2;

const sumOf = new ValueStateDescriptor<number>("sum");
const hitsOf = new ValueStateDescriptor<number>("hits");
const lastNumber = new MapStateDescriptor<string, number>("last");

interface Row {
  key: string;
  sum: number;
  hits: number;
}

/** The first run's progress (the runs share this thread): keys made, numbers each subtask processed. */
const progress = { keys: 0, numbers: [] as number[], slowSubtask: -1 };

function spin(): void {
  let x = 0;
  for (let j = 0; j < 200_000; j++) x = (x + j) | 0;
  if (x === -1) throw new Error("unreachable");
}

/** `alignedTimeout`: ms before a checkpoint turns unaligned (0: unaligned from the start). */
function build(
  env: StreamExecutionEnvironment,
  keyedGate: SourceGate,
  numberGate: SourceGate,
  alignedTimeout = 0,
): { values: Row[] } {
  env.setRestartStrategy(RestartStrategies.noRestart());
  env
    .getCheckpointConfig()
    .enableUnalignedCheckpoints()
    .setAlignedCheckpointTimeout(alignedTimeout)
    .setExternalizedCheckpointRetention("RETAIN_ON_CANCELLATION");
  const numbers = env
    .fromSource(
      gatedSource(
        new DataGeneratorSource((i) => ({ n: i + 1, pad: "b".repeat(100) }), { count: M }),
        numberGate,
      ),
      WatermarkStrategy.noWatermarks(),
      "numbers",
    )
    .uid("numbers")
    .setParallelism(1)
    .broadcast(lastNumber);
  return env
    .fromSource(
      gatedSource(new DataGeneratorSource((i) => ({ i, k: `k${i % KEYS}` }), { count: KEYED }), keyedGate),
      WatermarkStrategy.noWatermarks(),
      "events",
    )
    .uid("events")
    .setParallelism(1)
    .keyBy((e) => e.k)
    .connect(numbers)
    .process<Row>({
      processElement(_e, ctx) {
        if (ctx.runtime.indexOfThisSubtask === progress.slowSubtask) spin();
        const hits = ctx.runtime.getState(hitsOf);
        if (hits.value() === undefined) {
          ctx.runtime.getState(sumOf).update(0);
          ctx.timerService().registerEventTimeTimer(1);
          progress.keys++;
        }
        hits.update((hits.value() ?? 0) + 1);
      },
      processBroadcastElement(b, ctx) {
        const subtask = ctx.runtime.indexOfThisSubtask;
        if (subtask === progress.slowSubtask) spin();
        ctx.getBroadcastState(lastNumber).put("last", b.n);
        ctx.applyToKeyedState(sumOf, (_key, sum) => sum.update((sum.value() ?? 0) + b.n));
        progress.numbers[subtask] = (progress.numbers[subtask] ?? 0) + 1;
      },
      onTimer(_t, ctx, out) {
        out.collect({
          key: ctx.getCurrentKey() as string,
          sum: ctx.runtime.getState(sumOf).value()!,
          hits: ctx.runtime.getState(hitsOf).value()!,
        });
      },
    })
    .uid("sums")
    .collect();
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Bytes of in-flight data recorded at the consumers of edge `edge` (their input part). */
async function inFlightInputBytes(path: string, edge: string): Promise<number> {
  const cp = await loadCheckpoint(path);
  let bytes = 0;
  for (const task of Object.values(cp.metadata.tasks)) {
    const at = task.inputs?.findIndex((i) => i.edge === edge) ?? -1;
    if (at < 0) continue;
    for (const h of task.subtasks) {
      if (h.file === undefined) continue;
      const channels = ((await cp.read(h.file)) as TaskSnapshot).channels;
      for (const [, , buffers] of channels?.inputs ?? []) for (const b of buffers) bytes += b.length;
    }
  }
  return bytes;
}

/**
 * The first run, at `parallelism` with subtask 1 slow: every key made before any number goes
 * out, then numbers and counts under backpressure; a checkpoint triggered once subtask 0 is at
 * least LEAD numbers ahead of subtask 1 (and the keyed edge has data in flight), then cancelled.
 */
const LEAD = 20;
async function checkpointWithBroadcastSkew(
  dir: string,
  parallelism: number,
  alignedTimeout: number,
): Promise<string> {
  const env = new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 3_600_000,
    checkpointDirectory: join(dir, "cp1"),
    maxParallelism: 12,
    bufferSize: 1024,
  });
  const keyedGate = new SourceGate(KEYS);
  const numberGate = new SourceGate(0);
  progress.keys = 0;
  progress.numbers = Array.from({ length: parallelism }, () => 0);
  progress.slowSubtask = 1;
  build(env, keyedGate, numberGate, alignedTimeout);
  const client = await env.executeAsync("sums");
  let found: string | undefined;
  try {
    // Every key exists before the first number is applied anywhere.
    await waitFor(() => progress.keys === KEYS, "every key to be made");
    keyedGate.open();
    numberGate.open();
    const n = progress.numbers;
    for (let tries = 0; found === undefined; tries++) {
      assert.ok(tries < 20, "no checkpoint with keyed data in flight");
      await waitFor(() => n[0]! - n[1]! >= LEAD && n[1]! > 0, "subtask 0 to run ahead of subtask 1");
      const path = await client.triggerCheckpoint();
      // Unaligned from the start: a checkpoint that stored keyed data in flight (barriers overtook it).
      // With a timeout, whether it turned unaligned depends on timing: any checkpoint will do.
      if (alignedTimeout > 0 || (await inFlightInputBytes(path, "events->sums")) > 0) found = path;
    }
    assert.ok(n[0]! < M, "the first run was stopped before subtask 0 had every number");
  } finally {
    progress.slowSubtask = -1;
    await client.cancel();
    // A job that ended by itself (it did not: see the assertions above) fails on them, not here.
    await client.wait().catch((e: unknown) => {
      if (!(e instanceof JobCancelledError)) throw e;
    });
  }
  return found;
}

async function restoreAndFinish(dir: string, checkpoint: string, parallelism: number): Promise<Row[]> {
  const env = new StreamExecutionEnvironment({
    parallelism,
    checkpointInterval: 3_600_000,
    checkpointDirectory: join(dir, "cp2"),
    maxParallelism: 12,
    restorePath: checkpoint,
    bufferSize: 1024,
  });
  const open = new SourceGate(Number.POSITIVE_INFINITY);
  const sums = build(env, open, open);
  await env.execute("sums");
  return sums.values;
}

/** What a run without failure reports: every key once, the sum 1..M, and its count of keyed records. */
function expected(): Row[] {
  const hits = new Map<string, number>();
  for (let i = 0; i < KEYED; i++) hits.set(`k${i % KEYS}`, (hits.get(`k${i % KEYS}`) ?? 0) + 1);
  return [...hits].map(([key, h]) => ({ key, sum: EXPECTED_SUM, hits: h })).sort(byKey);
}

const byKey = (a: Row, b: Row) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

describe("unaligned checkpoints with a broadcast stream that changes keyed state, rescaled", () => {
  for (const [from, to, alignedTimeout] of [
    [2, 3, 0],
    [3, 2, 0],
    [2, 2, 0],
    // Aligned first, unaligned after 1 ms: the consumers switch while numbers are in flight to them.
    [2, 3, 1],
  ] as const) {
    const mode = alignedTimeout === 0 ? "" : `, aligned timeout ${alignedTimeout} ms`;
    it(`p=${from} to p=${to}${mode}: every key gets every broadcast number exactly once`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-uc-broadcast-"));
      try {
        const checkpoint = await checkpointWithBroadcastSkew(dir, from, alignedTimeout);
        const rows = await restoreAndFinish(dir, checkpoint, to);
        assert.deepEqual([...rows].sort(byKey), expected());
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
