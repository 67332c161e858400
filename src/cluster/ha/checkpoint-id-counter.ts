// A job's checkpoint id counter in etcd (Flink's CheckpointIDCounter on ZooKeeper): every
// JobManager that runs the job takes its checkpoint ids from one counter, atomically, so that two
// leaders — a deposed one still writing and the new one — never number two checkpoints alike,
// and a deposed leader's late `chk-N` cannot land on the new leader's. Ids only grow: the counter
// is moved up past a restored checkpoint, never down. Not fenced (an id a deposed leader takes is
// unique all the same, and simply never completes).

import type { CheckpointIdSource } from "../../checkpoint/checkpoint-ids.ts";
import { WeirError } from "../../core/errors.ts";
import type { Etcd3 } from "./etcd-connection.ts";

export class CheckpointIdCounter implements CheckpointIdSource {
  /** @internal use EtcdHaServices.checkpointIdCounter */
  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    readonly jobId: string,
  ) {}

  private get key(): string {
    return `${this.prefix}checkpoint-counter/${this.jobId}`;
  }

  /** The next id that getAndIncrement would hand out (1 for a job that has taken none). */
  async get(): Promise<number> {
    return (await this.read()).next;
  }

  /** Take the next id: no other caller, in this process or another, ever gets the same one. */
  async getAndIncrement(): Promise<number> {
    return this.update((next) => ({ value: next + 1, result: next }));
  }

  /** Reserve `count` consecutive ids, the first at least `atLeast` (a CheckpointIdSource); resolves with the first. */
  async reserve(count: number, atLeast: number): Promise<number> {
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new RangeError(`reserve at least one checkpoint id, not ${count}`);
    }
    return this.update((next) => {
      const first = Math.max(next, atLeast);
      return { value: first + count, result: first };
    });
  }

  /** Make the next id at least `next` (after a restore from checkpoint `next - 1`); resolves with the next id. */
  async setAtLeast(next: number): Promise<number> {
    if (!Number.isSafeInteger(next) || next < 1) {
      throw new RangeError(`a checkpoint id counter starts at a whole number of at least 1, got ${next}`);
    }
    return this.update((current) => (current >= next ? undefined : { value: next, result: next }));
  }

  /** Forget the counter (the job ended for good). */
  async remove(): Promise<void> {
    await this.client.delete().key(this.key).exec();
  }

  private async read(): Promise<{ next: number; modRevision: string | undefined }> {
    const kv = (await this.client.get(this.key).exec()).kvs[0];
    if (kv === undefined) return { next: 1, modRevision: undefined };
    const next = Number(kv.value.toString());
    if (!Number.isSafeInteger(next) || next < 1) {
      throw new WeirError(
        "IO",
        `the etcd key '${this.key}' holds '${kv.value.toString()}', not a checkpoint id; remove it or set it above the job's latest checkpoint id`,
      );
    }
    return { next, modRevision: kv.mod_revision };
  }

  /**
   * Compare-and-set loop: `step` maps the current next id to the new one and the result (or
   * undefined: leave it, resolve with the current one).
   */
  private async update(
    step: (next: number) => { value: number; result: number } | undefined,
  ): Promise<number> {
    for (;;) {
      const { next, modRevision } = await this.read();
      const s = step(next);
      if (s === undefined) return next;
      const txn =
        modRevision === undefined
          ? this.client.if(this.key, "Create", "==", 0)
          : this.client.if(this.key, "Mod", "==", modRevision);
      const r = await txn.then(this.client.put(this.key).value(String(s.value))).commit();
      if (r.succeeded) return s.result;
      // Another JobManager moved it meanwhile: read again.
    }
  }
}
