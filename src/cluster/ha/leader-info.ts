// What a leading JobManager publishes in etcd as its election value: its RPC address (what
// TaskManagers dial) and its REST API's URL (where standby JobManagers forward clients' requests,
// as Flink publishes its REST endpoint's address beside the leader's). A plain `host:port` value
// (a contender that publishes no REST URL) reads as the RPC address alone.

export interface LeaderInfo {
  /** host:port of the JobManager's RPC. */
  rpc: string;
  /** The JobManager's REST API, e.g. http://10.0.0.5:8081. */
  rest?: string;
}

export function encodeLeaderInfo(info: LeaderInfo): string {
  return info.rest === undefined ? info.rpc : JSON.stringify({ rpc: info.rpc, rest: info.rest });
}

export function decodeLeaderInfo(value: string): LeaderInfo {
  if (!value.startsWith("{")) return { rpc: value };
  try {
    const v = JSON.parse(value) as { rpc?: unknown; rest?: unknown };
    if (typeof v.rpc === "string") {
      return typeof v.rest === "string" ? { rpc: v.rpc, rest: v.rest } : { rpc: v.rpc };
    }
  } catch {
    // not ours: read as an address below
  }
  return { rpc: value };
}
