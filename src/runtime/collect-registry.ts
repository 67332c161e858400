// Where collect() sinks hand their values: each running job registers a publisher in the thread
// that hosts its sink subtasks; in a worker thread it forwards to the coordinating thread.

/** `txn`: a transaction id; a batch whose id was seen before is a replay and must be ignored. */
export type CollectPublisher = (
  sinkUid: string,
  subtask: number,
  values: unknown[],
  txn: string | undefined,
) => void;

const publishers = new Map<string, CollectPublisher>();

export function registerCollectPublisher(jobId: string, publisher: CollectPublisher): void {
  publishers.set(jobId, publisher);
}

export function unregisterCollectPublisher(jobId: string): void {
  publishers.delete(jobId);
}

export function publishCollected(
  jobId: string,
  sinkUid: string,
  subtask: number,
  values: unknown[],
  txn: string | undefined,
): void {
  const p = publishers.get(jobId);
  if (p === undefined) throw new Error(`no collect publisher for job ${jobId}`);
  p(sinkUid, subtask, values, txn);
}
