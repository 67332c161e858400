// Barrier handling of one task's input.
// - Exactly-once, aligned: a channel that delivered barrier N is blocked until every live channel
//   has; then the task snapshots and forwards N.
// - At-least-once: no blocking; the snapshot is taken when the last barrier arrives.
// - Unaligned: as soon as barrier N arrives on any channel (announced on arrival, before it is
//   read in order) the task snapshots and sends N ahead of its queued output; the data still in
//   front of N on the other channels is recorded as in-flight state until their barriers come.
// - Aligned with a timeout: starts aligned and turns unaligned when alignment takes too long.
// - Channels of broadcast edges (InputChannel.alignedBarriers) are aligned in every mode, as in
//   Flink since FLINK-22815: their barriers come in order, each such channel is blocked at its
//   barrier, and an unaligned checkpoint's snapshot waits until all of them have delivered it;
//   then the other channels record their data in front of their barriers as in-flight state.
//   (Consumers read a broadcast edge at their own pace: had a barrier overtaken its data, one
//   subtask could have applied an element another still held in flight, which a rescale, giving
//   every new subtask old subtask 0's broadcast state and in-flight data, would make wrong.)
// A newer barrier supersedes an unfinished checkpoint.

import type { InputChannel } from "../network/input-gate.ts";

export interface BarrierHandlerOptions {
  exactlyOnce: boolean;
  unaligned: boolean;
  /** With unaligned: ms of alignment before switching to unaligned (0 = unaligned at once). */
  alignedTimeout: number;
}

export interface BarrierHandlerHooks {
  /** Snapshot now and forward barrier `id` (priority when unaligned). */
  snapshot(checkpointId: number, unaligned: boolean, alignedOnly: boolean): void;
  /** The in-flight data of an unaligned checkpoint is complete. */
  channelStateComplete(checkpointId: number, inputs: Array<[number, number, Uint8Array[]]>): void;
  /** Run `action` after `ms` in the task's thread (processing time). */
  schedule(ms: number, action: () => void): void;
}

export class BarrierAligner {
  private current = 0;
  private currentAlignedOnly = false;
  /** The checkpoint being aligned turns unaligned once every aligned-barrier channel delivered it. */
  private unalignedWanted = false;
  /** Channels whose barriers never overtake data (broadcast edges). */
  private readonly alignedChannels: InputChannel[];
  private readonly received = new Set<InputChannel>();
  private lastDone = 0;
  /** Unaligned checkpoint in progress: channels still recording. */
  private recording = new Set<InputChannel>();
  private recorded: Array<[number, number, Uint8Array[]]> = [];
  private unalignedId = 0;
  /** When the first barrier of the checkpoint being aligned arrived (performance.now()). */
  private alignmentStart = 0;
  /** How long the last alignment took, ms (Flink's checkpointAlignmentTime; 0 when unaligned). */
  lastAlignmentMs = 0;

  constructor(
    private readonly channels: InputChannel[],
    private readonly options: BarrierHandlerOptions,
    private readonly hooks: BarrierHandlerHooks,
  ) {
    this.alignedChannels = channels.filter((c) => c.alignedBarriers);
  }

  /** The checkpoint being aligned (0 when none). */
  get pending(): number {
    return this.current || this.unalignedId;
  }

  /** An unaligned barrier arrived on `channel` (it is still queued behind data). Runs in the task's mailbox. */
  onAnnounced(checkpointId: number): void {
    if (!this.options.unaligned || this.options.alignedTimeout > 0) return;
    if (checkpointId <= this.lastDone || checkpointId <= this.unalignedId || checkpointId <= this.current)
      return;
    if (!this.waitsForAlignedChannels()) {
      this.startUnaligned(checkpointId);
      return;
    }
    this.startAlignment(checkpointId, false, true);
  }

  onBarrier(checkpointId: number, channel: InputChannel, alignedOnly = false): void {
    if (checkpointId === this.unalignedId && this.recording.has(channel)) {
      this.channelRecorded(checkpointId, channel);
      return;
    }
    if (checkpointId <= this.lastDone || checkpointId <= this.unalignedId) return;
    if (checkpointId < this.current) return; // a barrier of an aligned-over, older checkpoint
    const unalignedAtOnce = this.options.unaligned && this.options.alignedTimeout === 0 && !alignedOnly;
    if (unalignedAtOnce && !this.waitsForAlignedChannels()) {
      // Read before its announcement ran: start now, this channel is already past its barrier.
      this.startUnaligned(checkpointId, channel);
      return;
    }
    if (checkpointId > this.current) this.startAlignment(checkpointId, alignedOnly, unalignedAtOnce);
    this.received.add(channel);
    if (this.options.exactlyOnce || alignedOnly) channel.blocked = true;
    // An unaligned barrier (its producer switched) that split an element: the start was read, the
    // rest is in the producer's output state. Only an unaligned snapshot keeps that start.
    if (this.options.unaligned && !alignedOnly && channel.partialElement() !== undefined)
      this.unalignedWanted = true;
    this.maybeComplete();
  }

