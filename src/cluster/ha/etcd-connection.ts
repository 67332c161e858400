// Reaching etcd: `etcd://host:port[,host:port...]` (or http:// and https:// endpoints) parsed into
// the hosts of one etcd3 client (npm `etcd3`, an optional peer dependency loaded on first use), and
// the keys of one Weir cluster, all under `/weir/<cluster id>/`.

import { InvalidArgumentError, WeirError } from "../../core/errors.ts";

export type Etcd3 = import("etcd3").Etcd3;

/** How to reach etcd and which cluster's keys to use. */
export interface EtcdHaOptions {
  /** `etcd://127.0.0.1:2379` (several: `etcd://h1:2379,h2:2379`), or `http://…`/`https://…` endpoints. */
  endpoints: string;
  /** Keeps several Weir clusters apart in one etcd (default `default`). */
  clusterId?: string;
  /** Seconds a leader's lease lives without being renewed: how fast a standby takes over (default 10, at least 2). */
  leaseTtlSeconds?: number;
  /** Milliseconds to wait for a connection (default 5000). */
  dialTimeoutMs?: number;
}

/** The hosts of an `etcd://` (or `http(s)://`) endpoint list, with their scheme. */
export function parseEtcdEndpoints(endpoints: string): string[] {
  const bad = (what: string) =>
    new InvalidArgumentError(
      `etcd endpoints '${endpoints}' ${what}; write them as etcd://host:port (several: etcd://h1:2379,h2:2379)`,
    );
  const m = /^(etcd|http|https):\/\/(.+)$/.exec(endpoints.trim());
  if (m === null) throw bad("do not start with etcd://, http:// or https://");
  const scheme = m[1] === "https" ? "https" : "http";
  const hosts = m[2]!.replace(/\/+$/, "").split(",");
  return hosts.map((h) => {
    const host = h.trim().replace(/^(etcd|https?):\/\//, "");
    if (host.includes("@")) throw bad("hold credentials; give them to etcd's own configuration, not the URL");
    if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(host)) throw bad(`have a bad host:port '${h}'`);
    return `${scheme}://${host}`;
  });
}

/** The key prefix of a cluster: `/weir/<cluster id>/`. */
export function clusterPrefix(clusterId: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(clusterId)) {
    throw new InvalidArgumentError(
      `cluster id '${clusterId}' must be 1 to 100 letters, digits, '.', '_' or '-'`,
    );
  }
  return `/weir/${clusterId}/`;
}

/** A connected etcd3 client (the npm package is loaded here, with a clear error when missing). */
export async function connectEtcd(options: EtcdHaOptions): Promise<Etcd3> {
  const hosts = parseEtcdEndpoints(options.endpoints);
  let mod: typeof import("etcd3");
  try {
    mod = await import("etcd3");
  } catch (e) {
    throw new WeirError(
      "IO",
      `high availability on etcd needs the package 'etcd3' (${(e as Error).message}); install it: npm install etcd3@^1.1.2`,
    );
  }
  const client = new mod.Etcd3({ hosts, dialTimeout: options.dialTimeoutMs ?? 5_000 });
  try {
    await client.get("/weir/").exec();
  } catch (e) {
    client.close();
    throw new WeirError(
      "IO",
      `cannot reach etcd at ${hosts.join(", ")}: ${(e as Error).message}; check that etcd runs there (--ha etcd://host:port)`,
    );
  }
  return client;
}
