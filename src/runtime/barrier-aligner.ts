// Barrier handling of one task's input: exactly-once alignment (a channel that delivered barrier
// N is blocked until every live channel has), or at-least-once (no blocking: the checkpoint is
// taken when the last barrier arrives). A newer barrier supersedes an unfinished alignment.

import type { InputChannel } from "../network/input-gate.ts";

export class BarrierAligner {
  private current = 0;
  private readonly received = new Set<InputChannel>();
  private lastDone = 0;

  constructor(
    private readonly channels: InputChannel[],
    private readonly exactlyOnce: boolean,
    private readonly perform: (checkpointId: number) => void,
  ) {}

  /** The checkpoint being aligned (0 when none). */
  get pending(): number {
    return this.current;
  }

  onBarrier(checkpointId: number, channel: InputChannel): void {
    if (checkpointId <= this.lastDone) return;
    if (checkpointId < this.current) return; // a barrier of an aligned-over, older checkpoint
    if (checkpointId > this.current) {
      this.release();
      this.current = checkpointId;
    }
    this.received.add(channel);
    if (this.exactlyOnce) channel.blocked = true;
    this.maybeComplete();
  }

  /** A channel ended: it no longer takes part in alignment. */
  onEndOfPartition(): void {
    if (this.current !== 0) this.maybeComplete();
  }

  /** The checkpoint was aborted elsewhere: stop waiting for it. */
  abort(checkpointId: number): void {
    if (checkpointId === this.current) {
      this.release();
      this.lastDone = Math.max(this.lastDone, checkpointId);
    }
  }

  private maybeComplete(): void {
    for (const c of this.channels) if (!c.endOfPartition && !this.received.has(c)) return;
    const id = this.current;
    this.release();
    this.lastDone = id;
    this.perform(id);
  }

  private release(): void {
    for (const c of this.received) c.blocked = false;
    this.received.clear();
    this.current = 0;
  }
}
