// JobManager leader election on etcd: contenders campaign (etcd3's election: a key under a lease,
// the oldest key leads) with the address they serve at; the leader's address is what the others
// and the TaskManagers read. Leadership lasts as long as the lease: a leader that dies or is cut
// off from etcd stops renewing it, etcd deletes its key after the TTL, and the next contender is
// elected. A contender learns that it lost leadership (its key gone, its lease lost, or no
// confirmation from etcd for a whole TTL) through a `revoked` event, and campaigns again as a
// standby. Writes of a leader are fenced (LeaderFence): they commit only while its key exists.

import { EventEmitter } from "node:events";
import type { Etcd3 } from "./etcd-connection.ts";

type Namespace = import("etcd3").Namespace;

/** Proof of leadership for fenced writes: the leader's campaign key and the revision it was created at. */
export interface LeaderFence {
  key: string;
  createRevision: string;
}

type Campaign = import("etcd3").Campaign;
type ElectionObserver = import("etcd3").ElectionObserver;

export interface LeaderElectionEvents {
  /** This contender became the leader. */
  granted: [fence: LeaderFence];
  /** This contender is no longer the leader (it campaigns again unless closed). */
  revoked: [reason: string];
  /** A campaign could not start (etcd unreachable...); it is retried. */
  error: [error: Error];
}

/** One contender for the leadership of a component (e.g. "jobmanager"). */
export class LeaderElection extends EventEmitter<LeaderElectionEvents> {
  private campaign: Campaign | undefined;
  private current: LeaderFence | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastConfirmed = 0;
  private closed = false;
  private address: string | undefined;

  /** @internal use EtcdHaServices.leaderElection */
  constructor(
    /** The root client: fence keys are absolute. */
    private readonly client: Etcd3,
    /** The cluster's namespace, where the election lives. */
    private readonly ns: Namespace,
    /** The election's name under the cluster's prefix. */
    private readonly name: string,
    private readonly ttlSeconds: number,
  ) {
    super();
  }

  get isLeader(): boolean {
    return this.current !== undefined;
  }

  /** The fence of the current leadership (undefined when not the leader). */
  get fence(): LeaderFence | undefined {
    return this.current;
  }

  /** Campaign with the address this contender serves at; `granted` is emitted once it leads. */
  start(address: string): void {
    if (this.address !== undefined) throw new Error("this LeaderElection has already started");
    this.address = address;
    this.campaignOnce();
  }

  /** Give up leadership (or candidacy) at once: the lease is revoked, a standby takes over without waiting for the TTL. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    const campaign = this.campaign;
    this.campaign = undefined;
    this.lose("this contender closed its election");
    await campaign?.resign().catch(() => {});
  }

  private campaignOnce(): void {
    if (this.closed) return;
    const campaign = this.ns.election(this.name, this.ttlSeconds).campaign(this.address!);
    this.campaign = campaign;
    campaign.on("elected", () => {
      if (this.campaign !== campaign || this.closed) return;
      void this.confirmElected(campaign);
    });
    campaign.on("error", (e: Error) => {
      if (this.campaign !== campaign) return;
      this.campaign = undefined;
      if (this.current !== undefined) this.lose(`its lease was lost: ${e.message}`);
      else this.emit("error", e);
      campaign.resign().catch(() => {});
      this.retryLater();
    });
  }

  private async confirmElected(campaign: Campaign): Promise<void> {
    try {
      const key = await campaign.getCampaignKey();
      const kv = (await this.client.get(key).exec()).kvs[0];
      if (kv === undefined) throw new Error(`campaign key ${key} vanished`);
      if (this.campaign !== campaign || this.closed) return;
      this.current = { key, createRevision: kv.create_revision };
      this.lastConfirmed = Date.now();
      this.checkTimer = setInterval(
        () => void this.check(campaign),
        Math.max(200, (this.ttlSeconds * 1000) / 4),
      );
      this.emit("granted", this.current);
    } catch (e) {
      if (this.campaign !== campaign) return;
      this.campaign = undefined;
      campaign.resign().catch(() => {});
      this.emit("error", e as Error);
      this.retryLater();
    }
  }

  /** Leadership holds while etcd confirms the key; it is given up when a TTL passes without confirmation. */
  private async check(campaign: Campaign): Promise<void> {
    const fence = this.current;
    if (fence === undefined || this.campaign !== campaign) return;
    try {
      const kv = (await this.client.get(fence.key).exec()).kvs[0];
      if (kv === undefined || kv.create_revision !== fence.createRevision) {
        return this.give(campaign, "its key is gone from etcd (its lease expired or was revoked)");
      }
      this.lastConfirmed = Date.now();
    } catch {
      // Unconfirmed: decided below.
    }
    if (this.current === fence && Date.now() - this.lastConfirmed > this.ttlSeconds * 1000) {
      this.give(
        campaign,
        `etcd did not confirm its leadership for ${this.ttlSeconds} s (its lease may have expired)`,
      );
    }
  }

  private give(campaign: Campaign, reason: string): void {
    if (this.campaign !== campaign) return;
    this.campaign = undefined;
    this.lose(reason);
    campaign.resign().catch(() => {});
    this.retryLater();
  }

  private lose(reason: string): void {
    clearInterval(this.checkTimer);
    this.checkTimer = undefined;
    if (this.current === undefined) return;
    this.current = undefined;
    this.emit("revoked", reason);
  }

  private retryLater(): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.campaignOnce(), 500);
  }
}

/** Who leads a component, as standbys and TaskManagers see it. */
export class LeaderRetrieval extends EventEmitter<{ change: [address: string | undefined] }> {
  private constructor(private readonly observer: ElectionObserver) {
    super();
    observer.on("change", (address) => this.emit("change", address));
  }

  /** @internal use EtcdHaServices.leaderRetrieval */
  static async observe(ns: Namespace, name: string): Promise<LeaderRetrieval> {
    return new LeaderRetrieval(await ns.election(name).observe());
  }

  /** The leader's address, or undefined while there is none. */
  get leader(): string | undefined {
    return this.observer.leader();
  }

  /** Resolves with the first leader address for which `accept` holds (default: any). */
  waitForLeader(accept: (address: string) => boolean = () => true): Promise<string> {
    const now = this.leader;
    if (now !== undefined && accept(now)) return Promise.resolve(now);
    return new Promise((resolve) => {
      const on = (a: string | undefined) => {
        if (a !== undefined && accept(a)) {
          this.off("change", on);
          resolve(a);
        }
      };
      this.on("change", on);
    });
  }

  async close(): Promise<void> {
    await this.observer.cancel();
  }
}
