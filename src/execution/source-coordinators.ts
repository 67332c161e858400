// Starting the split enumerators of a job's sources (fresh, or restored from a checkpoint) and
// snapshotting them for checkpoints.

import type { LoadedCheckpoint } from "../checkpoint/fs-storage.ts";
import { decodeStateFile, encodeStateFile } from "../checkpoint/state-file.ts";
import { type ReaderGateway, SourceCoordinator, type SourceRestore } from "../runtime/source-coordinator.ts";
import type { TaskSnapshot } from "../runtime/snapshot.ts";
import type { JobGraph } from "../graph/job-graph.ts";

export async function startSourceCoordinators(
  jobGraph: JobGraph,
  restore: LoadedCheckpoint | undefined,
  gatewayFor: (sourceNodeId: number) => ReaderGateway,
): Promise<Map<number, SourceCoordinator>> {
  const out = new Map<number, SourceCoordinator>();
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
    await c.start();
    out.set(head.id, c);
  }
  return out;
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
