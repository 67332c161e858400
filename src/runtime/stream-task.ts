// A task: one parallel subtask of one chain. The executor calls `step` repeatedly; each step is a
// bounded slice of the task's mailbox loop (read some input buffers, or poll the source reader),
// and runs only when the task's output channels have room: that is where backpressure bites.

import { type AccumulatorReport, reportAccumulators } from "./accumulators.ts";
import type { Accumulator } from "../core/functions.ts";
import { InputStatus, type SourceReader } from "../core/source.ts";
import type { LatencyMarker } from "../network/buffer.ts";
import type { ElementHandler, InputChannel, InputGate } from "../network/input-gate.ts";
import type { RecordWriter } from "../network/record-writer.ts";
import { type OperatorInfo, attribute } from "./operator-failure.ts";
import type { ElementContext, StreamOperator } from "./operators/stream-operator.ts";
import type { RoutingOutput } from "./outputs.ts";
import { TaskMetricGroup } from "./metrics/task-metric-group.ts";
import type { SubtaskIdentity } from "./runtime-context.ts";
import { BarrierAligner } from "./barrier-aligner.ts";
import {
  type CheckpointResponder,
  FINAL_CHECKPOINT_ID,
  detachOperatorSnapshots,
  releaseKeyedState,
  type TaskRestore,
  type OperatorSnapshot,
  type RestoredInFlight,
  type RestoredRecords,
  type TaskSnapshot,
} from "./snapshot.ts";
import type { SourceOutput } from "./source-output.ts";
import type { ProcessingTimeService } from "./time/processing-time-service.ts";

export type TaskState = "created" | "running" | "finishing" | "finished" | "failed" | "cancelled";

/** One operator of the chain, in topological order (head first). */
export interface ChainMember {
  readonly info: OperatorInfo;
  readonly operator: StreamOperator | undefined; // undefined for the source node
  readonly output: RoutingOutput;
}

export interface TaskSetup {
  readonly name: string;
  readonly vertexId: number;
  readonly identity: SubtaskIdentity;
  readonly chain: ChainMember[];
  readonly element: ElementContext;
  readonly gate: InputGate | undefined;
  /** The producer of each input channel, by channel index (for the watermark doctor). */
  readonly channelProducers?: ReadonlyArray<{ vertexId: number; subtask: number }>;
  readonly reader: SourceReader<unknown, unknown> | undefined;
  readonly writers: RecordWriter<unknown>[];
  readonly accumulators: Map<string, Accumulator<unknown>>;
  /** Number of inputs of the head operator (1 or 2); 0 for a source. */
  readonly numInputs: number;
  readonly processingTime: ProcessingTimeService;
  /** For a source task: timestamps, watermarks and idleness of what the reader emits. */
  readonly sourceOutput: SourceOutput<unknown> | undefined;
  readonly autoWatermarkInterval: number;
  /** A source task emits a latency marker every this many ms (0 or absent: no latency tracking). */
  readonly latencyTrackingInterval?: number;
  /** Ids of the splits this source task received (kept in its snapshot). */
  readonly receivedSplitIds: Set<string>;
  /** Loads this task's restored state (by operator uid) before it opens. */
  readonly restore: (() => Promise<TaskRestore>) | undefined;
  /** Released when the task closes (embedded state stores remove their files). */
  readonly disposables: Array<() => void>;
  /** Set when the job checkpoints. */
  readonly checkpointing:
    | { exactlyOnce: boolean; unaligned: boolean; alignedTimeout: number; responder: CheckpointResponder }
    | undefined;
  /** The task's metric group (shared with its operators' runtime contexts); created when absent. */
  readonly metrics?: TaskMetricGroup;
}

export type { AccumulatorReport } from "./accumulators.ts";

/** What a task tells about itself when it ends: plain data, so it can cross threads. */
export interface TaskReport {
  vertexId: number;
  subtask: number;
  state: TaskState;
  recordsIn: number;
  recordsOut: number;
  bytesOut: number;
  operators: Array<{ uid: string; name: string; recordsIn: number; recordsOut: number }>;
  accumulators: AccumulatorReport[];
}

