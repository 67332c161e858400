// Operator state in checkpoints: list, union list and broadcast state of user functions
// (CheckpointedFunction) and of the broadcast process operator survive a failure and restart with
// exactly-once output, and are redistributed when a savepoint is restored at another parallelism:
// list state split evenly, union list state given whole to every subtask, broadcast state copied.
// Savepoints are taken while the event sources are gated (held after a chosen number of records,
// without ending): the job is running and its sources unfinished, however slow the machine.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  type CheckpointedFunction,
  type Collector,
  DataGeneratorSource,
  type FlatMapFunction,
  type FunctionInitializationContext,
  type FunctionSnapshotContext,
  JobCancelledError,
  type ListState,
  ListStateDescriptor,
  type MapFunction,
  MapStateDescriptor,
  RestartStrategies,
  type RuntimeContext,
  StateTtlConfig,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import { RuntimeContextImpl } from "../../src/runtime/runtime-context.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import { gatedSource, SourceGate } from "../harness/gated-source.ts";

interface Event {
  id: number;
  user: string;
  value: number;
}
interface Rule {
  name: string;
  threshold: number;
}

function event(i: number): Event {
  const h = Math.imul(i ^ 0x51ed270b, 0x9e3779b1) >>> 0;
  return { id: i, user: `u${h % 13}`, value: (h >>> 8) % 100 };
}

const RULES: Rule[] = [
  { name: "low", threshold: 20 },
  { name: "mid", threshold: 60 },
  { name: "high", threshold: 95 },
];
const rulesDescriptor = new MapStateDescriptor<string, Rule>("rules");
const seenDescriptor = new ListStateDescriptor<Event>("seen");

/** Every (rule, event) pair where the event reaches the rule's threshold. */
function expectedMatches(events: number): string[] {
  const out: string[] = [];
  for (const r of RULES) {
    for (let i = 0; i < events; i++) {
      const e = event(i);
      if (e.value >= r.threshold) out.push(`${r.name}:${e.user}:${e.id}`);
    }
  }
  return out.sort();
}

/** `count` generated events at `rate` per second, held by `gate` when given. */
function events(env: StreamExecutionEnvironment, count: number, rate: number, gate?: SourceGate) {
  const generator = new DataGeneratorSource(event, { count, recordsPerSecond: rate });
  return env.fromSource(gate === undefined ? generator : gatedSource(generator, gate), "Data generator");
}

/**
 * Rules broadcast to the keyed events; a match is found by whichever of the pair arrives second
 * (the events so far are keyed state, the rules broadcast state), so the result does not depend on
 * how the inputs interleave, but needs both states restored after a failure or a rescale.
 */
function matcher(
  env: StreamExecutionEnvironment,
  count: number,
  rate: number,
  failAt = -1,
  gate?: SourceGate,
): { values: string[] } {
  const rules = env
    .fromGenerator((i) => RULES[i]!, { count: RULES.length, recordsPerSecond: 40 })
    .uid("rules")
    .broadcast(rulesDescriptor);
  return events(env, count, rate, gate)
    .uid("events")
    .keyBy((e) => e.user)
    .connect(rules)
    .process<string>({
      processElement(e, ctx, out) {
        if (ctx.runtime.attemptNumber === 0 && e.id === failAt)
          throw new Error(`injected failure at ${e.id}`);
        ctx.runtime.getListState(seenDescriptor).add(e);
        for (const [, r] of ctx.getBroadcastState(rulesDescriptor).immutableEntries())
          if (e.value >= r.threshold) out.collect(`${r.name}:${e.user}:${e.id}`);
      },
      processBroadcastElement(r, ctx, out) {
        ctx.getBroadcastState(rulesDescriptor).put(r.name, r);
        ctx.applyToKeyedState(seenDescriptor, (user, seen) => {
          for (const e of seen.get()) if (e.value >= r.threshold) out.collect(`${r.name}:${user}:${e.id}`);
        });
      },
    })
    .uid("matcher")
    .collect();
}

/**
 * Emits its input in batches of BATCH, numbered: the open batch is list state, the number of
 * batches emitted union list state (one element at p=1).
 */
