// Stand-ins for the barrier aligner's input channels, and an aligner driven event by event over
// them (test/runtime/barrier-aligner-*.test.ts): snapshots, completed channel state and scheduled
// timeouts are recorded for the test to look at; nothing waits on the clock.

import type { InputChannel } from "../../src/network/input-gate.ts";
import { BarrierAligner, type BarrierHandlerOptions } from "../../src/runtime/barrier-aligner.ts";

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The part of an input channel the aligner uses, observable. */
export class StubChannel {
  blocked = false;
  /** A channel of a broadcast edge (see InputChannel.alignedBarriers). */
  alignedBarriers = false;
  endOfPartition = false;
  recordingSpillNeed = 0;
  recording: Uint8Array[] | undefined;
  /** A split element's start: [its length, bytes so far]. */
  partial: [number, Uint8Array] | undefined;
  /** The checkpoint whose barrier is already queued here: the recording completes at once. */
  barrierQueued = 0;
  /** Checkpoint ids startRecording was called with. */
  readonly started: number[] = [];
  takes = 0;
  aligner!: BarrierAligner;

  constructor(readonly index: number) {}

  partialElement(): [number, Uint8Array] | undefined {
    return this.partial;
  }

  startRecording(checkpointId: number): void {
    this.started.push(checkpointId);
    this.recording = [bytes(`in-flight ${this.index} of ${checkpointId}`)];
    if (this.barrierQueued >= checkpointId) this.aligner.channelRecorded(checkpointId, this.asChannel());
  }

  takeRecording(): Uint8Array[] {
    this.takes++;
    const r = this.recording ?? [];
    this.recording = undefined;
    return r;
  }

  asChannel(): InputChannel {
    return this as unknown as InputChannel;
  }
}

interface Snapshot {
  id: number;
  unaligned: boolean;
  alignedOnly: boolean;
}

interface ChannelState {
  id: number;
  inputs: Array<[number, number, string[]]>;
}

/** `alignedChannels`: the indexes of the channels of broadcast edges. */
export function setup(channelCount: number, options: BarrierHandlerOptions, alignedChannels: number[] = []) {
  const stubs = Array.from({ length: channelCount }, (_, i) => new StubChannel(i));
  for (const i of alignedChannels) stubs[i]!.alignedBarriers = true;
  const snapshots: Snapshot[] = [];
  const states: ChannelState[] = [];
  const scheduled: Array<{ ms: number; action: () => void }> = [];
  const aligner = new BarrierAligner(
    stubs.map((s) => s.asChannel()),
    options,
    {
      snapshot: (id, unaligned, alignedOnly) => snapshots.push({ id, unaligned, alignedOnly }),
      channelStateComplete: (id, inputs) =>
        states.push({ id, inputs: inputs.map(([c, need, bufs]) => [c, need, bufs.map(text)]) }),
      schedule: (ms, action) => scheduled.push({ ms, action }),
    },
  );
  for (const s of stubs) s.aligner = aligner;
  const ch = stubs.map((s) => s.asChannel());
  const barrier = (id: number, channel: number, alignedOnly = false) =>
    aligner.onBarrier(id, ch[channel]!, alignedOnly);
  const end = (channel: number) => {
    stubs[channel]!.endOfPartition = true;
    aligner.onEndOfPartition();
  };
  const blocked = () => stubs.map((s) => s.blocked);
  return { aligner, stubs, ch, snapshots, states, scheduled, barrier, end, blocked };
}

export const EXACTLY_ONCE: BarrierHandlerOptions = { exactlyOnce: true, unaligned: false, alignedTimeout: 0 };
export const AT_LEAST_ONCE: BarrierHandlerOptions = {
  exactlyOnce: false,
  unaligned: false,
  alignedTimeout: 0,
};
export const UNALIGNED: BarrierHandlerOptions = { exactlyOnce: true, unaligned: true, alignedTimeout: 0 };
export const ALIGNED_TIMEOUT: BarrierHandlerOptions = {
  exactlyOnce: true,
  unaligned: true,
  alignedTimeout: 50,
};