/** Buffers (or slices of one) read in one step at most. */
const BUFFERS_PER_STEP = 8;
// A poll emits a small batch (built-in readers: 1 to 32 records, fewer when records are slow),
// and the output is checked between polls: a source overdraws its channels by at most one batch.
const POLLS_PER_STEP = 64;
/** A step reading input stops after this long (at the next clock check of the read). */
export const STEP_BUDGET_MS = 2;

export class StreamTask implements ElementHandler {
  state: TaskState = "created";
  /** Set while a source reader has nothing and we wait for it. */
  private waitingForReader = false;
  private readonly endedInputs: boolean[];
  private currentWatermark = Number.NEGATIVE_INFINITY;
  /** Every input channel is idle, and downstream was told so. */
  private idle = false;
  private recordsRead = 0;
  /** Actions from outside the record loop (async results...), run at the start of the next step. */
  private readonly mail: Array<() => void> = [];
  readonly mailbox = {
    execute: (action: () => void): void => {
      this.mail.push(action);
      this.wakeup();
    },
    drain: (): void => this.drainMailbox(),
  };

  private readonly aligner: BarrierAligner | undefined;
  /** Where this task's time goes, its rates, and its operators' metric groups. */
  readonly metrics: TaskMetricGroup;

  constructor(
    readonly setup: TaskSetup,
    private readonly wakeup: () => void,
  ) {
    this.metrics =
      setup.metrics ??
      new TaskMetricGroup({
        jobId: setup.identity.jobId,
        jobName: setup.identity.jobName,
        taskName: setup.name,
        vertexId: setup.vertexId,
        subtaskIndex: setup.identity.subtaskIndex,
        attempt: setup.identity.attemptNumber,
      });
    this.endedInputs = new Array(setup.numInputs).fill(false);
    if (setup.gate !== undefined) {
      const cp = setup.checkpointing;
      const aligner = new BarrierAligner(
        setup.gate.channels,
        {
          exactlyOnce: cp?.exactlyOnce ?? true,
          unaligned: cp?.unaligned ?? false,
          alignedTimeout: cp?.alignedTimeout ?? 0,
        },
        {
          snapshot: (id, unaligned, alignedOnly) => this.performCheckpoint(id, unaligned, alignedOnly),
          channelStateComplete: (id, inputs) => this.completeUnaligned(id, inputs),
          schedule: (ms, action) => {
            const pts = setup.processingTime;
            pts.schedule(pts.now() + ms, action);
            this.wakeup();
          },
        },
      );
      this.aligner = aligner;
      for (const c of setup.gate.channels) {
        c.announce = (id, _channel, triggerTime) => {
          this.metrics.checkpoints.start(id, triggerTime);
          this.mailbox.execute(() => aligner.onAnnounced(id));
        };
        c.recorded = (id, ch) => aligner.channelRecorded(id, ch);
      }
    }
  }

  // ---- checkpoints -----------------------------------------------------------------------

  /** A source task starts checkpoint `id` (from the coordinator): snapshot, then emit the barrier. */
  /** `alignedOnly`: a savepoint: aligned barriers whatever the checkpoint mode (no in-flight data). */
  /** `triggerTime`: when the coordinator triggered it (ms since the epoch), carried by the barriers. */
  triggerCheckpoint(checkpointId: number, alignedOnly = false, triggerTime = Date.now()): void {
    this.mailbox.execute(() => {
      this.metrics.checkpoints.start(checkpointId, triggerTime);
      if (this.state === "running") {
        this.performCheckpoint(checkpointId, alignedOnly ? false : this.sourceUnaligned(), alignedOnly);
      }
    });
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.notifiedComplete = Math.max(this.notifiedComplete, checkpointId);
    this.mailbox.execute(() => {
      if (this.state !== "running" && this.state !== "finishing") return;
      this.deliverComplete(checkpointId);
    });
  }

  /**
   * The newest completed checkpoint this task was told of, and the newest its operators were: a
   * task stopped in between (stop-with-savepoint cancels right after its checkpoint completed)
   * still commits what that checkpoint covers, in abort().
   */
  private notifiedComplete = 0;
  private deliveredComplete = 0;