class Batcher implements FlatMapFunction<number, string>, CheckpointedFunction {
  static readonly BATCH = 7;
  private buffer: number[] = [];
  private batches = 0;
  private attempt = 0;
  private bufferState!: ListState<number>;
  private batchesState!: ListState<number>;

  constructor(private readonly failAt: number) {}

  initializeState(ctx: FunctionInitializationContext): void {
    const store = ctx.getOperatorStateStore();
    this.bufferState = store.getListState(new ListStateDescriptor<number>("buffer"));
    this.batchesState = store.getUnionListState(new ListStateDescriptor<number>("batches"));
    if (ctx.isRestored()) {
      this.buffer = [...this.bufferState.get()];
      this.batches = Math.max(0, ...this.batchesState.get());
    }
  }
  snapshotState(_ctx: FunctionSnapshotContext): void {
    this.bufferState.update(this.buffer);
    this.batchesState.update([this.batches]);
  }
  open(ctx: RuntimeContext): void {
    this.attempt = ctx.attemptNumber;
  }
  flatMap(v: number, out: Collector<string>): void {
    if (this.attempt === 0 && v === this.failAt) throw new Error(`injected failure at ${v}`);
    this.buffer.push(v);
    if (this.buffer.length === Batcher.BATCH) {
      out.collect(`#${this.batches}:${this.buffer.join(",")}`);
      this.batches++;
      this.buffer = [];
    }
  }
}

/** What one subtask of the tracker held at a checkpoint, or restored. */
interface TrackerRecord {
  subtask: number;
  checkpointId: number | undefined;
  list: number[];
  union: string[];
  broadcast: Array<[string, number]>;
}
const snapshots: TrackerRecord[] = [];
const restores: TrackerRecord[] = [];

const configDescriptor = new MapStateDescriptor<string, number>("config");

/**
 * Keeps the ids of the events it saw in list state, "subtask:count" in union list state, and the
 * first run's parallelism in broadcast state; logs what it snapshots and what it restores.
 */
class Tracker implements MapFunction<Event, Event>, CheckpointedFunction {
  private seen!: ListState<number>;
  private union!: ListState<string>;
  private store!: ReturnType<FunctionInitializationContext["getOperatorStateStore"]>;
  private restored: Omit<TrackerRecord, "subtask"> | undefined;
  private subtask = -1;

  initializeState(ctx: FunctionInitializationContext): void {
    this.store = ctx.getOperatorStateStore();
    this.seen = this.store.getListState(new ListStateDescriptor<number>("seen-ids"));
    this.union = this.store.getUnionListState(new ListStateDescriptor<string>("counts"));
    const config = this.store.getBroadcastState(configDescriptor);
    if (ctx.isRestored()) {
      this.restored = {
        checkpointId: ctx.getRestoredCheckpointId(),
        list: [...this.seen.get()],
        union: [...this.union.get()],
        broadcast: [...config.entries()],
      };
    }
  }
  open(ctx: RuntimeContext): void {
    this.subtask = ctx.indexOfThisSubtask;
    const config = this.store.getBroadcastState(configDescriptor);
    if (this.restored !== undefined) restores.push({ subtask: this.subtask, ...this.restored });
    else config.put("firstParallelism", ctx.numberOfParallelSubtasks);
    this.union.update([]);
  }
  snapshotState(ctx: FunctionSnapshotContext): void {
    this.union.update([`${this.subtask}:${this.seen.get().length}`]);
    snapshots.push({
      subtask: this.subtask,
      checkpointId: ctx.checkpointId,
      list: [...this.seen.get()],
      union: [...this.union.get()],
      broadcast: [...this.store.getBroadcastState(configDescriptor).entries()],
    });
  }
  map(e: Event): Event {
    this.seen.add(e.id);
    return e;
  }
}

const sorted = <T>(xs: T[]): T[] => [...xs].sort();

/** An operator with nothing but a user function, driven by hand. */
class FunctionOperator extends StreamOperator {
  processElement(): void {}
}

