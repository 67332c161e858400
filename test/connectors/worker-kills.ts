// Kills worker threads of a job running on the mini cluster at seeded moments, for the
// connectors' exactly-once tests: each kill waits until the target system shows a given amount of
// committed output (so a checkpoint had completed), then ends one slot's worker thread abruptly,
// as a crash would. The restart strategy restores the job from its last checkpoint.

import assert from "node:assert/strict";
import type { WorkerKillReport } from "../../src/cluster/attempt-coordinator.ts";
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
  // planned late can land after the job completed, ending no attempt (and then counted as none).
  maxShare = 0.4,
): WorkerKill[] {
  return Array.from({ length: count }, () => ({
    after: 1 + Math.floor(random() * total * maxShare),
    slot: Math.floor(random() * parallelism),
  })).sort((a, b) => a.after - b.after);
}

/** A kill as it landed: the attempt it hit and that attempt's phase (see AttemptPhase). */
export interface LandedKill extends WorkerKillReport {
  slot: number;
  /** progress() when the kill was made. */
  progress: number;
}

export interface KilledRun {
  restarts: number;
  /** Kills that hit a live attempt (deploying, running or finishing): each ends its attempt. */
  killed: number;
  /** Distinct attempts killed while live: the job must have restarted at least this often. */
  attemptsKilled: number;
  landed: LandedKill[];
  /** The result's status (a bounded job: FINISHED; a cancelled one: CANCELED). */
  status: string;
}

/** A kill of an attempt in these phases ends nothing: it is over already, or being cancelled. */
const endsNothing = (k: WorkerKillReport | undefined) =>
  k === undefined || k.phase === "over" || k.phase === "stopping";

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
  const landed: LandedKill[] = [];
  const running = () => client.getStatus() === "RUNNING";
  const killer = (async () => {
    let atLastKill = -1;
    for (const k of options.kills) {
      // After a kill, the next one waits for output the restored attempt committed.
      const threshold = Math.max(k.after, atLastKill + 1);
      let progress = -1;
      await waitFor(
        async () => !running() || (progress = await options.progress()) >= threshold,
        `${k.after} committed outputs before killing slot ${k.slot}`,
        deadline,
      );
      // The job's status stays RUNNING while a failed attempt is torn down and the next one is
      // launched, and while a completed job deletes its checkpoints: a kill then ends nothing.
      // Between attempts, kill the next one (in whatever phase it is); after the job completed,
      // count no kill.
      let kill: WorkerKillReport | undefined;
      while (running() && endsNothing((kill = client.killWorker(k.slot)))) {
        await new Promise((r) => setTimeout(r, 10));
      }
      if (kill === undefined || endsNothing(kill)) {
        // Not RUNNING: FINISHED (a kill planned too late) or FAILED (the run's error follows).
        console.log(
          `# kill of slot ${k.slot} at ${progress}: the job was ${client.getStatus()}, no kill counted`,
        );
        return;
      }
      console.log(`# killed slot ${k.slot} at ${progress}: attempt ${kill.attempt}, ${kill.phase}`);
      landed.push({ ...kill, slot: k.slot, progress });
      atLastKill = await options.progress();
    }
  })();
  const result = (restarts: number, status: string): KilledRun => ({
    restarts,
    killed: landed.length,
    attemptsKilled: new Set(landed.map((k) => k.attempt)).size,
    landed,
    status,
  });
  try {
    if (options.done !== undefined) {
      const done = options.done;
      await killer;
      await waitFor(async () => !running() || (await done()), "the expected output", deadline);
      if (running()) await client.cancel();
      const status = client.getStatus();
      const r = status === "CANCELED" ? client.cancelledResult() : await client.wait();
      return result(r?.restarts ?? -1, status);
    }
    const r = await client.wait();
    await killer;
    return result(r.restarts, client.getStatus());
  } catch (e) {
    if (running()) await client.cancel().catch(() => {});
    throw e;
  }
}

/**
 * Every kill that hit a live attempt ended it: one restart per attempt killed (a kill in any phase
 * but `over` and `stopping` is a failure of its attempt). Committed output shows up in steps, so a
 * plan's thresholds may first be reached by the final commits: then no kill may have landed before
 * the job completed, which is logged (these runs hold no source back to prevent it).
 */
export function assertEveryKillEndedItsAttempt(r: KilledRun, where = ""): void {
  const kills = r.landed.map((k) => `slot ${k.slot} at ${k.progress}: attempt ${k.attempt}, ${k.phase}`);
  if (r.killed === 0) console.log(`# no kill landed before the job completed ${where}`);
  assert.equal(
    r.restarts,
    r.attemptsKilled,
    `one restart per attempt killed (kills: ${kills.join("; ")}; ${r.restarts} restarts) ${where}`,
  );
}