  private deliverComplete(checkpointId: number): void {
    this.deliveredComplete = Math.max(this.deliveredComplete, checkpointId);
    if (checkpointId !== FINAL_CHECKPOINT_ID) this.setup.reader?.notifyCheckpointComplete?.(checkpointId);
    for (const m of this.setup.chain) {
      try {
        m.operator?.notifyCheckpointComplete(checkpointId);
      } catch (e) {
        throw attribute(e, m.info);
      }
    }
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.mailbox.execute(() => {
      this.aligner?.abort(checkpointId);
      this.dropPendingUnaligned(checkpointId);
      for (const m of this.setup.chain) m.operator?.notifyCheckpointAborted(checkpointId);
    });
  }

  processBarrier(checkpointId: number, channel: InputChannel, alignedOnly: boolean, triggerTime = 0): void {
    this.metrics.checkpoints.start(checkpointId, triggerTime);
    this.aligner!.onBarrier(checkpointId, channel, alignedOnly);
  }

  /**
   * In-flight data of an unaligned checkpoint: input buffers are read first, output buffers are
   * sent first, and restored records (of edges restored at another parallelism) are processed
   * before any new input.
   */
  private restoreChannels(inFlight: RestoredInFlight): void {
    const gate = this.setup.gate;
    for (const [index, partial, buffers] of inFlight.inputs)
      gate?.channels[index]?.restoreInFlight(partial, buffers);
    for (const [w, subpartition, buffers] of inFlight.outputs)
      this.setup.writers[w]?.subpartitions[subpartition]?.addRestoredData(buffers);
    this.restoredRecords = inFlight.records.filter((r) => r.values.length > 0);
  }

  /** Restored records not processed yet (the first batch from `restoredNext` on). */
  private restoredRecords: RestoredRecords[] = [];
  private restoredNext = 0;

  /** Process one restored record; false when none is left. */
  private processRestoredRecord(): boolean {
    const batch = this.restoredRecords[0];
    if (batch === undefined) return false;
    const i = this.restoredNext;
    const value = batch.values[i];
    const timestamp = batch.timestamps[i]!;
    if (i + 1 === batch.values.length) {
      this.restoredRecords.shift();
      this.restoredNext = 0;
    } else this.restoredNext = i + 1;
    if (batch.member === 0) {
      this.processRecord(value, timestamp, batch.inputIndex);
      return true;
    }
    // An edge that is chained now: the record goes to its operator inside the chain.
    const m = this.setup.chain[batch.member]!;
    const op = m.operator!;
    this.setup.element.timestamp = timestamp;
    op.numRecordsIn++;
    try {
      op.processElement(value, batch.inputIndex);
    } catch (e) {
      throw attribute(e, m.info);
    }
    return true;
  }

  /** A bounded slice of the restored records (while the output has room). */
  private stepRestored(): boolean {
    const deadline = performance.now() + STEP_BUDGET_MS;
    for (let n = 1; this.processRestoredRecord(); n++) {
      if (n % 32 === 0 && (!this.outputAvailable() || !this.inputAllowed() || performance.now() > deadline))
        break;
    }
    return true;
  }

  /** Before a snapshot: the restored records come before the barrier, so they are all processed first. */
  private drainRestored(): void {
    while (this.processRestoredRecord());
  }

  /** Snapshot every operator of the chain (the synchronous part), forward the barrier, acknowledge. */
  private performCheckpoint(checkpointId: number, unaligned: boolean, alignedOnly = false): void {
    const cp = this.setup.checkpointing;
    if (cp === undefined) return;
    if (this.restoredRecords.length > 0) this.drainRestored();
    const tracker = this.metrics.checkpoints;
    const triggerTime = tracker.triggerTimeOf(checkpointId);
    const syncStart = performance.now();
    const snapshot = this.snapshot(checkpointId);
    const syncMs = performance.now() - syncStart;
    if (!unaligned) {
      for (const w of this.setup.writers) w.broadcastBarrier(checkpointId, alignedOnly, triggerTime);
      tracker.acknowledged(checkpointId, this.lastAlignmentMs, syncMs, false);
      cp.responder.acknowledge(checkpointId, snapshot);
      return;
    }
    // Unaligned: the barrier overtakes unsent output, which goes into the checkpoint (except on
    // broadcast edges, where it goes in order); the acknowledgement waits for the in-flight
    // input, while records keep being processed.
    snapshot.channels = {
      inputs: [],
      outputs: this.setup.writers.map((w) => w.broadcastUnalignedBarrier(checkpointId, triggerTime)),
    };
    if (this.setup.gate === undefined) {
      tracker.acknowledged(checkpointId, 0, syncMs, true);
      cp.responder.acknowledge(checkpointId, snapshot);
    } else {
      this.dropPendingUnaligned();
      this.pendingUnaligned = { id: checkpointId, snapshot, syncMs };
    }
  }

