// JobManager leader election on etcd, by etcd's election recipe (as its Go client's concurrency
// package does it): each contender puts a key under the election's prefix, bound to a lease of
// its own and holding the address it serves at; the oldest key leads, and each contender waits
// for the deletion of the key just older than its own. The leader's address is what standbys and
// TaskManagers read (LeaderRetrieval). Leadership lasts as long as the lease: a leader that dies
// or is cut off from etcd stops renewing it, etcd deletes its key after the TTL, and the next
// contender is elected. A contender learns that it lost leadership (its key gone, its lease lost,
// or no confirmation from etcd for a whole TTL) through a `revoked` event, and campaigns again as
// a standby. Writes of a leader are fenced (LeaderFence): they commit only while its key exists.

import { EventEmitter } from "node:events";
import type { Etcd3 } from "./etcd-connection.ts";

type Lease = import("etcd3").Lease;
type Watcher = import("etcd3").Watcher;
type Namespace = import("etcd3").Namespace;
type ElectionObserver = import("etcd3").ElectionObserver;

/** Proof of leadership for fenced writes: the leader's election key and the revision it was created at. */
export interface LeaderFence {
  key: string;
  createRevision: string;
}

export interface LeaderElectionEvents {
  /** This contender became the leader. */
  granted: [fence: LeaderFence];
  /** This contender is no longer the leader (it campaigns again unless closed). */
  revoked: [reason: string];
  /**
   * A campaign failed before it led (etcd unreachable, the lease lost...); it is tried again.
   * (Not named `error`: an unheard `error` event would throw.)
   */
  campaignFailed: [error: Error];
}

/** One campaign: its lease, and the watch it waits on; ended when it fails or is given up. */
interface Campaign {
  lease: Lease;
  watcher?: Watcher;
  ended: boolean;
  /** Wakes a wait for a deletion when the campaign ends. */
  wake?: () => void;
}

/** One contender for the leadership of a component (e.g. "jobmanager"). */
export class LeaderElection extends EventEmitter<LeaderElectionEvents> {
  private campaign: Campaign | undefined;
  private current: LeaderFence | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastConfirmed = 0;
  private checking = false;
  private closed = false;
  private address: string | undefined;

  /** @internal use EtcdHaServices.leaderElection */
  constructor(
    private readonly client: Etcd3,
    /** The keys of the contenders: `/weir/<cluster>/election/<component>/<lease id>`. */
    private readonly prefix: string,
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
    void this.campaignOnce();
  }

  /** Give up leadership (or candidacy) at once: the lease is revoked, a standby takes over without waiting for the TTL. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    const c = this.campaign;
    this.lose("this contender closed its election");
    if (c !== undefined) await this.end(c);
  }

  private async campaignOnce(): Promise<void> {
    if (this.closed) return;
    const c: Campaign = { lease: this.client.lease(this.ttlSeconds), ended: false };
    this.campaign = c;
    c.lease.on("lost", (e: Error) => this.fail(c, `its lease was lost: ${e.message}`, e));
    try {
      const leaseId = await c.lease.grant();
      const key = `${this.prefix}${leaseId}`;
      const put = await this.client
        .if(key, "Create", "==", 0)
        .then(this.client.put(key).value(this.address!).lease(leaseId))
        .commit();
      const revision = put.header.revision;
      // Wait, older key by older key, until none is left: then this contender leads.
      for (;;) {
        if (c.ended) return;
        const older = await this.client
          .getAll()
          .prefix(this.prefix)
          .maxCreateRevision(String(BigInt(revision) - 1n))
          .sort("Create", "Descend")
          .limit(1)
          .exec();
        const kv = older.kvs[0];
        if (kv === undefined) break;
        await this.waitForDelete(c, kv.key.toString(), older.header.revision);
      }
      if (c.ended) return;
      this.current = { key, createRevision: revision };
      this.lastConfirmed = Date.now();
      const every = Math.max(200, (this.ttlSeconds * 1000) / 4);
      this.checkTimer = setInterval(() => void this.check(c), every);
      this.emit("granted", this.current);
    } catch (e) {
      this.fail(c, `its campaign failed: ${(e as Error).message}`, e as Error);
    }
  }

  /** Resolves when `key` is deleted (after `revision`) or the campaign ends. */
  private async waitForDelete(c: Campaign, key: string, revision: string): Promise<void> {
    const watcher = await this.client.watch().key(key).startRevision(revision).only("delete").create();
    c.watcher = watcher;
    try {
      await new Promise<void>((resolve, reject) => {
        if (c.ended) return resolve();
        c.wake = resolve;
        watcher.once("delete", () => resolve());
        watcher.once("error", reject);
      });
    } finally {
      c.watcher = undefined;
      c.wake = undefined;
      await watcher.cancel().catch(() => {});
    }
  }

  /** Leadership holds while etcd confirms the key; given up when it is gone, or a whole TTL passes unconfirmed. */
  private async check(c: Campaign): Promise<void> {
    const fence = this.current;
    if (fence === undefined || this.campaign !== c) return;
    if (Date.now() - this.lastConfirmed > this.ttlSeconds * 1000) {
      return this.fail(
        c,
        `etcd did not confirm its leadership for ${this.ttlSeconds} s (its lease may have expired)`,
      );
    }
    if (this.checking) return; // a read still waits for etcd: the deadline above decides
    this.checking = true;
    try {
      const kv = (await this.client.get(fence.key).exec()).kvs[0];
      if (this.current !== fence) return;
      if (kv === undefined || kv.create_revision !== fence.createRevision) {
        return this.fail(c, "its key is gone from etcd (its lease expired or was revoked)");
      }
      this.lastConfirmed = Date.now();
    } catch {
      // Unconfirmed: the deadline decides.
    } finally {
      this.checking = false;
    }
  }

  /** Campaign `c` failed: leadership (if held) is lost; another campaign follows. */
  private fail(c: Campaign, reason: string, error?: Error): void {
    if (this.campaign !== c || c.ended) return;
    const wasLeader = this.current !== undefined;
    this.lose(reason);
    void this.end(c);
    if (!wasLeader && !this.closed) this.emit("campaignFailed", error ?? new Error(reason));
    if (!this.closed) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.campaignOnce(), 500);
    }
  }

  /** End a campaign: stop its watch and revoke its lease (which deletes its key). */
  private async end(c: Campaign): Promise<void> {
    if (c.ended) return;
    c.ended = true;
    if (this.campaign === c) this.campaign = undefined;
    c.wake?.();
    await c.watcher?.cancel().catch(() => {});
    await c.lease.revoke().catch(() => {});
  }

  private lose(reason: string): void {
    clearInterval(this.checkTimer);
    this.checkTimer = undefined;
    if (this.current === undefined) return;
    this.current = undefined;
    this.emit("revoked", reason);
  }
}

/** Who leads a component, as standbys and TaskManagers see it. */
export class LeaderRetrieval extends EventEmitter<{
  change: [address: string | undefined];
  /** Observation stopped for good (etcd3 gave up); observe again. Not named `error`, which would throw unheard. */
  failed: [error: Error];
}> {
  private constructor(private readonly observer: ElectionObserver) {
    super();
    observer.on("change", (address) => this.emit("change", address));
    observer.on("error", (e: Error) => this.emit("failed", e));
  }

  /** @internal use EtcdHaServices.leaderRetrieval */
  static async observe(ns: Namespace, component: string): Promise<LeaderRetrieval> {
    return new LeaderRetrieval(await ns.election(component).observe());
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
