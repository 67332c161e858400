// Starting the split enumerators of a job's sources (fresh, or restored from a checkpoint) and
// snapshotting them for checkpoints. An enumerator that cannot start fails the attempt (the
// restart strategy decides), with the job and the source named, and nothing left open.

import type { LoadedCheckpoint } from "../checkpoint/fs-storage.ts";
import { decodeStateFile, encodeStateFile } from "../checkpoint/state-file.ts";
import { JobExecutionError, WeirError } from "../core/errors.ts";
import { type ReaderGateway, SourceCoordinator, type SourceRestore } from "../runtime/source-coordinator.ts";
import type { TaskSnapshot } from "../runtime/snapshot.ts";
import type { JobGraph } from "../graph/job-graph.ts";

export async function startSourceCoordinators(
  jobGraph: JobGraph,
  restore: LoadedCheckpoint | undefined,
  gatewayFor: (sourceNodeId: number) => ReaderGateway,
): Promise<Map<number, SourceCoordinator>> {
  const out = new Map<number, SourceCoordinator>();
  try {
    for (const v of jobGraph.vertices) {
      const head = v.head;
      if (head.source === undefined) continue;
      const restored = restore === undefined ? undefined : await sourceRestore(restore, head.uid);
      const c = new SourceCoordinator(
        head.name,
        head.uid,
        head.source,
        v.parallelism,
        gatewayFor(head.id),
        restored,
      );
      out.set(head.id, c);
      try {
        await c.start();
      } catch (e) {
        throw enumeratorFailure(jobGraph.jobName, c, restored !== undefined, e);
      }
    }
  } catch (e) {
    // The attempt fails (and may be restarted): release the enumerators already created.
    await closeSourceCoordinators(out);
    throw e;
  }
  return out;
}

/** Close every enumerator; one failing to close does not keep the others open. */
export async function closeSourceCoordinators(coordinators: Map<number, SourceCoordinator>): Promise<void> {
  for (const c of coordinators.values()) {
    try {
      await c.close();
    } catch {
      // Best effort: the attempt is being torn down already.
    }
  }
}

/** A split enumerator that could not be created or started: names the job and the source. */
function enumeratorFailure(jobName: string, c: SourceCoordinator, restored: boolean, e: unknown): Error {
  if (e instanceof WeirError && e.code === "INVALID_JOB") return e;
  const cause = e instanceof Error ? e : new Error(String(e));
  return new JobExecutionError(
    `job '${jobName}' failed: the split enumerator of source '${c.sourceName}' (uid ${c.sourceUid}) could not ${restored ? "be restored" : "start"}: ${cause.name}: ${cause.message}`,
    undefined,
    cause.stack,
    cause,
  );
}

async function sourceRestore(cp: LoadedCheckpoint, uid: string): Promise<SourceRestore | undefined> {
  const encoded = cp.metadata.enumerators[uid];
  if (encoded === undefined) return undefined; // a new source: starts fresh
  const enumeratorSplits = decodeStateFile(
    Buffer.from(encoded, "base64"),
    `${cp.path} (enumerator of ${uid})`,
  ) as unknown[];
  const readerSplits: unknown[] = [];
  const receivedIds = new Set<string>();
  for (const task of Object.values(cp.metadata.tasks)) {
    if (!task.operators.includes(uid)) continue;
    for (const h of task.subtasks) {
      if (h.file === undefined) continue;
      const snap = (await cp.read(h.file)) as TaskSnapshot;
      const op = snap.operators[uid];
      readerSplits.push(...(op?.splits ?? []));
      for (const id of (op?.custom as { receivedSplitIds?: string[] } | undefined)?.receivedSplitIds ?? []) {
        receivedIds.add(id);
      }
    }
  }
  return { enumeratorSplits, readerSplits, receivedIds };
}

/** Every enumerator's state for checkpoint `id`, by source uid (encoded, base64). */
export function snapshotEnumerators(
  coordinators: Map<number, SourceCoordinator>,
  id: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of coordinators.values()) {
    out[c.sourceUid] = Buffer.from(encodeStateFile(c.snapshotState(id))).toString("base64");
  }
  return out;
}