  /** Gives up an unaligned checkpoint still waiting for its in-flight input (its state snapshots held). */
  private dropPendingUnaligned(checkpointId?: number): void {
    const p = this.pendingUnaligned;
    if (p === undefined || (checkpointId !== undefined && p.id !== checkpointId)) return;
    this.pendingUnaligned = undefined;
    releaseKeyedState(p.snapshot);
  }

  private pendingUnaligned: { id: number; snapshot: TaskSnapshot; syncMs: number } | undefined;

  /** Sources send unaligned barriers when checkpoints are unaligned from the start. */
  private sourceUnaligned(): boolean {
    const cp = this.setup.checkpointing;
    return cp?.unaligned === true && cp.alignedTimeout === 0;
  }

  private completeUnaligned(checkpointId: number, inputs: Array<[number, number, Uint8Array[]]>): void {
    const p = this.pendingUnaligned;
    if (p === undefined || p.id !== checkpointId) return;
    this.pendingUnaligned = undefined;
    p.snapshot.channels!.inputs = inputs;
    this.metrics.checkpoints.acknowledged(checkpointId, this.lastAlignmentMs, p.syncMs, true);
    this.setup.checkpointing!.responder.acknowledge(checkpointId, p.snapshot);
  }

  /**
   * The synchronous part of a checkpoint. When an operator's snapshot (or the copy below) throws,
   * the keyed-state captures taken before it are not released: the throw fails the task (it is
   * never declined and the task never goes on), and the backends holding them go with it.
   */
  private snapshot(checkpointId: number): TaskSnapshot {
    const operators: Record<string, OperatorSnapshot> = {};
    const head = this.setup.chain[0]!;
    if (this.setup.reader !== undefined) {
      try {
        operators[head.info.uid] = {
          splits: snapshotReader(this.setup.reader, checkpointId, head.info.name),
          custom: { receivedSplitIds: [...this.setup.receivedSplitIds] },
        };
      } catch (e) {
        throw attribute(e, head.info);
      }
    }
    for (const m of this.setup.chain) {
      if (m.operator === undefined) continue;
      let snap: OperatorSnapshot | undefined;
      try {
        snap = m.operator.snapshotState(checkpointId);
      } catch (e) {
        throw attribute(e, m.info);
      }
      if (snap === undefined) continue;
      operators[m.info.uid] = snap;
      // An asynchronous part that rejects fails the task as a throwing snapshot does (and the
      // checkpoint writer declines the checkpoint).
      const info = m.info;
      snap.pendingCustom?.catch((e: unknown) =>
        this.mailbox.execute(() => {
          throw attribute(e, info);
        }),
      );
    }
    // Copied now: the snapshot is written while the task goes on changing its state.
    return { operators: detachOperatorSnapshots(operators) };
  }

  /** Records that entered this task (read by its source, or received from the network). */
  get numRecordsIn(): number {
    return this.setup.sourceOutput?.numRecords ?? this.recordsRead;
  }

  /** Actions waiting in the mailbox. */
  get mailboxSize(): number {
    return this.mail.length;
  }

  /** How long the task's last barrier alignment took, ms (0 without input channels or checkpoints). */
  get lastAlignmentMs(): number {
    return this.aligner?.lastAlignmentMs ?? 0;
  }

  /** The task's input watermark: over its channels, or (a source task) what its reader emitted. */
  get inputWatermark(): number {
    return this.setup.reader !== undefined
      ? this.setup.chain[0]!.output.lastWatermark
      : this.currentWatermark;
  }

  /** When the next processing-time timer of this task is due. */
  nextTimerDue(): number {
    return this.setup.processingTime.nextDue();
  }

  get name(): string {
    return this.setup.name;
  }

