// What a JobManager keeps in etcd so that the next leader can carry on: the job store (every
// submitted job, by id: its name and where its artifact is) and, per job, the pointer to its
// latest completed checkpoint. Reads are plain; writes are fenced when given a fence (they commit
// only while the writer still leads), and a checkpoint pointer never goes back to an older one.

import { WeirError } from "../../core/errors.ts";
import type { Etcd3 } from "./etcd-connection.ts";
import type { LeaderFence } from "./leader-election.ts";

/** A submitted job, as the dispatcher needs it to run the job again after a failover. */
export interface JobRecord {
  jobId: string;
  jobName: string;
  /** Where the job's artifact is (a blob-store path or URL), and its checksum. */
  artifact: string;
  artifactSha256?: string;
  submittedAt: number;
  /** Anything else the dispatcher stores with the job (parallelism, options...): JSON. */
  config?: Record<string, unknown>;
}

/** The latest completed checkpoint of a job. */
export interface CheckpointPointer {
  checkpointId: number;
  /** Its location: `…/chk-N` on a shared directory or `s3://…/chk-N`. */
  location: string;
  timestamp: number;
}

/** A fenced write refused: the writer no longer leads. */
export class NotLeaderError extends WeirError {
  constructor(what: string) {
    super(
      "IO",
      `${what} was refused: this JobManager is not (or no longer) the leader; stop writing and let the leader carry on`,
    );
    this.name = "NotLeaderError";
  }
}

function parse<T>(value: string, key: string): T {
  try {
    return JSON.parse(value) as T;
  } catch (e) {
    throw new WeirError(
      "IO",
      `the etcd key '${key}' holds no valid JSON (${(e as Error).message}); remove it or restore it`,
    );
  }
}

/** Put `value` at `key`, only while `fence` holds (when given). */
async function fencedPut(
  client: Etcd3,
  key: string,
  value: string,
  fence: LeaderFence | undefined,
  what: string,
) {
  if (fence === undefined) {
    await client.put(key).value(value).exec();
    return;
  }
  const r = await client
    .if(fence.key, "Create", "==", fence.createRevision)
    .then(client.put(key).value(value))
    .commit();
  if (!r.succeeded) throw new NotLeaderError(what);
}

/** Submitted jobs by id, under `<prefix>jobs/`. */
export class JobStore {
  /** @internal use EtcdHaServices.jobStore */
  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly fence: () => LeaderFence | undefined,
  ) {}

  private key(jobId: string): string {
    return `${this.prefix}jobs/${jobId}`;
  }

  async put(record: JobRecord): Promise<void> {
    await fencedPut(
      this.client,
      this.key(record.jobId),
      JSON.stringify(record),
      this.fence(),
      `storing job ${record.jobId}`,
    );
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const v = await this.client.get(this.key(jobId)).string();
    return v === null ? undefined : parse<JobRecord>(v, this.key(jobId));
  }

  /** Every stored job, by submission time. */
  async list(): Promise<JobRecord[]> {
    const all = await this.client.getAll().prefix(`${this.prefix}jobs/`).strings();
    return Object.entries(all)
      .map(([k, v]) => parse<JobRecord>(v, k))
      .sort((a, b) => a.submittedAt - b.submittedAt);
  }

  /** Remove a job (it finished, failed for good or was cancelled). */
  async remove(jobId: string): Promise<void> {
    const fence = this.fence();
    if (fence === undefined) {
      await this.client.delete().key(this.key(jobId)).exec();
      return;
    }
    const r = await this.client
      .if(fence.key, "Create", "==", fence.createRevision)
      .then(this.client.delete().key(this.key(jobId)))
      .commit();
    if (!r.succeeded) throw new NotLeaderError(`removing job ${jobId}`);
  }
}

/** The latest completed checkpoint per job, under `<prefix>checkpoints/`. */
export class CheckpointPointerStore {
  /** @internal use EtcdHaServices.checkpointPointers */
  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly fence: () => LeaderFence | undefined,
  ) {}

  private key(jobId: string): string {
    return `${this.prefix}checkpoints/${jobId}`;
  }

  async get(jobId: string): Promise<CheckpointPointer | undefined> {
    const v = await this.client.get(this.key(jobId)).string();
    return v === null ? undefined : parse<CheckpointPointer>(v, this.key(jobId));
  }

  /**
   * Point job `jobId` at `pointer` unless it already points at this or a newer checkpoint;
   * resolves with whether it moved. Atomic: concurrent writers cannot move it backwards.
   */
  async publish(jobId: string, pointer: CheckpointPointer): Promise<boolean> {
    const key = this.key(jobId);
    const value = JSON.stringify(pointer);
    for (;;) {
      const kv = (await this.client.get(key).exec()).kvs[0];
      if (
        kv !== undefined &&
        parse<CheckpointPointer>(kv.value.toString(), key).checkpointId >= pointer.checkpointId
      ) {
        return false;
      }
      const fence = this.fence();
      let txn =
        kv === undefined
          ? this.client.if(key, "Create", "==", 0)
          : this.client.if(key, "Mod", "==", kv.mod_revision);
      if (fence !== undefined) txn = txn.and(fence.key, "Create", "==", fence.createRevision);
      const r = await txn.then(this.client.put(key).value(value)).commit();
      if (r.succeeded) return true;
      if (fence !== undefined) {
        const f = (await this.client.get(fence.key).exec()).kvs[0];
        if (f === undefined || f.create_revision !== fence.createRevision) {
          throw new NotLeaderError(`publishing checkpoint ${pointer.checkpointId} of job ${jobId}`);
        }
      }
      // Another writer moved it meanwhile: look again.
    }
  }

  async remove(jobId: string): Promise<void> {
    await this.client.delete().key(this.key(jobId)).exec();
  }
}
