// The task's own loop, call by call, with stand-ins for its reader, operators, writers and input
// gate: what a step does and in which order (mail, due timers, backpressure, operators that take
// no input, restored records first, the source's polls and end of input, the end of each input),
// what a checkpoint takes and forwards (aligned and unaligned, a source's splits, operators
// without state, a pending asynchronous part that fails), how completions and aborts reach the
// reader and the operators, opening (restored state, downstream first, a task restored finished,
// latency markers), finishing, completing, aborting, and the task's report. No clock runs: the
// processing time is a manual clock, performance.now() (a step's time budget) is frozen and moved
// only by the tests, and the stand-ins record what the task asks of them.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Accumulator } from "../../src/core/functions.ts";
import { InputStatus, type ReaderOutput, type SourceReader } from "../../src/core/source.ts";
import type { InputChannel, InputGate } from "../../src/network/input-gate.ts";
import type { RecordWriter } from "../../src/network/record-writer.ts";
import type { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import type { RoutingOutput } from "../../src/runtime/outputs.ts";
import {
  FINAL_CHECKPOINT_ID,
  type OperatorRestore,
  type OperatorSnapshot,
  type RestoredInFlight,
  type TaskRestore,
  type TaskSnapshot,
} from "../../src/runtime/snapshot.ts";
import type { SourceOutput } from "../../src/runtime/source-output.ts";
import { type ChainMember, StreamTask, type TaskSetup } from "../../src/runtime/stream-task.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

/** performance.now() while these tests run: a step's time budget passes only when a test says so. */
let perfNow = 0;
const realPerformanceNow = performance.now.bind(performance);
before(() => {
  performance.now = () => perfNow;
});
after(() => {
  performance.now = realPerformanceNow;
});

/** An operator that records every call the task makes on it, as "<name>.<call>". */
class FakeOp {
  numRecordsIn = 0;
  inputAvailable = true;
  snapshot: OperatorSnapshot | undefined = undefined;
  failOn = "";
  constructor(
    readonly name: string,
    readonly log: string[],
  ) {}
  private call(what: string): void {
    this.log.push(`${this.name}.${what}`);
    if (this.failOn !== "" && what.startsWith(this.failOn)) throw new Error(`${this.name} failed in ${what}`);
  }
  processElement(value: unknown, input: number): void {
    this.call(`element ${String(value)}@${input}`);
  }
  processWatermark(w: number): void {
    this.call(`watermark ${w}`);
  }
  processWatermarkStatus(idle: boolean): void {
    this.call(idle ? "idle" : "active");
  }
  processLatencyMarker(m: { sourceUid: string }): void {
    this.call(`latency ${m.sourceUid}`);
  }
  notifyCheckpointComplete(id: number): void {
    this.call(`complete ${id === FINAL_CHECKPOINT_ID ? "final" : id}`);
  }
  notifyCheckpointAborted(id: number): void {
    this.call(`aborted ${id}`);
  }
  snapshotState(id: number): OperatorSnapshot | undefined {
    this.call(`snapshot ${id === FINAL_CHECKPOINT_ID ? "final" : id}`);
    return this.snapshot;
  }
  initializeState(r: OperatorRestore): void {
    this.call(`restore ${JSON.stringify(r.custom)}`);
  }
  async open(): Promise<void> {
    this.call("open");
  }
  async finish(): Promise<void> {
    this.call("finish");
  }
  async close(): Promise<void> {
    this.call("close");
  }
  endInput(i: number): void {
    this.call(`endInput ${i}`);
  }
  isInputAvailable(): boolean {
    return this.inputAvailable;
  }
}

class FakeWriter {
  available = true;
  recordsOut = 0;
  bytesOut = 0;
  due = Number.POSITIVE_INFINITY;
  readonly subpartitions: Array<{ addRestoredData(b: Uint8Array[]): void }>;
  constructor(
    readonly name: string,
    readonly log: string[],
  ) {
    this.subpartitions = [
      { addRestoredData: (b) => log.push(`${name}.restored ${b.length}`) },
      { addRestoredData: (b) => log.push(`${name}[1].restored ${b.length}`) },
    ];
  }
  isAvailable(): boolean {
    return this.available;
  }
  broadcastBarrier(id: number, alignedOnly: boolean, triggerTime: number): void {
    this.log.push(`${this.name}.barrier ${id}${alignedOnly ? " aligned-only" : ""} t=${triggerTime}`);
  }
  broadcastUnalignedBarrier(id: number, triggerTime: number): unknown {
    this.log.push(`${this.name}.priority-barrier ${id} t=${triggerTime}`);
    return [`${this.name} in flight`];
  }
  emitWatermark(w: number): void {
    this.log.push(`${this.name}.watermark ${w}`);
  }
  finish(): void {
    this.log.push(`${this.name}.finish`);
  }
  release(): void {
    this.log.push(`${this.name}.release`);
  }
  flushTimedOut(now: number): number {
    this.log.push(`${this.name}.flush ${now}`);
    return this.due;
  }
}

/** The task hands its SourceOutput (here the stand-in below) to pollNext: a record counted there. */
function counted(output: ReaderOutput<unknown>): void {
  (output as unknown as { numRecords: number }).numRecords++;
}

/** A reader that answers its polls from a script; a poll emits one record (counted by the output). */
class FakeReader implements SourceReader<unknown, unknown> {
  polls = 0;
  statuses: InputStatus[] = [];
  available: Promise<void> = Promise.resolve();
  splits: unknown[] = ["split-a@3"];
  hasSnapshot = true;
  failOn = "";
  constructor(readonly log: string[]) {}
  private call(what: string): void {
    this.log.push(`reader.${what}`);
    if (this.failOn !== "" && what.startsWith(this.failOn)) throw new Error(`reader failed in ${what}`);
  }
  start(): void {
    this.call("start");
  }
  pollNext(output: ReaderOutput<unknown>): InputStatus {
    this.polls++;
    counted(output);
    this.call("poll");
    return this.statuses.shift() ?? InputStatus.MORE_AVAILABLE;
  }
  isAvailable(): Promise<void> {
    return this.available;
  }
  addSplits(): void {}
  notifyNoMoreSplits(): void {}
  snapshotState?(id: number): unknown[] {
    this.call(`snapshot ${id === FINAL_CHECKPOINT_ID ? "final" : id}`);
    return this.splits;
  }
  notifyCheckpointComplete(id: number): void {
    this.call(`complete ${id === FINAL_CHECKPOINT_ID ? "final" : id}`);
  }
  close(): void {
    this.call("close");
  }
}

interface FakeChannel {
  index: number;
  inputIndex: number;
  endOfPartition: boolean;
  partlyRead: boolean;
  watermark: number;
  idle: boolean;
  queue: string[];
  blocked: boolean;
  recordingSpillNeed: number;
  announce?: (id: number, channel: unknown, triggerTime: number) => void;
  recorded?: (id: number, channel: unknown) => void;
  partialElement(): undefined;
  startRecording(id: number): void;
  takeRecording(): Uint8Array[];
}

/** A gate over stand-in channels: a read hands the channel's next queued record to the task. */
class FakeGate {
  readonly channels: FakeChannel[];
  reads = 0;
  constructor(
    inputs: number[],
    readonly log: string[],
  ) {
    this.channels = inputs.map((inputIndex, index) => ({
      index,
      inputIndex,
      endOfPartition: false,
      partlyRead: false,
      watermark: Number.NEGATIVE_INFINITY,
      idle: false,
      queue: [],
      blocked: false,
      recordingSpillNeed: 0,
      partialElement: () => undefined,
      startRecording: (id: number) => log.push(`ch${index}.record ${id}`),
      takeRecording: () => [new Uint8Array([index])],
    }));
  }
  pollChannel(): FakeChannel | undefined {
    return this.channels.find((c) => c.queue.length > 0);
  }
  read(ch: FakeChannel, handler: StreamTask): number {
    this.reads++;
    const v = ch.queue.shift()!;
    if (v === "EOP") ch.endOfPartition = true;
    else handler.processRecord(v, 7, ch.inputIndex);
    return 1;
  }
  isInputFinished(i: number): boolean {
    return this.channels.every((c) => c.inputIndex !== i || c.endOfPartition);
  }
  isFinished(): boolean {
    return this.channels.every((c) => c.endOfPartition);
  }
  release(): void {
    this.log.push("gate.release");
  }
}

interface Built {
  task: StreamTask;
  log: string[];
  ops: FakeOp[];
  writers: FakeWriter[];
  reader: FakeReader | undefined;
  gate: FakeGate | undefined;
  clock: ManualClock;
  pts: ProcessingTimeService;
  acks: Array<{ id: number; snapshot: TaskSnapshot }>;
  finished: TaskSnapshot[];
  output: { numRecords: number; log: string[] };
  heads: Array<{ lastWatermark: number; numRecordsOut: number; emitLatencyMarker(m: unknown): void }>;
  wakeups: number;
}

interface BuildOptions {
  /** A source task (reader, no operator at the head) or a task reading a gate of these inputs. */
  source?: boolean;
  inputs?: number[];
  /** Operators of the chain (after the source node, for a source task). */
  ops?: string[];
  writers?: number;
  checkpointing?: "none" | "aligned" | "unaligned" | "unaligned-timeout";
  restore?: () => Promise<TaskRestore>;
  latency?: number;
  withMetrics?: boolean;
}

function build(o: BuildOptions = {}): Built {
  const log: string[] = [];
  const clock = new ManualClock(1000);
  const pts = new ProcessingTimeService(clock);
  const ops = (o.ops ?? ["op"]).map((n) => new FakeOp(n, log));
  const writers = Array.from({ length: o.writers ?? 1 }, (_, i) => new FakeWriter(`w${i}`, log));
  const reader = o.source ? new FakeReader(log) : undefined;
  const gate = o.source ? undefined : new FakeGate(o.inputs ?? [0], log);
  const heads: Built["heads"] = [];
  const member = (name: string, op: FakeOp | undefined): ChainMember => {
    const output = {
      lastWatermark: Number.NEGATIVE_INFINITY,
      numRecordsOut: 0,
      emitLatencyMarker: (m: { sourceUid: string; sourceSubtask: number }) =>
        log.push(`${name}.marker ${m.sourceUid}/${m.sourceSubtask}`),
    };
    heads.push(output);
    return {
      info: { name, uid: `${name}-uid` },
      operator: op as unknown as StreamOperator,
      output: output as unknown as RoutingOutput,
    };
  };
  const chain = [...(o.source ? [member("src", undefined)] : []), ...ops.map((op) => member(op.name, op))];
  const output = {
    numRecords: 0,
    log,
    start: (interval: number) => log.push(`output.start ${interval}`),
    endOfInput: () => log.push("output.endOfInput"),
  };
  const acks: Built["acks"] = [];
  const finished: TaskSnapshot[] = [];
  const cp = o.checkpointing ?? "aligned";
  const built: Built = {
    task: undefined as unknown as StreamTask,
    log,
    ops,
    writers,
    reader,
    gate,
    clock,
    pts,
    acks,
    finished,
    output,
    heads,
    wakeups: 0,
  };
  const setup: TaskSetup = {
    name: "task (1/1)",
    vertexId: 3,
    identity: {
      jobId: "job",
      jobName: "job",
      subtaskIndex: 2,
      parallelism: 4,
      maxParallelism: 128,
      attemptNumber: 0,
      attemptTag: "job-0",
    },
    chain,
    element: { timestamp: Number.NaN },
    gate: gate as unknown as InputGate | undefined,
    reader,
    writers: writers as unknown as RecordWriter<unknown>[],
    accumulators: new Map<string, Accumulator<unknown>>(),
    numInputs: o.source ? 0 : new Set(o.inputs ?? [0]).size,
    processingTime: pts,
    sourceOutput: o.source ? (output as unknown as SourceOutput<unknown>) : undefined,
    autoWatermarkInterval: 200,
    latencyTrackingInterval: o.latency,
    receivedSplitIds: new Set(["split-a", "split-b"]),
    restore: o.restore,
    disposables: [() => log.push("dispose")],
    checkpointing:
      cp === "none"
        ? undefined
        : {
            exactlyOnce: true,
            unaligned: cp !== "aligned",
            alignedTimeout: cp === "unaligned-timeout" ? 50 : 0,
            responder: {
              acknowledge: (id, snapshot) => acks.push({ id, snapshot }),
              decline: (id, reason) => assert.fail(`checkpoint ${id} declined: ${reason}`),
              finished: (snapshot) => finished.push(snapshot),
            },
          },
  };
  built.task = new StreamTask(setup, () => built.wakeups++);
  return built;
}

async function opened(o: BuildOptions = {}): Promise<Built> {
  const b = build(o);
  await b.task.open();
  b.log.length = 0;
  return b;
}

const take = (b: Built) => b.log.splice(0);

describe("stream task: a step", () => {
  it("does nothing unless running", async () => {
    const b = build({ source: true });
    b.task.mailbox.execute(() => b.log.push("mail"));
    assert.equal(b.task.step(), false, "created");
    assert.deepEqual(b.log, []);
    assert.equal(b.task.mailboxSize, 1);
    await b.task.open();
    take(b);
    assert.equal(b.task.step(), true);
    assert.equal(b.log[0], "mail", "the mail runs first");
    assert.equal(b.task.mailboxSize, 0);
  });

  it("runs the mail in order, then the due timers, before reading", async () => {
    const b = await opened({ inputs: [0] });
    b.pts.schedule(1000, () => b.log.push("timer 1000"));
    b.pts.schedule(1001, () => b.log.push("timer 1001"));
    b.task.mailbox.execute(() => b.log.push("mail 1"));
    b.task.mailbox.execute(() => b.log.push("mail 2"));
    assert.equal(b.wakeups, 2, "each mail wakes the task up");
    b.gate!.channels[0]!.queue.push("a");
    assert.equal(b.task.step(), true);
    assert.deepEqual(take(b), ["mail 1", "mail 2", "timer 1000", "op.element a@0"]);
    b.clock.advance(1);
    assert.equal(b.task.step(), true, "a timer fired: work done though there was nothing to read");
    assert.deepEqual(take(b), ["timer 1001"]);
    assert.equal(b.task.step(), false, "nothing to do");
    b.task.mailbox.execute(() => {});
    assert.equal(b.task.step(), true, "a mail ran");
  });

  it("mail that throws fails the step, attributed to the head operator", async () => {
    const b = await opened({ inputs: [0] });
    b.task.mailbox.execute(() => {
      throw new Error("async result failed");
    });
    assert.throws(() => b.task.step(), /async result failed/);
  });

  it("a timer that throws fails the step", async () => {
    const b = await opened({ inputs: [0] });
    b.pts.schedule(1000, () => {
      throw new Error("timer failed");
    });
    assert.throws(() => b.task.step(), /timer failed/);
  });

  it("under backpressure runs mail and timers but reads nothing", async () => {
    const b = await opened({ inputs: [0], writers: 2 });
    b.writers[1]!.available = false;
    b.gate!.channels[0]!.queue.push("a");
    assert.equal(b.task.step(), false, "nothing read, nothing fired");
    assert.equal(b.task.metrics.backPressured, true);
    b.pts.schedule(1000, () => b.log.push("timer"));
    b.task.mailbox.execute(() => b.log.push("mail"));
    assert.equal(b.task.step(), true, "a timer fired");
    assert.deepEqual(take(b), ["mail", "timer"]);
    b.writers[1]!.available = true;
    assert.equal(b.task.step(), true);
    assert.equal(b.task.metrics.backPressured, false);
    assert.deepEqual(take(b), ["op.element a@0"]);
  });

  it("reads nothing while an operator of the chain takes no input", async () => {
    const b = await opened({ inputs: [0], ops: ["head", "tail"] });
    b.ops[1]!.inputAvailable = false;
    b.gate!.channels[0]!.queue.push("a");
    assert.equal(b.task.step(), false);
    b.task.mailbox.execute(() => b.log.push("mail"));
    assert.equal(b.task.step(), true, "the mail counts as work");
    assert.deepEqual(take(b), ["mail"]);
    b.pts.schedule(1000, () => b.log.push("timer"));
    assert.equal(b.task.step(), true, "a fired timer counts as work");
    assert.deepEqual(take(b), ["timer"]);
    b.ops[1]!.inputAvailable = true;
    assert.equal(b.task.step(), true);
    assert.deepEqual(take(b), ["head.element a@0"]);
  });
});

describe("stream task: reading input", () => {
  it("reads at most 8 buffers a step, and stops early under backpressure or a partly read buffer", async () => {
    const b = await opened({ inputs: [0] });
    const ch = b.gate!.channels[0]!;
    ch.queue.push(...Array.from({ length: 20 }, (_, i) => `r${i}`));
    b.task.step();
    assert.equal(b.gate!.reads, 8);
    b.task.step();
    assert.equal(b.gate!.reads, 16);
    ch.partlyRead = true;
    b.task.step();
    assert.equal(b.gate!.reads, 17, "a buffer read in part ends the step");
    ch.partlyRead = false;
    const read = b.gate!.read.bind(b.gate);
    b.gate!.read = (c, h) => {
      b.writers[0]!.available = false;
      return read(c, h);
    };
    b.task.step();
    assert.equal(b.gate!.reads, 18, "the output filling up ends the step");
    b.writers[0]!.available = true;
    b.gate!.read = (c, h) => {
      b.ops[0]!.inputAvailable = false;
      return read(c, h);
    };
    b.task.step();
    assert.equal(b.gate!.reads, 19, "an operator refusing input ends the step");
    assert.equal(b.task.numRecordsIn, 19);
  });

  it("a step ends once its time budget (2 ms) has passed", async () => {
    const b = await opened({ inputs: [0] });
    b.gate!.channels[0]!.queue.push(...Array.from({ length: 8 }, (_, i) => `r${i}`));
    b.ops[0]!.processElement = () => {
      perfNow += 1;
    };
    b.task.step();
    assert.equal(b.gate!.reads, 3, "2 ms after the start is not past the budget; 3 ms is");
    const s = await opened({ source: true });
    s.reader!.pollNext = (out) => {
      s.reader!.polls++;
      counted(out);
      perfNow += 1;
      return InputStatus.MORE_AVAILABLE;
    };
    s.task.step();
    assert.equal(s.reader!.polls, 3);
  });

  it("tells the head operator of each input that ended, once, and finishes when all did", async () => {
    const b = await opened({ inputs: [0, 1, 1] });
    const [c0, c1, c2] = b.gate!.channels;
    c1!.queue.push("x", "EOP");
    b.task.step();
    assert.deepEqual(take(b), ["op.element x@1"], "input 1 has another channel");
    c2!.queue.push("EOP");
    b.task.step();
    assert.deepEqual(take(b), ["op.endInput 1"]);
    assert.equal(b.task.state, "running");
    c0!.queue.push("y");
    b.task.step();
    assert.deepEqual(take(b), ["op.element y@0"], "input 1 is not ended again");
    c0!.queue.push("EOP");
    b.task.step();
    assert.deepEqual(take(b), ["op.endInput 0"]);
    assert.equal(b.task.state, "finishing");
    assert.equal(b.task.step(), false, "a finishing task takes no step");
  });

  it("an operator failing in endInput fails the step", async () => {
    const b = await opened({ inputs: [0] });
    b.ops[0]!.failOn = "endInput";
    b.gate!.channels[0]!.queue.push("EOP");
    assert.throws(() => b.task.step(), /op failed in endInput/);
  });

  it("sets the record's timestamp and counts records into the head operator", async () => {
    const b = await opened({ inputs: [0] });
    b.task.processRecord("v", 42, 0);
    assert.equal(b.task.setup.element.timestamp, 42);
    assert.equal(b.ops[0]!.numRecordsIn, 1);
    assert.equal(b.task.numRecordsIn, 1);
    b.ops[0]!.failOn = "element";
    assert.throws(() => b.task.processRecord("w", 1, 0), /op failed in element w@0/);
  });

  it("hands latency markers to the head operator", async () => {
    const b = await opened({ inputs: [0] });
    b.task.processLatencyMarker({ markedTime: 1, sourceUid: "s", sourceSubtask: 0 });
    assert.deepEqual(take(b), ["op.latency s"]);
  });

  it("an operator failing on a watermark fails the call", async () => {
    const b = await opened({ inputs: [0] });
    b.ops[0]!.failOn = "watermark";
    assert.throws(
      () => b.task.processWatermark(5, b.gate!.channels[0] as unknown as InputChannel),
      /op failed in watermark 5/,
    );
    assert.equal(b.task.inputWatermark, 5);
  });
});

describe("stream task: a source", () => {
  it("polls until the reader has nothing, then waits for it to be available", async () => {
    const b = await opened({ source: true });
    let release!: () => void;
    b.reader!.available = new Promise((r) => {
      release = r;
    });
    b.reader!.statuses = [InputStatus.MORE_AVAILABLE, InputStatus.NOTHING_AVAILABLE];
    assert.equal(b.task.step(), true);
    assert.equal(b.reader!.polls, 2);
    assert.equal(b.task.step(), false, "waiting for the reader");
    assert.equal(b.reader!.polls, 2);
    const before = b.wakeups;
    release();
    await b.reader!.available;
    await Promise.resolve();
    assert.equal(b.wakeups, before + 1, "the reader becoming available wakes the task");
    b.reader!.statuses = [InputStatus.NOTHING_AVAILABLE];
    b.reader!.available = Promise.reject(new Error("gone"));
    assert.equal(b.task.step(), true);
    assert.equal(b.reader!.polls, 3);
    await b.reader!.available.catch(() => {});
    await Promise.resolve();
    assert.equal(b.wakeups, before + 2, "a reader whose wait fails wakes the task too");
    b.reader!.statuses = [InputStatus.MORE_AVAILABLE];
    b.task.step();
    assert.ok(b.reader!.polls > 3, "polled again");
    assert.equal(b.task.numRecordsIn, b.reader!.polls, "a source task counts what its output counted");
  });

  it("polls at most 64 times a step, fewer when the output fills up", async () => {
    const b = await opened({ source: true });
    b.task.step();
    assert.equal(b.reader!.polls, 64);
    const polls = b.reader!.polls;
    b.reader!.pollNext = (out) => {
      b.reader!.polls++;
      counted(out);
      b.writers[0]!.available = false;
      return InputStatus.MORE_AVAILABLE;
    };
    b.task.step();
    assert.equal(b.reader!.polls, polls + 1, "one poll, then the output is full");
    b.writers[0]!.available = true;
    b.reader!.pollNext = (out) => {
      b.reader!.polls++;
      counted(out);
      b.ops[0]!.inputAvailable = false;
      return InputStatus.MORE_AVAILABLE;
    };
    b.task.step();
    assert.equal(b.reader!.polls, polls + 2, "one poll, then an operator takes no more input");
  });

  it("at the end of input ends its output and goes finishing", async () => {
    const b = await opened({ source: true });
    b.reader!.statuses = [InputStatus.MORE_AVAILABLE, InputStatus.END_OF_INPUT];
    assert.equal(b.task.step(), true);
    assert.deepEqual(take(b), ["reader.poll", "reader.poll", "output.endOfInput"]);
    assert.equal(b.task.state, "finishing");
  });

  it("a failing poll fails the step", async () => {
    const b = await opened({ source: true });
    b.reader!.failOn = "poll";
    assert.throws(() => b.task.step(), /reader failed in poll/);
  });

  it("opens: starts the reader and its output's watermarks, and the latency markers", async () => {
    const b = build({ source: true, latency: 100 });
    await b.task.open();
    assert.deepEqual(take(b), ["op.open", "reader.start", "output.start 200"]);
    assert.equal(b.task.state, "running");
    b.clock.advance(100);
    b.task.step();
    assert.equal(b.log[0], "src.marker src-uid/2");
    b.task.state = "finishing";
    b.clock.advance(100);
    b.pts.fireDue();
    assert.equal(
      b.log.filter((l) => l.includes("marker")).length,
      1,
      "no marker once the task is no longer running",
    );
  });

  it("sends no latency markers unless asked", async () => {
    const b = await opened({ source: true });
    assert.equal(b.pts.nextDue(), Number.POSITIVE_INFINITY);
  });

  it("a reader failing to start fails open()", async () => {
    const b = build({ source: true });
    b.reader!.failOn = "start";
    await assert.rejects(b.task.open(), /reader failed in start/);
  });

  it("its input watermark is what its output emitted", async () => {
    const b = await opened({ source: true });
    b.heads[0]!.lastWatermark = 77;
    assert.equal(b.task.inputWatermark, 77);
  });
});

describe("stream task: checkpoints", () => {
  it("a source snapshots its reader and operators, then sends an aligned barrier, then acknowledges", async () => {
    const b = await opened({ source: true, writers: 2 });
    b.ops[0]!.snapshot = { custom: "op state" };
    b.task.triggerCheckpoint(5, false, 123);
    assert.deepEqual(b.log, [], "a mailbox action");
    b.task.step();
    const log = take(b);
    assert.deepEqual(log.slice(0, 4), [
      "reader.snapshot 5",
      "op.snapshot 5",
      "w0.barrier 5 t=123",
      "w1.barrier 5 t=123",
    ]);
    assert.equal(b.acks.length, 1);
    assert.equal(b.acks[0]!.id, 5);
    assert.deepEqual(b.acks[0]!.snapshot.operators, {
      "src-uid": { splits: ["split-a@3"], custom: { receivedSplitIds: ["split-a", "split-b"] } },
      "op-uid": { custom: "op state" },
    });
    assert.equal(b.acks[0]!.snapshot.channels, undefined);
  });

  it("the snapshot is a copy: later changes of the operator's state are not in it", async () => {
    const b = await opened({ source: true });
    const state = { n: 1 };
    b.ops[0]!.snapshot = { custom: state };
    b.task.triggerCheckpoint(1);
    b.task.step();
    state.n = 2;
    assert.deepEqual(b.acks[0]!.snapshot.operators["op-uid"], { custom: { n: 1 } });
  });

  it("a savepoint is aligned whatever the mode", async () => {
    const b = await opened({ source: true, checkpointing: "unaligned" });
    b.reader!.statuses = [InputStatus.NOTHING_AVAILABLE];
    b.reader!.available = new Promise(() => {});
    b.task.triggerCheckpoint(2, true, 9);
    b.task.step();
    assert.ok(b.log.includes("w0.barrier 2 aligned-only t=9"), b.log.join(", "));
    assert.equal(b.acks.length, 1);
  });

  it("a source sends unaligned barriers only when checkpoints are unaligned from the start", async () => {
    const un = await opened({ source: true, checkpointing: "unaligned" });
    un.reader!.statuses = [InputStatus.NOTHING_AVAILABLE];
    un.reader!.available = new Promise(() => {});
    un.task.triggerCheckpoint(3, false, 10);
    un.task.step();
    assert.ok(un.log.includes("w0.priority-barrier 3 t=10"), un.log.join(", "));
    assert.equal(un.acks.length, 1, "a source has no in-flight input to wait for");
    assert.deepEqual(un.acks[0]!.snapshot.channels, { inputs: [], outputs: [["w0 in flight"]] });

    const byDefault = await opened({ source: true, checkpointing: "unaligned" });
    byDefault.reader!.statuses = [InputStatus.NOTHING_AVAILABLE];
    byDefault.reader!.available = new Promise(() => {});
    byDefault.task.triggerCheckpoint(4);
    byDefault.task.step();
    assert.ok(
      byDefault.log.some((l) => l.startsWith("w0.priority-barrier 4")),
      "not a savepoint unless asked",
    );
    const t = Number(byDefault.log.find((l) => l.startsWith("w0.priority-barrier 4"))!.split("t=")[1]);
    assert.ok(t > 1_600_000_000_000, `the trigger time defaults to the wall clock, not ${t}`);

    const timeout = await opened({ source: true, checkpointing: "unaligned-timeout" });
    timeout.reader!.statuses = [InputStatus.NOTHING_AVAILABLE];
    timeout.reader!.available = new Promise(() => {});
    timeout.task.triggerCheckpoint(3, false, 10);
    timeout.task.step();
    assert.ok(timeout.log.includes("w0.barrier 3 t=10"), "aligned first, while the timeout runs");
  });

  it("a checkpoint triggered before the task runs, or without checkpointing, takes nothing", async () => {
    const b = build({ source: true });
    b.task.triggerCheckpoint(1);
    await b.task.open();
    b.task.state = "finishing";
    b.task.mailbox.drain();
    assert.ok(!b.log.some((l) => l.includes("snapshot")), b.log.join(", "));
    assert.equal(b.acks.length, 0);

    const none = await opened({ source: true, checkpointing: "none" });
    none.reader!.statuses = [InputStatus.NOTHING_AVAILABLE];
    none.reader!.available = new Promise(() => {});
    none.task.triggerCheckpoint(1);
    none.task.step();
    assert.ok(!none.log.some((l) => l.includes("snapshot") || l.includes("barrier")), none.log.join(", "));
  });

  it("a reader without snapshotState cannot take part in a checkpoint", async () => {
    const b = await opened({ source: true });
    b.reader!.snapshotState = undefined;
    b.task.triggerCheckpoint(1);
    assert.throws(() => b.task.step(), /cannot take part in checkpoints/);
  });

  it("an operator failing its snapshot fails the task", async () => {
    const b = await opened({ source: true });
    b.ops[0]!.failOn = "snapshot";
    b.task.triggerCheckpoint(1);
    assert.throws(() => b.task.step(), /op failed in snapshot 1/);
  });

  it("operators without state are left out; a failing asynchronous part fails the task later", async () => {
    const b = await opened({ source: true, ops: ["a", "b", "c"] });
    let reject!: (e: Error) => void;
    b.ops[1]!.snapshot = { pendingCustom: new Promise((_, r) => (reject = r)) };
    b.ops[2]!.snapshot = { custom: 3 };
    b.reader!.statuses = [InputStatus.NOTHING_AVAILABLE];
    b.reader!.available = new Promise(() => {});
    b.task.triggerCheckpoint(4);
    b.task.step();
    const ops = b.acks[0]!.snapshot.operators;
    assert.deepEqual(Object.keys(ops).sort(), ["b-uid", "c-uid", "src-uid"]);
    assert.equal(b.task.step(), false);
    reject(new Error("prepareCommit failed"));
    await new Promise((r) => setImmediate(r));
    assert.equal(b.task.mailboxSize, 1);
    assert.throws(() => b.task.step(), /prepareCommit failed/);
  });

  it("tells the reader and every operator of a completed checkpoint, while running or finishing", async () => {
    const b = await opened({ source: true, ops: ["a", "b"] });
    b.reader!.statuses = [InputStatus.NOTHING_AVAILABLE];
    b.reader!.available = new Promise(() => {});
    b.task.notifyCheckpointComplete(3);
    b.task.step();
    assert.deepEqual(take(b), ["reader.complete 3", "a.complete 3", "b.complete 3", "reader.poll"]);
    b.task.state = "finishing";
    b.task.notifyCheckpointComplete(4);
    b.task.mailbox.drain();
    assert.deepEqual(take(b), ["reader.complete 4", "a.complete 4", "b.complete 4"]);
    b.task.state = "finished";
    b.task.notifyCheckpointComplete(5);
    b.task.mailbox.drain();
    assert.deepEqual(take(b), [], "a finished task is told nothing");
  });

  it("an operator failing on a completed checkpoint fails the task", async () => {
    const b = await opened({ source: true, ops: ["a", "b"] });
    b.ops[1]!.failOn = "complete";
    b.task.notifyCheckpointComplete(3);
    assert.throws(() => b.task.mailbox.drain(), /b failed in complete 3/);
  });

  it("the job's end is not a checkpoint of the reader", async () => {
    const b = await opened({ source: true });
    b.task.notifyCheckpointComplete(FINAL_CHECKPOINT_ID);
    b.task.mailbox.drain();
    assert.deepEqual(take(b), ["op.complete final"]);
  });

  it("tells every operator of an aborted checkpoint", async () => {
    const b = await opened({ inputs: [0], ops: ["a", "b"] });
    b.task.notifyCheckpointAborted(6);
    assert.deepEqual(b.log, []);
    b.task.mailbox.drain();
    assert.deepEqual(take(b), ["a.aborted 6", "b.aborted 6"]);
  });

  it("stopped right after a checkpoint completed, still commits it, once", async () => {
    const b = await opened({ source: true });
    b.task.notifyCheckpointComplete(7);
    await b.task.abort("cancelled");
    assert.deepEqual(take(b), [
      "reader.complete 7",
      "op.complete 7",
      "w0.release",
      "reader.close",
      "op.close",
      "dispose",
    ]);
    assert.equal(b.task.state, "cancelled");

    const told = await opened({ source: true });
    told.task.notifyCheckpointComplete(7);
    told.task.mailbox.drain();
    take(told);
    await told.task.abort("failed");
    assert.deepEqual(take(told), ["w0.release", "reader.close", "op.close", "dispose"], "already delivered");
    assert.equal(told.task.state, "failed");
    await told.task.abort("cancelled");
    assert.deepEqual(take(told), [], "aborted once");
  });

  it("a task that is not live commits nothing when aborted", async () => {
    const b = build({ source: true });
    b.task.notifyCheckpointComplete(7);
    await b.task.abort("failed");
    assert.ok(!b.log.some((l) => l.includes("complete")), b.log.join(", "));
  });

  it("a commit failing at the abort does not stop the abort", async () => {
    const b = await opened({ inputs: [0] });
    b.ops[0]!.failOn = "complete";
    b.task.notifyCheckpointComplete(2);
    await b.task.abort("cancelled");
    assert.deepEqual(take(b), ["op.complete 2", "w0.release", "gate.release", "op.close", "dispose"]);
    assert.equal(b.task.state, "cancelled");
  });

  it("an operator failing to close at the abort is not reported; the disposables still run", async () => {
    const b = await opened({ inputs: [0] });
    b.ops[0]!.failOn = "close";
    await b.task.abort("failed");
    assert.deepEqual(take(b), ["w0.release", "gate.release", "op.close", "dispose"]);
  });
});

describe("stream task: checkpoints of a task with input", () => {
  const ch = (b: Built, i: number) => b.gate!.channels[i] as unknown as InputChannel;

  it("forwards the trigger time its first barrier (or announcement) carried", async () => {
    const b = await opened({ inputs: [0, 0] });
    b.task.processBarrier(4, ch(b, 0), false, 555);
    b.task.processBarrier(4, ch(b, 1), false, 0);
    assert.ok(b.log.includes("w0.barrier 4 t=555"), b.log.join(", "));
    assert.equal(b.acks[0]!.id, 4);
    assert.equal(b.task.metrics.checkpoints.recent()[0]!.triggerTimestamp, 555);
    take(b);
    b.gate!.channels[1]!.announce!(5, ch(b, 1), 777);
    b.task.processBarrier(5, ch(b, 0), false, 0);
    b.task.processBarrier(5, ch(b, 1), false, 0);
    assert.ok(b.log.includes("w0.barrier 5 t=777"), b.log.join(", "));
  });

  it("an announcement starts an unaligned checkpoint from the mailbox", async () => {
    const b = await opened({ inputs: [0, 0], checkpointing: "unaligned" });
    b.gate!.channels[1]!.announce!(3, ch(b, 1), 30);
    assert.deepEqual(take(b), [], "a mailbox action");
    assert.equal(b.wakeups, 1);
    b.task.mailbox.drain();
    assert.deepEqual(take(b), [
      "op.snapshot 3",
      "w0.priority-barrier 3 t=30",
      "ch0.record 3",
      "ch1.record 3",
    ]);
  });

  it("unaligned: acknowledges once the in-flight input is recorded, with it", async () => {
    const b = await opened({ inputs: [0, 0], checkpointing: "unaligned" });
    b.ops[0]!.snapshot = { custom: "s" };
    b.task.processBarrier(5, ch(b, 0), false, 50);
    assert.deepEqual(take(b), ["op.snapshot 5", "w0.priority-barrier 5 t=50", "ch1.record 5"]);
    assert.equal(b.acks.length, 0, "channel 1's in-flight data is not complete yet");
    b.gate!.channels[1]!.recordingSpillNeed = 2;
    b.gate!.channels[1]!.recorded!(5, ch(b, 1));
    assert.equal(b.acks.length, 1);
    assert.deepEqual(b.acks[0]!.snapshot.channels, {
      inputs: [[1, 2, [new Uint8Array([1])]]],
      outputs: [["w0 in flight"]],
    });
    assert.deepEqual(b.acks[0]!.snapshot.operators, { "op-uid": { custom: "s" } });
    const stats = b.task.metrics.checkpoints.recent()[0]!;
    assert.equal(stats.unaligned, true);
    assert.equal(stats.triggerTimestamp, 50);
  });

  it("unaligned: an aborted checkpoint, or one a newer one replaces, releases its state and is never acknowledged", async () => {
    const b = await opened({ inputs: [0, 0], checkpointing: "unaligned" });
    let n = 0;
    b.ops[0]!.snapshotState = (id) => {
      b.log.push(`op.snapshot ${id}`);
      return {
        keyedState: { state: { release: () => b.log.push(`release ${id}`) } },
      } as unknown as OperatorSnapshot;
    };
    b.task.processBarrier(5, ch(b, 0), false);
    b.task.notifyCheckpointAborted(4);
    b.task.mailbox.drain();
    assert.ok(!b.log.includes("release 5"), "another checkpoint's abort leaves it pending");
    b.task.processBarrier(6, ch(b, 0), false);
    assert.ok(b.log.includes("release 5"), "replaced by checkpoint 6");
    b.gate!.channels[1]!.recorded!(5, ch(b, 1));
    assert.equal(b.acks.length, 0, "5 is no longer pending");
    b.task.notifyCheckpointAborted(6);
    b.task.mailbox.drain();
    assert.ok(b.log.includes("release 6"));
    b.gate!.channels[1]!.recorded!(6, ch(b, 1));
    assert.equal(b.acks.length, 0);
    n = b.log.filter((l) => l.startsWith("release")).length;
    assert.equal(n, 2, "each released once");
    b.task.processBarrier(7, ch(b, 0), false);
    b.gate!.channels[1]!.recorded!(7, ch(b, 1));
    assert.deepEqual(
      b.acks.map((a) => a.id),
      [7],
    );
  });

  it("aligned for a while first: the timeout runs on the task's processing time, then goes unaligned", async () => {
    const b = await opened({ inputs: [0, 0], checkpointing: "unaligned-timeout" });
    b.task.processBarrier(8, ch(b, 0), false, 80);
    assert.equal(b.gate!.channels[0]!.blocked, true, "aligned at first");
    assert.equal(b.wakeups, 1, "the timeout's timer wakes the task");
    assert.equal(b.task.nextTimerDue(), 1050);
    b.clock.advance(49);
    b.task.step();
    assert.ok(!b.log.some((l) => l.includes("snapshot")), b.log.join(", "));
    b.clock.advance(1);
    b.task.step();
    assert.deepEqual(take(b), ["op.snapshot 8", "w0.priority-barrier 8 t=80", "ch1.record 8"]);
    assert.equal(b.gate!.channels[0]!.blocked, false);
    b.gate!.channels[1]!.recorded!(8, ch(b, 1));
    assert.deepEqual(
      b.acks.map((a) => a.id),
      [8],
    );
  });

  it("an aborted aligned checkpoint unblocks its channels and is not taken when its last barrier comes", async () => {
    const b = await opened({ inputs: [0, 0] });
    b.task.processBarrier(3, ch(b, 0), false);
    assert.equal(b.gate!.channels[0]!.blocked, true);
    b.task.notifyCheckpointAborted(3);
    b.task.mailbox.drain();
    assert.equal(b.gate!.channels[0]!.blocked, false);
    b.task.processBarrier(3, ch(b, 1), false);
    assert.equal(b.acks.length, 0);
    assert.ok(!b.log.some((l) => l.includes("snapshot")), b.log.join(", "));
  });

  it("an input task's checkpoint without a gate's reader snapshot: only its operators", async () => {
    const b = await opened({ inputs: [0] });
    b.ops[0]!.snapshot = { custom: 1 };
    b.task.processBarrier(2, ch(b, 0), true, 0);
    assert.ok(b.log.includes("w0.barrier 2 aligned-only t=0"), b.log.join(", "));
    assert.deepEqual(Object.keys(b.acks[0]!.snapshot.operators), ["op-uid"]);
  });

  it("a channel ending completes an alignment waiting for it", async () => {
    const b = await opened({ inputs: [0, 0] });
    b.task.processBarrier(3, ch(b, 0), false);
    assert.equal(b.acks.length, 0);
    b.gate!.channels[1]!.queue.push("EOP");
    b.task.step();
    assert.deepEqual(
      b.acks.map((a) => a.id),
      [3],
    );
  });
});

describe("stream task: open, restore, finish", () => {
  it("restores each operator with state, then opens the chain downstream first", async () => {
    const restore = async (): Promise<TaskRestore> => ({
      operators: new Map([
        ["b-uid", { keyGroups: [], operatorState: {}, custom: ["B"], checkpointId: 1 }],
        ["src-uid", { keyGroups: [], operatorState: {}, custom: ["S"], checkpointId: 1 }],
      ]),
    });
    const b = build({ source: true, ops: ["a", "b"], restore });
    await b.task.open();
    assert.deepEqual(take(b), ['b.restore ["B"]', "b.open", "a.open", "reader.start", "output.start 200"]);
    assert.equal(b.task.state, "running");
  });

  it("an operator failing to restore or to open fails open()", async () => {
    const restore = async (): Promise<TaskRestore> => ({
      operators: new Map([["op-uid", { keyGroups: [], operatorState: {}, custom: [], checkpointId: 1 }]]),
    });
    const r = build({ inputs: [0], restore });
    r.ops[0]!.failOn = "restore";
    await assert.rejects(r.task.open(), /op failed in restore/);
    const o = build({ inputs: [0] });
    o.ops[0]!.failOn = "open";
    await assert.rejects(o.task.open(), /op failed in open/);
  });

  it("restored finished: restores and opens, reads nothing, and only ends the stream downstream", async () => {
    const restore = async (): Promise<TaskRestore> => ({
      operators: new Map([
        ["op-uid", { keyGroups: [], operatorState: {}, custom: ["staged"], checkpointId: 1 }],
      ]),
      finished: true,
    });
    const b = build({ source: true, restore, writers: 2 });
    await b.task.open();
    assert.deepEqual(take(b), ['op.restore ["staged"]', "op.open"]);
    assert.equal(b.task.state, "finishing");
    await b.task.finish();
    assert.deepEqual(take(b), [
      "w0.watermark Infinity",
      "w1.watermark Infinity",
      "w0.finish",
      "w1.finish",
      "reader.snapshot final",
      "op.snapshot final",
    ]);
    assert.equal(b.task.state, "finished");
    assert.equal(b.finished.length, 1);
  });

  it("finish: every operator finishes in order, the writers end, the final state goes to the responder", async () => {
    const b = await opened({ inputs: [0], ops: ["a", "b"] });
    b.ops[0]!.snapshot = { custom: "final a" };
    await b.task.finish();
    assert.deepEqual(take(b), ["a.finish", "b.finish", "w0.finish", "a.snapshot final", "b.snapshot final"]);
    assert.deepEqual(b.finished[0]!.operators, { "a-uid": { custom: "final a" } });
    assert.equal(b.task.state, "finished");
    await b.task.complete();
    assert.deepEqual(take(b), ["a.complete final", "b.complete final", "a.close", "b.close", "dispose"]);
    await b.task.complete();
    await b.task.abort("cancelled");
    assert.deepEqual(take(b), [], "closed once");
    assert.equal(b.task.state, "finished");
  });

  it("an operator failing to finish, or to commit at the end, fails the call", async () => {
    const f = await opened({ inputs: [0] });
    f.ops[0]!.failOn = "finish";
    await assert.rejects(f.task.finish(), /op failed in finish/);
    const c = await opened({ inputs: [0] });
    await c.task.finish();
    c.ops[0]!.failOn = "complete";
    await assert.rejects(c.task.complete(), /op failed in complete final/);
    const cl = await opened({ inputs: [0] });
    await cl.task.finish();
    cl.ops[0]!.failOn = "close";
    take(cl);
    await assert.rejects(cl.task.complete(), /op failed in close/);
    assert.ok(cl.log.includes("dispose"), "disposables run even when closing fails");
  });

  it("a finished task is not marked failed when aborted afterwards", async () => {
    const b = await opened({ inputs: [0] });
    await b.task.finish();
    await b.task.abort("failed");
    assert.equal(b.task.state, "finished");
    assert.ok(b.log.includes("w0.release"));
  });
});

describe("stream task: restored in-flight records", () => {
  const inFlight = (): RestoredInFlight => ({
    inputs: [],
    outputs: [
      [0, 1, [new Uint8Array(1), new Uint8Array(1)]],
      [5, 0, [new Uint8Array(1)]],
    ],
    records: [
      { member: 0, inputIndex: 1, values: ["h1", "h2"], timestamps: [11, 12] },
      { member: 0, inputIndex: 0, values: [], timestamps: [] },
      { member: 1, inputIndex: 0, values: ["t1"], timestamps: [13] },
    ],
  });
  const restore = async (): Promise<TaskRestore> => ({ operators: new Map(), inFlight: inFlight() });

  it("output in-flight data goes to its subpartition; records are processed before any new input, each to its operator", async () => {
    const b = build({ inputs: [0, 1], ops: ["head", "tail"], restore });
    await b.task.open();
    assert.deepEqual(take(b), ["w0[1].restored 2", "tail.open", "head.open"], "writer 5 does not exist");
    b.gate!.channels[0]!.queue.push("new");
    assert.equal(b.task.step(), true);
    assert.deepEqual(take(b), ["head.element h1@1", "head.element h2@1", "tail.element t1@0"]);
    assert.equal(b.task.setup.element.timestamp, 13);
    assert.equal(b.ops[0]!.numRecordsIn, 2);
    assert.equal(b.ops[1]!.numRecordsIn, 1);
    assert.equal(
      b.task.numRecordsIn,
      2,
      "the head's restored records entered the task; the chained one's did not",
    );
    b.task.step();
    assert.deepEqual(take(b), ["head.element new@0"]);
    assert.equal(b.task.numRecordsIn, 3);
  });

  it("a chained operator failing on a restored record fails the step", async () => {
    const b = build({ inputs: [0, 1], ops: ["head", "tail"], restore });
    await b.task.open();
    b.ops[1]!.failOn = "element";
    assert.throws(() => b.task.step(), /tail failed in element t1@0/);
  });

  it("are all processed before a checkpoint's snapshot", async () => {
    const b = build({ inputs: [0, 1], ops: ["head", "tail"], restore });
    await b.task.open();
    take(b);
    const ch = b.gate!.channels[0] as unknown as InputChannel;
    b.task.processBarrier(1, ch, false);
    b.task.processBarrier(1, b.gate!.channels[1] as unknown as InputChannel, false);
    assert.deepEqual(take(b).slice(0, 4), [
      "head.element h1@1",
      "head.element h2@1",
      "tail.element t1@0",
      "head.snapshot 1",
    ]);
    assert.equal(b.acks.length, 1);
  });

  it("a step processes a bounded slice of them, 32 at a time while the output has room", async () => {
    const many = async (): Promise<TaskRestore> => ({
      operators: new Map(),
      inFlight: {
        inputs: [],
        outputs: [],
        records: [
          { member: 0, inputIndex: 0, values: Array.from({ length: 100 }, (_, i) => i), timestamps: [] },
        ],
      },
    });
    const b = build({ inputs: [0], restore: many });
    await b.task.open();
    b.ops[0]!.processElement = (v) => {
      b.log.push(`e${String(v)}`);
      if (v === 40) b.writers[0]!.available = false;
    };
    take(b);
    b.task.step();
    assert.equal(b.log.length, 64, "the output filled up at 40: the slice ends at the next multiple of 32");
    b.writers[0]!.available = true;
    b.ops[0]!.processElement = (v) => {
      b.log.push(`e${String(v)}`);
      if (v === 70) b.ops[0]!.inputAvailable = false;
    };
    b.task.step();
    assert.equal(b.log.length, 96, "an operator refusing input ends the slice too");
    b.ops[0]!.inputAvailable = true;
    b.task.step();
    assert.equal(b.log.length, 100);
    assert.deepEqual(
      b.log.map((l) => Number(l.slice(1))),
      Array.from({ length: 100 }, (_, i) => i),
    );
  });
});

describe("stream task: restored records and the time budget", () => {
  it("a slice ends at its next check (every 32 records) once the budget has passed", async () => {
    const many = async (): Promise<TaskRestore> => ({
      operators: new Map(),
      inFlight: {
        inputs: [],
        outputs: [],
        records: [
          { member: 0, inputIndex: 0, values: Array.from({ length: 70 }, (_, i) => i), timestamps: [] },
        ],
      },
    });
    const b = build({ inputs: [0], restore: many });
    await b.task.open();
    let n = 0;
    b.ops[0]!.processElement = () => {
      n++;
      perfNow += 1;
    };
    b.task.step();
    assert.equal(n, 32);
    b.task.step();
    assert.equal(n, 64);
    b.task.step();
    assert.equal(n, 70);
  });
});

describe("stream task: report and flush", () => {
  it("reports its counts and operators", async () => {
    const b = await opened({ inputs: [0], ops: ["a", "b"], writers: 2 });
    b.task.processRecord("x", 1, 0);
    b.writers[0]!.recordsOut = 3;
    b.writers[1]!.recordsOut = 4;
    b.writers[0]!.bytesOut = 30;
    b.writers[1]!.bytesOut = 40;
    b.heads[1]!.numRecordsOut = 9;
    const r = b.task.report();
    assert.deepEqual(r, {
      vertexId: 3,
      subtask: 2,
      state: "running",
      recordsIn: 1,
      recordsOut: 7,
      bytesOut: 70,
      operators: [
        { uid: "a-uid", name: "a", recordsIn: 1, recordsOut: 0 },
        { uid: "b-uid", name: "b", recordsIn: 0, recordsOut: 9 },
      ],
      accumulators: [],
    });
    assert.equal(b.task.name, "task (1/1)");
  });

  it("a source's node reports the records its reader emitted", async () => {
    const b = await opened({ source: true });
    b.reader!.statuses = [InputStatus.MORE_AVAILABLE, InputStatus.NOTHING_AVAILABLE];
    b.reader!.available = new Promise(() => {});
    b.task.step();
    assert.equal(b.task.report().operators[0]!.recordsIn, 2);
  });

  it("flushes every writer and returns the earliest next due time", async () => {
    const b = await opened({ inputs: [0], writers: 3 });
    b.writers[0]!.due = 50;
    b.writers[1]!.due = 20;
    b.writers[2]!.due = 30;
    assert.equal(b.task.flushTimedOut(10), 20);
    assert.deepEqual(take(b), ["w0.flush 10", "w1.flush 10", "w2.flush 10"]);
    const none = await opened({ inputs: [0], writers: 0 });
    assert.equal(none.task.flushTimedOut(10), Number.POSITIVE_INFINITY);
  });

  it("its next timer is the processing-time service's", async () => {
    const b = await opened({ inputs: [0] });
    assert.equal(b.task.nextTimerDue(), Number.POSITIVE_INFINITY);
    b.pts.schedule(1500, () => {});
    assert.equal(b.task.nextTimerDue(), 1500);
    assert.equal(b.task.lastAlignmentMs, 0);
  });
});