  async open(): Promise<void> {
    if (this.setup.restore !== undefined) {
      const { operators: restored, inFlight, finished } = await this.setup.restore();
      this.finishedOnRestore = finished === true;
      if (inFlight !== undefined) this.restoreChannels(inFlight);
      for (const m of this.setup.chain) {
        const r = restored.get(m.info.uid);
        if (r === undefined || m.operator === undefined) continue;
        try {
          m.operator.initializeState(r);
        } catch (e) {
          throw attribute(e, m.info);
        }
      }
    }
    // Open downstream operators first, so that an operator never emits into an unopened one.
    for (let i = this.setup.chain.length - 1; i >= 0; i--) {
      const m = this.setup.chain[i]!;
      try {
        await m.operator?.open();
      } catch (e) {
        throw attribute(e, m.info);
      }
    }
    if (this.finishedOnRestore) {
      // Restored (sinks commit what they had staged), and nothing more to read or emit.
      this.state = "finishing";
      return;
    }
    if (this.setup.reader !== undefined) {
      try {
        this.setup.reader.start();
      } catch (e) {
        throw attribute(e, this.setup.chain[0]!.info);
      }
      this.setup.sourceOutput!.start(this.setup.autoWatermarkInterval);
      const latencyInterval = this.setup.latencyTrackingInterval ?? 0;
      if (latencyInterval > 0) this.startLatencyMarkers(latencyInterval);
    }
    this.state = "running";
  }

  /** Flink's latency tracking: a marker from this source every interval (a timer: off the record path). */
  private startLatencyMarkers(interval: number): void {
    const head = this.setup.chain[0]!;
    const sourceUid = head.info.uid;
    const sourceSubtask = this.setup.identity.subtaskIndex;
    this.setup.processingTime.scheduleAtFixedRate(interval, () => {
      if (this.state === "running")
        head.output.emitLatencyMarker({ markedTime: Date.now(), sourceUid, sourceSubtask });
    });
  }

  /** A latency marker from the network: to the head operator, which records it and passes it on. */
  processLatencyMarker(marker: LatencyMarker): void {
    this.setup.chain[0]!.operator?.processLatencyMarker(marker);
  }

  private outputAvailable(): boolean {
    for (const w of this.setup.writers) if (!w.isAvailable()) return false;
    return true;
  }

  /** Whether every operator of the chain takes input now (see StreamOperator.isInputAvailable). */
  private inputAllowed(): boolean {
    for (const m of this.setup.chain)
      if (m.operator !== undefined && !m.operator.isInputAvailable()) return false;
    return true;
  }

  /** Run one bounded slice. Returns true if it did any work. Sets state to "finishing" at end of input. */
  step(): boolean {
    if (this.state !== "running") return false;
    const mailed = this.mail.length > 0 && this.runMail();
    // Timers are mailbox actions: they run even under backpressure (their output may overdraw).
    const fired = this.setup.processingTime.nextDue() <= this.setup.processingTime.now() && this.fireTimers();
    const backPressured = !this.outputAvailable();
    this.metrics.backPressured = backPressured;
    if (backPressured) return fired;
    if (!this.inputAllowed()) return fired || mailed;
    // Restored in-flight records come before any new input.
    if (this.restoredRecords.length > 0) return this.stepRestored();
    const worked =
      this.setup.reader !== undefined ? this.stepSource(this.setup.reader) : this.stepInput(this.setup.gate!);
    return worked || fired || mailed;
  }

  private runMail(): boolean {
    const head = this.setup.chain[0]!;
    while (this.mail.length > 0) {
      const action = this.mail.shift()!;
      try {
        action();
      } catch (e) {
        throw attribute(e, head.info);
      }
    }
    return true;
  }

  /** Run pending mail now (used while an operator waits in finish() for async work). */
  drainMailbox(): void {
    if (this.mail.length > 0) this.runMail();
  }

  private fireTimers(): boolean {
    try {
      return this.setup.processingTime.fireDue() > 0;
    } catch (e) {
      throw attribute(e, this.setup.chain[0]!.info);
    }
  }

