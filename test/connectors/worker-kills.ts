// Kills worker threads of a job running on the mini cluster at seeded moments, for the
// connectors' exactly-once tests: each kill waits until the target system shows a given amount of
// committed output (so a checkpoint had completed), then ends one slot's worker thread abruptly,
// as a crash would. The restart strategy restores the job from its last checkpoint.

import { submitJob } from "../../src/cluster/mini-cluster.ts";
import { waitFor } from "./redis-server.ts";
export { prng as seededRandom } from "../fixtures/helpers.ts";

export interface WorkerKill {
  /** Kill once `progress()` reaches this (kills are ordered by it). */
  after: number;
  slot: number;
}

/** `count` kills at increasing random shares (up to `maxShare`) of `total`, on random slots. */
export function planKills(
  random: () => number,
  count: number,
  total: number,
  parallelism: number,
  // Committed output shows up a checkpoint late and these jobs run for a second or two: a kill
  // planned late can land after the worker's tasks finished, ending no attempt (seen on CI).
  maxShare = 0.4,
): WorkerKill[] {
  return Array.from({ length: count }, () => ({
    after: 1 + Math.floor(random() * total * maxShare),
    slot: Math.floor(random() * parallelism),
  })).sort((a, b) => a.after - b.after);
}

export interface KilledRun {
  restarts: number;
  killed: number;
  /** The result's status (a bounded job: FINISHED; a cancelled one: CANCELED). */
  status: string;
}

/**
 * Runs the job module `job` (its parameters as JSON in the environment variable `envVar`) on
 * worker threads, killing workers per `kills` as `progress()` grows. With `done`, the job is
 * cancelled once `done()` holds (unbounded jobs); otherwise it must finish by itself.
 */
export async function runWithWorkerKills(options: {
  job: string;
  envVar: string;
  params: unknown;
  parallelism: number;
  kills: WorkerKill[];
  progress: () => Promise<number>;
  done?: () => Promise<boolean>;
  deadlineMs?: number;
}): Promise<KilledRun> {
  process.env[options.envVar] = JSON.stringify(options.params);
  const client = await submitJob({ job: options.job, parallelism: options.parallelism });
  const deadline = options.deadlineMs ?? 90_000;
  let killed = 0;
  const running = () => client.getStatus() === "RUNNING";
  const killer = (async () => {
    let atLastKill = -1;
    for (const k of options.kills) {
      // After a kill, the next one waits for output the restored attempt committed.
      const threshold = Math.max(k.after, atLastKill + 1);
      await waitFor(
        async () => !running() || (await options.progress()) >= threshold,
        `${k.after} committed outputs before killing slot ${k.slot}`,
        deadline,
      );
      if (!running()) return;
      client.killWorker(k.slot);
      killed++;
      atLastKill = await options.progress();
    }
  })();
  try {
    if (options.done !== undefined) {
      const done = options.done;
      await killer;
      await waitFor(async () => !running() || (await done()), "the expected output", deadline);
      if (running()) await client.cancel();
      const status = client.getStatus();
      const r = status === "CANCELED" ? client.cancelledResult() : await client.wait();
      return { restarts: r?.restarts ?? -1, killed, status };
    }
    const r = await client.wait();
    await killer;
    return { restarts: r.restarts, killed, status: client.getStatus() };
  } catch (e) {
    if (running()) await client.cancel().catch(() => {});
    throw e;
  }
}
