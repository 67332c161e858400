// High availability on etcd, for the JobManager: leader election with the leader's address
// published, the job store and the latest-checkpoint pointer per job (Flink's HighAvailability-
// Services, on an existing coordination service rather than a home-made consensus).
//
//   const ha = await EtcdHaServices.connect({ endpoints: "etcd://127.0.0.1:2379", clusterId: "prod" });
//   const election = ha.leaderElection();            // component "jobmanager"
//   election.on("granted", () => recoverJobs(ha.jobStore(election), ha.checkpointPointers(election)));
//   election.on("revoked", () => stopJobs());
//   election.start("http://10.0.0.5:8081");
//   const leader = await ha.leaderRetrieval();       // TaskManagers and clients: leader.leader, "change"

import { clusterPrefix, connectEtcd, type Etcd3, type EtcdHaOptions } from "./etcd-connection.ts";
import { LeaderElection, LeaderRetrieval } from "./leader-election.ts";
import { CheckpointIdCounter } from "./checkpoint-id-counter.ts";
import { CheckpointPointerStore, JobStore } from "./ha-stores.ts";

const DEFAULT_TTL_SECONDS = 10;

export class EtcdHaServices {
  private readonly elections = new Set<LeaderElection>();
  private readonly retrievals = new Set<LeaderRetrieval>();
  private closed = false;

  private constructor(
    private readonly client: Etcd3,
    /** `/weir/<cluster id>/` */
    readonly prefix: string,
    readonly leaseTtlSeconds: number,
  ) {}

  /** Connect to etcd (fails with a clear error when it cannot be reached). */
  static async connect(options: EtcdHaOptions): Promise<EtcdHaServices> {
    const prefix = clusterPrefix(options.clusterId ?? "default");
    const ttl = options.leaseTtlSeconds ?? DEFAULT_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 2) {
      throw new RangeError(`leaseTtlSeconds must be a whole number of at least 2 seconds, got ${ttl}`);
    }
    return new EtcdHaServices(await connectEtcd(options), prefix, ttl);
  }

  /** A contender for the leadership of `component`; call start(address) to campaign. */
  leaderElection(component = "jobmanager"): LeaderElection {
    // Keys where etcd3's election observer reads them (LeaderRetrieval): `<prefix>election/<component>/`.
    const e = new LeaderElection(this.client, `${this.prefix}election/${component}/`, this.leaseTtlSeconds);
    this.elections.add(e);
    return e;
  }

  /** Who leads `component`, and its changes. */
  async leaderRetrieval(component = "jobmanager"): Promise<LeaderRetrieval> {
    const r = await LeaderRetrieval.observe(this.client.namespace(this.prefix), component);
    this.retrievals.add(r);
    return r;
  }

  /** The job store; its writes are fenced by `leader` when given (refused once it no longer leads). */
  jobStore(leader?: LeaderElection): JobStore {
    return new JobStore(this.client, this.prefix, () => fenceOf(leader));
  }

  /** The latest-checkpoint pointers; writes fenced by `leader` when given. */
  checkpointPointers(leader?: LeaderElection): CheckpointPointerStore {
    return new CheckpointPointerStore(this.client, this.prefix, () => fenceOf(leader));
  }

  /** The checkpoint id counter of job `jobId`, shared by every JobManager that runs it. */
  checkpointIdCounter(jobId: string): CheckpointIdCounter {
    return new CheckpointIdCounter(this.client, this.prefix, jobId);
  }

  /** Resign every election started here, stop observing, close the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.elections) await e.close();
    for (const r of this.retrievals) await r.close().catch(() => {});
    this.client.close();
  }
}

/** A fenced writer that no longer leads gets a fence that can never hold. */
function fenceOf(leader: LeaderElection | undefined) {
  if (leader === undefined) return undefined;
  return leader.fence ?? { key: "\u0000weir-not-leader", createRevision: "-1" };
}