  private stepSource(reader: SourceReader<unknown, unknown>): boolean {
    if (this.waitingForReader) return false;
    let status: InputStatus = InputStatus.MORE_AVAILABLE;
    // Like a read of input, a step of a source ends after a few ms (checked between polls), so
    // that slow records do not hold up the thread's other tasks and its event loop.
    const deadline = performance.now() + STEP_BUDGET_MS;
    for (let i = 0; i < POLLS_PER_STEP && status === InputStatus.MORE_AVAILABLE; i++) {
      try {
        status = reader.pollNext(this.setup.sourceOutput!);
      } catch (e) {
        throw attribute(e, this.setup.chain[0]!.info);
      }
      if (!this.outputAvailable() || !this.inputAllowed()) break;
      if (performance.now() > deadline) break;
    }
    if (status === InputStatus.END_OF_INPUT) {
      try {
        this.setup.sourceOutput!.endOfInput();
      } catch (e) {
        throw attribute(e, this.setup.chain[0]!.info);
      }
      this.state = "finishing";
    } else if (status === InputStatus.NOTHING_AVAILABLE) {
      this.waitingForReader = true;
      reader.isAvailable().then(
        () => {
          this.waitingForReader = false;
          this.wakeup();
        },
        () => {
          this.waitingForReader = false;
          this.wakeup();
        },
      );
    }
    return true;
  }

  private stepInput(gate: InputGate): boolean {
    let read = 0;
    // A step also ends after a few ms, within a buffer if need be (the channel goes on from there
    // next time), so that mail (an unaligned barrier's announcement, a timer) and other tasks of
    // the thread are not held up by a slow operator.
    const deadline = performance.now() + STEP_BUDGET_MS;
    while (read < BUFFERS_PER_STEP) {
      const ch = gate.pollChannel();
      if (ch === undefined) break;
      const wasEnded = ch.endOfPartition;
      gate.read(ch, this, deadline);
      if (!wasEnded && ch.endOfPartition) this.aligner?.onEndOfPartition();
      read++;
      if (ch.partlyRead || !this.outputAvailable() || !this.inputAllowed() || performance.now() > deadline)
        break;
    }
    if (read > 0) {
      for (let i = 0; i < this.endedInputs.length; i++) {
        if (!this.endedInputs[i] && gate.isInputFinished(i)) {
          this.endedInputs[i] = true;
          const head = this.setup.chain[0]!;
          try {
            head.operator!.endInput(i);
          } catch (e) {
            throw attribute(e, head.info);
          }
        }
      }
      if (gate.isFinished()) this.state = "finishing";
    }
    return read > 0;
  }

  processRecord(value: unknown, timestamp: number, inputIndex: number, keyGroup = -1): void {
    const element = this.setup.element;
    element.timestamp = timestamp;
    element.keyGroup = keyGroup;
    this.recordsRead++;
    const head = this.setup.chain[0]!;
    const op = head.operator!;
    op.numRecordsIn++;
    try {
      op.processElement(value, inputIndex);
    } catch (e) {
      throw attribute(e, head.info);
    }
  }

  processWatermark(watermark: number, channel: InputChannel): void {
    if (watermark <= channel.watermark) return;
    channel.watermark = watermark;
    this.advanceWatermark();
  }

  processWatermarkStatus(idle: boolean, channel: InputChannel): void {
    if (channel.idle === idle) return;
    channel.idle = idle;
    const head = this.setup.chain[0]!;
    let allIdle = true;
    for (const c of this.setup.gate!.channels) if (!c.idle && !c.endOfPartition) allIdle = false;
    if (allIdle && !this.idle) {
      // As Flink's valve does: when every input goes idle, release the highest watermark seen.
      let max = Number.NEGATIVE_INFINITY;
      for (const c of this.setup.gate!.channels) if (c.watermark > max) max = c.watermark;
      if (max > this.currentWatermark) this.emitWatermark(max);
    }
    if (allIdle !== this.idle) {
      this.idle = allIdle;
      head.operator!.processWatermarkStatus(allIdle);
    }
    if (!allIdle) this.advanceWatermark();
  }

  /** The task's watermark: the minimum over its non-idle channels; it never goes backwards. */
  private advanceWatermark(): void {
    let min = Number.POSITIVE_INFINITY;
    let any = false;
    for (const c of this.setup.gate!.channels) {
      if (c.idle) continue;
      any = true;
      if (c.watermark < min) min = c.watermark;
    }
    if (any && min > this.currentWatermark) this.emitWatermark(min);
  }