  /** A channel ended: it no longer takes part. */
  onEndOfPartition(): void {
    if (this.current !== 0) this.maybeComplete();
    if (this.unalignedId !== 0) {
      for (const c of [...this.recording]) if (c.endOfPartition) this.channelRecorded(this.unalignedId, c);
    }
  }

  /** The checkpoint was aborted elsewhere: stop waiting for it. */
  abort(checkpointId: number): void {
    if (checkpointId === this.current) {
      this.release();
      this.lastDone = Math.max(this.lastDone, checkpointId);
    }
    if (checkpointId === this.unalignedId) {
      for (const c of this.recording) c.takeRecording();
      this.recording.clear();
      this.recorded = [];
      this.lastDone = Math.max(this.lastDone, checkpointId);
      this.unalignedId = 0;
    }
  }

  /** A broadcast edge's channel is still live: an unaligned snapshot waits for its barrier. */
  private waitsForAlignedChannels(): boolean {
    for (const c of this.alignedChannels) if (!c.endOfPartition) return true;
    return false;
  }

  /** `unaligned`: snapshot as soon as the broadcast edges' channels have delivered the barrier. */
  private startAlignment(checkpointId: number, alignedOnly: boolean, unaligned: boolean): void {
    this.release();
    this.current = checkpointId;
    this.currentAlignedOnly = alignedOnly;
    this.unalignedWanted = unaligned;
    this.alignmentStart = performance.now();
    if (this.options.unaligned && this.options.alignedTimeout > 0 && !alignedOnly) {
      this.hooks.schedule(this.options.alignedTimeout, () => {
        if (this.current !== checkpointId) return;
        // Turns unaligned, but never on a broadcast edge's channels: they keep aligning.
        this.unalignedWanted = true;
        this.maybeComplete();
      });
    }
  }

  /** Snapshot once the channels the checkpoint waits for have delivered its barrier (or ended). */
  private maybeComplete(): void {
    const waitFor = this.unalignedWanted ? this.alignedChannels : this.channels;
    for (const c of waitFor) if (!c.endOfPartition && !this.received.has(c)) return;
    if (this.unalignedWanted) {
      this.convertToUnaligned(this.current);
      return;
    }
    const id = this.current;
    const alignedOnly = this.currentAlignedOnly;
    this.lastAlignmentMs = performance.now() - this.alignmentStart;
    this.release();
    this.lastDone = id;
    this.hooks.snapshot(id, false, alignedOnly);
  }

  private release(): void {
    for (const c of this.received) c.blocked = false;
    this.received.clear();
    this.current = 0;
  }

  /** Snapshot now as unaligned: channels without the barrier yet become in-flight state. */
  private convertToUnaligned(checkpointId: number): void {
    const passed = new Set(this.received);
    this.lastAlignmentMs = performance.now() - this.alignmentStart;
    this.release();
    this.beginRecording(checkpointId, passed);
  }

  private startUnaligned(checkpointId: number, alreadyPassed?: InputChannel): void {
    this.lastAlignmentMs = 0;
    this.release();
    this.beginRecording(checkpointId, new Set(alreadyPassed === undefined ? [] : [alreadyPassed]));
  }

  private beginRecording(checkpointId: number, passed: Set<InputChannel>): void {
    for (const c of this.recording) c.takeRecording();
    this.recording.clear();
    this.recorded = [];
    this.unalignedId = checkpointId;
    this.hooks.snapshot(checkpointId, true, false);
    for (const c of this.channels) if (!c.endOfPartition && !passed.has(c)) this.recording.add(c);
    // A channel already past its barrier has in-flight data only when the barrier split an element
    // (see InputChannel.partialElement): the start it holds.
    for (const c of passed) {
      const partial = c.partialElement();
      if (partial !== undefined) this.recorded.push([c.index, partial[0], [partial[1]]]);
    }
    // A channel whose barrier is already queued completes its recording at once.
    this.starting = true;
    for (const c of [...this.recording]) c.startRecording(checkpointId);
    this.starting = false;
    this.finishIfRecorded();
  }

  /** A channel's barrier arrived: its in-flight data is complete (it is still processed as usual). */
  channelRecorded(checkpointId: number, channel: InputChannel): void {
    if (checkpointId !== this.unalignedId || !this.recording.has(channel)) return;
    this.recorded.push([channel.index, channel.recordingSpillNeed, channel.takeRecording()]);
    this.recording.delete(channel);
    if (!this.starting) this.finishIfRecorded();
  }
  private starting = false;

  private finishIfRecorded(): void {
    if (this.recording.size > 0) return;
    const id = this.unalignedId;
    const inputs = this.recorded;
    this.recorded = [];
    this.unalignedId = 0;
    this.lastDone = Math.max(this.lastDone, id);
    this.hooks.channelStateComplete(id, inputs);
  }
}
