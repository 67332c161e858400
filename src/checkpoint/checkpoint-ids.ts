// Checkpoint ids as the coordinator hands them out. Alone (one JobManager) it simply counts. With
// a shared source (high availability: a counter in etcd that every leader of the job uses) it
// takes ids in blocks reserved ahead of need, so that triggering a checkpoint stays synchronous
// and two leaders — a deposed one still triggering and the new one — never number two
// checkpoints alike: a late `chk-N` of the old leader cannot land on the new leader's `chk-N`.
// Ids only grow. A block's ids the coordinator does not use (it stopped, or lost leadership) are
// never handed out again; the next leader's ids just start higher.

/** Where checkpoint ids come from when more than one JobManager may run the job. */
export interface CheckpointIdSource {
  /**
   * Reserve `count` consecutive ids, the first at least `atLeast`, that no other caller — in this
   * process or another — is ever given: resolves with the first.
   */
  reserve(count: number, atLeast: number): Promise<number>;
}

/** Ids reserved at a time; the next block is reserved when half of the current one is used. */
export const CHECKPOINT_ID_BLOCK = 8;

export class CheckpointIds {
  private next: number;
  /** End (exclusive) of the block being used: unbounded without a source. */
  private end: number;
  /** First id of the block reserved next, once its reservation resolved. */
  private spare: number | undefined;
  private reserving: Promise<void> | undefined;
  /** Why the last reservation failed (cleared by the next one that succeeds). */
  error: Error | undefined;

  constructor(
    first: number,
    private readonly source?: CheckpointIdSource,
  ) {
    this.next = first;
    this.end = source === undefined ? Number.POSITIVE_INFINITY : first;
    if (source !== undefined) void this.reserve();
  }

  /** Whether take() would give an id now. */
  get available(): boolean {
    return this.next < this.end || this.spare !== undefined;
  }

  /** The next id, or undefined while the source has not reserved one (wait with ready()). */
  take(): number | undefined {
    if (this.next >= this.end && this.spare !== undefined) {
      this.next = this.spare;
      this.end = this.spare + CHECKPOINT_ID_BLOCK;
      this.spare = undefined;
    }
    if (this.next >= this.end) return undefined;
    const id = this.next++;
    if (this.end - this.next <= CHECKPOINT_ID_BLOCK / 2) void this.reserve();
    return id;
  }

  /** Resolves once take() gives an id; rejects when the source cannot reserve one. */
  async ready(): Promise<void> {
    while (!this.available) {
      await this.reserve();
      if (!this.available && this.error !== undefined) throw this.error;
    }
  }

  /** Reserve the block after the current one (one reservation at a time; failures kept in `error`). */
  private reserve(): Promise<void> {
    const source = this.source;
    if (source === undefined || this.spare !== undefined) return Promise.resolve();
    if (this.reserving !== undefined) return this.reserving;
    const atLeast = Math.max(this.next, this.end);
    this.reserving = source
      .reserve(CHECKPOINT_ID_BLOCK, atLeast)
      .then((first) => {
        if (!Number.isSafeInteger(first) || first < atLeast) {
          throw new Error(`the checkpoint id source gave ${first}, below the ${atLeast} asked for`);
        }
        this.spare = first;
        this.error = undefined;
      })
      .catch((e: Error) => {
        this.error = e;
      })
      .finally(() => {
        this.reserving = undefined;
      });
    return this.reserving;
  }
}