  private emitWatermark(watermark: number): void {
    this.currentWatermark = watermark;
    const head = this.setup.chain[0]!;
    try {
      head.operator!.processWatermark(watermark);
    } catch (e) {
      throw attribute(e, head.info);
    }
  }

  /** End of input: let every operator emit its last records, then end the partitions and close. */
  async finish(): Promise<void> {
    if (this.finishedOnRestore) {
      // Everything was emitted before the checkpoint: only the end of the stream goes downstream.
      for (const w of this.setup.writers) w.emitWatermark(Number.POSITIVE_INFINITY);
    } else {
      for (const m of this.setup.chain) {
        try {
          await m.operator?.finish();
        } catch (e) {
          throw attribute(e, m.info);
        }
      }
    }
    for (const w of this.setup.writers) w.finish();
    // The final state (with the sinks' end-of-input committables) stands in for this task in every
    // later checkpoint, the final one included: the job master commits them once that completed.
    this.setup.checkpointing?.responder.finished(this.snapshot(FINAL_CHECKPOINT_ID));
    this.state = "finished";
  }

  /** Every operator had finished before the checkpoint this task was restored from. */
  private finishedOnRestore = false;

  private closed = false;

  /**
   * Once the whole job has finished (with checkpoints: once the final checkpoint, which holds
   * this task's final state, has completed): let operators commit what the end of input left
   * pending (two-phase-commit sinks), then close them.
   */
  async complete(): Promise<void> {
    if (this.closed) return;
    for (const m of this.setup.chain) {
      try {
        m.operator?.notifyCheckpointComplete(FINAL_CHECKPOINT_ID);
      } catch (e) {
        throw attribute(e, m.info);
      }
    }
    this.closed = true;
    await this.closeOperators();
  }

  private async closeOperators(): Promise<void> {
    try {
      if (this.setup.reader !== undefined) await this.setup.reader.close();
      for (const m of this.setup.chain) {
        try {
          await m.operator?.close();
        } catch (e) {
          throw attribute(e, m.info);
        }
      }
    } finally {
      for (const d of this.setup.disposables) d();
    }
  }

  /** Flush buffers past their timeout; returns when the next flush is due. */
  flushTimedOut(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const w of this.setup.writers) {
      const due = w.flushTimedOut(now);
      if (due < next) next = due;
    }
    return next;
  }

  report(): TaskReport {
    const accumulators = reportAccumulators(this.setup.accumulators);
    return {
      vertexId: this.setup.vertexId,
      subtask: this.setup.identity.subtaskIndex,
      state: this.state,
      recordsIn: this.numRecordsIn,
      recordsOut: this.setup.writers.reduce((s, w) => s + w.recordsOut, 0),
      bytesOut: this.setup.writers.reduce((s, w) => s + w.bytesOut, 0),
      operators: this.setup.chain.map((m) => ({
        uid: m.info.uid,
        name: m.info.name,
        recordsIn: m.operator?.numRecordsIn ?? this.numRecordsIn,
        recordsOut: m.output.numRecordsOut,
      })),
      accumulators,
    };
  }

  /** Stop after a failure or cancellation: release buffers, close what can be closed. */
  async abort(state: "failed" | "cancelled"): Promise<void> {
    if (this.closed || this.state === "failed" || this.state === "cancelled") return;
    // A checkpoint that completed before the stop is committed (closing waits for the commits):
    // stop-with-savepoint cancels the job right after its savepoint's checkpoint completed.
    const live = this.state === "running" || this.state === "finishing";
    if (live && this.notifiedComplete > this.deliveredComplete) {
      try {
        this.deliverComplete(this.notifiedComplete);
      } catch {
        // the task is stopping; a restore commits again what this did not
      }
    }
    if (this.state !== "finished") this.state = state;
    this.closed = true;
    for (const w of this.setup.writers) w.release();
    this.setup.gate?.release();
    try {
      await this.closeOperators();
    } catch {
      // the task is already failing; the first error is the one reported
    }
  }
}

function snapshotReader(
  reader: SourceReader<unknown, unknown>,
  checkpointId: number,
  name: string,
): unknown[] {
  if (reader.snapshotState === undefined) {
    throw new Error(
      `the reader of source '${name}' cannot take part in checkpoints: it has no snapshotState(); implement it, or run the job without checkpointing`,
    );
  }
  return reader.snapshotState(checkpointId);
}
