// High availability from the command line: `weir jobmanager --ha etcd://…` (a contender for
// leadership that runs the JobManager while it leads, and serves the REST API always: a standby
// forwards each request to the leader's) and how a TaskManager
// finds the JobManager (`-m a:6123,b:6123`, tried in turn, or `--ha etcd://…`, the leader).

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { parseAddress } from "../cluster/cluster-client.ts";
import type { EtcdHaOptions } from "../cluster/ha/etcd-connection.ts";
import { EtcdHaServices } from "../cluster/ha/ha-services.ts";
import { decodeLeaderInfo } from "../cluster/ha/leader-info.ts";
import type { LeaderRetrieval } from "../cluster/ha/leader-election.ts";
import { HaJobManager } from "../cluster/jobmanager/ha-jobmanager.ts";
import type { JobManager, JobManagerOptions } from "../cluster/jobmanager/job-manager.ts";
import { FORWARDED_HEADER, forwardRequest, unavailable } from "../web/rest-proxy.ts";
import type { RestServer } from "../web/rest-server.ts";
import { integerOption } from "./args.ts";
import { CliUsageError } from "./cli-errors.ts";
import { HA_LEASE_TTL, HA_STORAGE_DIR, JOBMANAGER_PORT } from "./cluster-options.ts";
import type { CliIO } from "./report.ts";

/** The etcd options of --ha, --ha-cluster-id and --ha-lease-ttl. */
export function haOptions(command: string, values: ReadonlyMap<string, string>): EtcdHaOptions | undefined {
  const endpoints = values.get("ha");
  if (endpoints === undefined) return undefined;
  return {
    endpoints,
    clusterId: values.get("ha-cluster-id"),
    leaseTtlSeconds: integerOption(command, HA_LEASE_TTL, values.get("ha-lease-ttl"), 2, 3600),
  };
}

/** A free port on `address` (a published address needs its port before it listens). */
function freePort(address: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, address, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

/**
 * `weir jobmanager --ha`: campaign for leadership; while leading run the JobManager and its REST
 * API. Resolves with the exit code once stopped (`untilStopped` resolves on SIGTERM or Ctrl-C).
 */
export async function runHaJobManager(
  jm: JobManagerOptions,
  values: ReadonlyMap<string, string>,
  startRest: (
    jm: () => JobManager | undefined,
    forward: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>,
  ) => Promise<RestServer>,
  untilStopped: (stop: () => Promise<void>) => Promise<number>,
  io: CliIO,
): Promise<number> {
  const ha = haOptions("jobmanager", values)!;
  if (values.has("job")) {
    throw new CliUsageError(
      "'weir jobmanager --job' (application mode) runs one job and exits: it takes no --ha",
      "submit the job to a highly available session cluster instead: weir run -m host:port job.ts",
    );
  }
  const checkpointDir = values.get("checkpoint-dir");
  const given = values.get("ha-storage-dir");
  if (given === undefined && (checkpointDir === undefined || checkpointDir.startsWith("s3://"))) {
    throw new CliUsageError(
      "'weir jobmanager --ha' needs a directory every JobManager shares, to keep submitted jobs for the next leader",
      `pass ${`--${HA_STORAGE_DIR.name}`} dir (or --checkpoint-dir dir, whose ha/ is used)`,
    );
  }
  const storageDir = resolve(given ?? join(checkpointDir!, "ha"));
  const port = jm.port === 0 ? await freePort(jm.address ?? "127.0.0.1") : (jm.port ?? JOBMANAGER_PORT);
  // Every JobManager serves the REST API, as in Flink: the leader answers, a standby forwards to
  // the leader's (the URL it published in etcd), or answers 503 with Retry-After while none leads.
  let h: HaJobManager | undefined;
  let rest: RestServer | undefined;
  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    // A standby's Prometheus scrape is its own (no jobs): a scraper of every JobManager would
    // count the leader's jobs twice otherwise.
    if (h?.leader !== undefined || isMetricsScrape(req)) return false;
    const target = h?.leaderRestUrl;
    if (req.headers[FORWARDED_HEADER] !== undefined) {
      unavailable(res, "the JobManager this request was forwarded to no longer leads; retry");
    } else if (target === undefined || target === rest?.url) {
      unavailable(res, "no JobManager leads right now (an election is under way); retry");
    } else {
      await forwardRequest(req, res, target, rest?.url ?? "a standby", jm.tls);
    }
    return true;
  };
  rest = await startRest(() => h?.leader, forward);
  const restUrl = rest.url;
  try {
    h = await HaJobManager.start({
      jobManager: { ...jm, port },
      ha,
      storageDir,
      restUrl,
      onLeader: async (leader) => {
        io.out(`JobManager listening on ${jm.address ?? "127.0.0.1"}:${leader.port}; REST API at ${restUrl}`);
      },
    });
  } catch (e) {
    await rest.close();
    throw e;
  }
  const started = h;
  io.out(
    `JobManager standing by for leadership (etcd ${ha.endpoints}); its RPC port will be ${port}; REST API at ${restUrl} (answering through the leader)`,
  );
  const stop = async () => {
    await started.close();
    await rest?.close();
  };
  return Promise.race([
    untilStopped(stop),
    started.fatal.catch(async (e: Error) => {
      await stop().catch(() => {});
      throw e;
    }),
  ]);
}

function isMetricsScrape(req: IncomingMessage): boolean {
  return req.method === "GET" && new URL(req.url ?? "/", "http://localhost").pathname === "/metrics";
}

/**
 * How a TaskManager finds the JobManager before each connection attempt: the leader published in
 * etcd (`--ha`), or the next of several `-m` addresses; undefined for one plain address.
 */
export async function jobManagerLocator(
  jmArg: string | undefined,
  values: ReadonlyMap<string, string>,
): Promise<
  | {
      find: () => Promise<{ host: string; port: number }>;
      first: { host: string; port: number };
      close(): Promise<void>;
    }
  | undefined
> {
  const ha = haOptions("taskmanager", values);
  if (ha !== undefined) {
    const services = await EtcdHaServices.connect(ha);
    let retrieval: LeaderRetrieval;
    try {
      retrieval = await services.leaderRetrieval();
    } catch (e) {
      await services.close();
      throw e;
    }
    const find = async () =>
      parseAddress(decodeLeaderInfo(await retrieval.waitForLeader()).rpc, JOBMANAGER_PORT);
    return { find, first: { host: "", port: 0 }, close: () => services.close() };
  }
  const list = (jmArg ?? "").split(",").filter((a) => a.length > 0);
  if (list.length <= 1) return undefined;
  const addresses = list.map((a) => parseAddress(a.trim(), JOBMANAGER_PORT));
  let next = 0;
  return {
    find: async () => addresses[next++ % addresses.length]!,
    first: addresses[0]!,
    close: async () => {},
  };
}