function setUp(op: StreamOperator, backend: HeapKeyedStateBackend): void {
  const runtime = new RuntimeContextImpl(
    {
      jobId: "test",
      jobName: "test",
      subtaskIndex: 0,
      parallelism: 1,
      maxParallelism: 128,
      attemptNumber: 0,
      attemptTag: "test-0",
    },
    "op",
    "op-uid",
    new Map(),
    backend,
  );
  op.setup({
    runtime,
    element: { timestamp: Number.NaN },
    output: { collect() {}, collectSide() {}, emitWatermark() {}, emitWatermarkStatus() {} },
    keyed: [{ keySelector: (v) => v, backend, maxParallelism: 128 }],
    processingTime: new ProcessingTimeService(new ManualClock(0)),
    autoWatermarkInterval: 200,
    mailbox: { execute: (a) => a(), drain: () => {} },
    checkpointing: true,
  });
}

describe("operator state in checkpoints", () => {
  it("a snapshot holds every operator state with its mode, after the function's snapshotState; TTL cleanup first", async () => {
    const calls: string[] = [];
    const fn = {
      items: [] as number[],
      list: undefined as ListState<number> | undefined,
      initializeState(ctx: FunctionInitializationContext) {
        calls.push(`init restored=${ctx.isRestored()} id=${ctx.getRestoredCheckpointId()}`);
        const store = ctx.getOperatorStateStore();
        this.list = store.getListState(new ListStateDescriptor<number>("list"));
        this.items = [...this.list.get()];
        store.getUnionListState(new ListStateDescriptor<string>("union")).add("u");
        store.getBroadcastState(new MapStateDescriptor<string, number>("bc")).put("k", 1);
        assert.ok(ctx.getKeyedStateStore() !== undefined);
      },
      snapshotState(ctx: FunctionSnapshotContext) {
        calls.push(`snapshot ${ctx.checkpointId}`);
        this.list!.update(this.items);
      },
      open() {
        calls.push("open");
      },
    };
    const backend = new HeapKeyedStateBackend({ start: 0, end: 127 });
    let now = 0;
    backend.setTimeProvider(() => now);
    const op = new FunctionOperator(fn);
    setUp(op, backend);
    await op.open();
    const ttl = StateTtlConfig.newBuilder(100).cleanupFullSnapshot().build();
    backend.setCurrentKey("a", assignToKeyGroup("a", 128));
    backend.getState(new ValueStateDescriptor<number>("expiring").enableTimeToLive(ttl)).update(1);
    assert.equal(backend.size("expiring"), 1);
    now = 500;
    fn.items = [1, 2, 3];
    const snap = op.snapshotState(4)!;
    assert.equal(backend.size("expiring"), 0, "the expired entry was cleaned up");
    assert.deepEqual(snap.keyedState?.state.keyGroups, []);
    assert.equal(snap.keyedState?.timers.length, 0);
    snap.keyedState?.state.release();
    assert.deepEqual(snap.operatorState, {
      list: { mode: "split", values: [1, 2, 3] },
      union: { mode: "union", values: ["u"] },
      bc: { mode: "broadcast", values: [[["k", 1]]] },
    });

    // Restored: the function finds its state in initializeState, before open().
    const fn2 = { ...fn, items: [] as number[] };
    const op2 = new FunctionOperator(fn2);
    setUp(op2, new HeapKeyedStateBackend({ start: 0, end: 127 }));
    op2.initializeState({ keyGroups: [], operatorState: snap.operatorState!, custom: [], checkpointId: 4 });
    await op2.open();
    assert.deepEqual(fn2.items, [1, 2, 3]);
    assert.deepEqual(calls, [
      "init restored=false id=undefined",
      "open",
      "snapshot 4",
      "init restored=true id=4",
      "open",
    ]);
  });

  it("broadcast, list and union list state survive a failure and restart: exactly-once output", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-opstate-"));
    try {
      const EVENTS = 6_000;
      const NUMBERS = 2_996; // a multiple of BATCH: every number ends up in a batch
      const env = new StreamExecutionEnvironment({ parallelism: 2, checkpointDirectory: dir });
      env.enableCheckpointing(30);
      env.getCheckpointConfig().setTolerableCheckpointFailureNumber(100);
      env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
      const matches = matcher(env, EVENTS, 6_000, 3_500);
      const batches = env
        .fromGenerator((i) => i, { count: NUMBERS, recordsPerSecond: 3_000 })
        .setParallelism(1)
        .uid("numbers")
        .flatMap(new Batcher(2_000))
        .setParallelism(1)
        .uid("batcher")
        .collect();
      const result = await env.execute("operator state under failure");
      assert.ok(result.restarts >= 1, "the job restarted after the injected failure");
      assert.deepEqual(sorted(matches.values), expectedMatches(EVENTS));
      const expectedBatches = Array.from({ length: NUMBERS / Batcher.BATCH }, (_v, k) => {
        const xs = Array.from({ length: Batcher.BATCH }, (_w, j) => k * Batcher.BATCH + j);
        return `#${k}:${xs.join(",")}`;
      });
      assert.deepEqual(sorted(batches.values), sorted(expectedBatches));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const restoreParallelism of [1, 3]) {
    it(`savepoint at p=2, restore at p=${restoreParallelism}: list state split evenly, union to all, broadcast copied`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "weir-opstate-sp-"));
      snapshots.length = 0;
      restores.length = 0;
      const EVENTS = 16_000;
      // Gates for the first run, well below the EVENTS / 2 that each of its two readers reads.
      const gates = [new SourceGate(EVENTS / 4), new SourceGate(EVENTS / 5)];
      const build = (env: StreamExecutionEnvironment, rate: number, held?: SourceGate[]) => {
        const matches = matcher(env, EVENTS, rate, -1, held?.[0]);
        events(env, EVENTS, rate, held?.[1])
          .uid("tracked-events")
          .map(new Tracker())
          .uid("tracker")
          .filter(() => false)
          .collect();
        return matches;
      };
      try {
        const env1 = new StreamExecutionEnvironment({
          parallelism: 2,
          checkpointInterval: 50,
          checkpointDirectory: join(dir, "cp1"),
        });
        const h1 = build(env1, 8_000, gates);
        const client = await env1.executeAsync("operator state");
        for (const gate of gates) await gate.whenClosed();
        const savepoint = await client.stopWithSavepoint(join(dir, "savepoints"));
        await assert.rejects(client.wait(), JobCancelledError);
        const first = h1.values;
        assert.equal(restores.length, 0, "the first run restored nothing");

        const env2 = new StreamExecutionEnvironment({
          parallelism: restoreParallelism,
          checkpointInterval: 50,
          checkpointDirectory: join(dir, "cp2"),
          restorePath: savepoint,
        });
        const h2 = build(env2, 1e9);
        await env2.execute("operator state");

        // Keyed state and broadcast state together: the matches continue exactly.
        assert.deepEqual(sorted([...first, ...h2.values]), expectedMatches(EVENTS));

        // Every new subtask restored once, all from the savepoint.
        assert.deepEqual(
          restores.map((r) => r.subtask).sort(),
          Array.from({ length: restoreParallelism }, (_v, i) => i),
        );
        const id = restores[0]!.checkpointId;
        assert.ok(restores.every((r) => r.checkpointId === id));
        const taken = snapshots.filter((s) => s.checkpointId === id);
        assert.equal(taken.length, 2, "both old subtasks snapshotted at the savepoint");

        // List state: the new subtasks' elements are the snapshotted ones, each exactly once, split evenly.
        const before = taken.flatMap((s) => s.list).sort((a, b) => a - b);
        const after = restores.flatMap((r) => r.list).sort((a, b) => a - b);
        assert.ok(before.length > 0);
        assert.deepEqual(after, before);
        const sizes = restores.map((r) => r.list.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `uneven split: ${sizes}`);

        // Union list state: every new subtask gets all of it.
        const union = sorted(taken.flatMap((s) => s.union));
        assert.deepEqual(
          union,
          ["0:", "1:"].map((p, i) => `${p}${taken.find((s) => s.subtask === i)!.list.length}`),
        );
        for (const r of restores) assert.deepEqual(sorted(r.union), union);

        // Broadcast state: an identical copy on every new subtask.
        for (const r of restores) assert.deepEqual(r.broadcast, [["firstParallelism", 2]]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
