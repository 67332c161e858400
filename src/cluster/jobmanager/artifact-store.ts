// The JobManager's blob store of job artifacts (bundled job modules, named by the sha256 of their
// bytes): kept in memory for the TaskManagers that fetch them, and as a runnable module on disk
// for the JobMaster that builds the job. An artifact lives while a job that runs it has not ended;
// one uploaded and never run is dropped after `unusedTtlMs`, and one whose last job ended is
// deleted with it (session mode would otherwise keep every upload until the JobManager exits).

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runnableArtifact } from "../job-artifact.ts";

export interface StoredArtifact {
  /** The sha256 of its bytes (hex): Flink's jar id. */
  id: string;
  /** The file name the bundle was made from. */
  name: string;
  size: number;
  uploaded: number;
  /** The runnable module on this host. */
  modulePath: string;
  /** Jobs running it that have not ended. */
  jobs: ReadonlySet<string>;
}

interface Entry extends StoredArtifact {
  bytes: Uint8Array;
  jobs: Set<string>;
}

/** An artifact uploaded and never run is dropped after this long (Flink keeps jars until deleted). */
export const UNUSED_ARTIFACT_TTL_MS = 60 * 60_000;

export class ArtifactStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly dir: string,
    private readonly unusedTtlMs = UNUSED_ARTIFACT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Store a bundle (again: the same bytes are one artifact); returns it. */
  put(name: string, bytes: Uint8Array): StoredArtifact {
    this.sweep();
    const id = createHash("sha256").update(bytes).digest("hex");
    const known = this.entries.get(id);
    if (known !== undefined) {
      known.uploaded = this.now();
      return known;
    }
    const dir = join(this.dir, id);
    const modulePath = join(dir, "job.mjs");
    if (!existsSync(modulePath)) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(modulePath, runnableArtifact(Buffer.from(bytes).toString("utf8")));
    }
    const entry: Entry = {
      id,
      name,
      size: bytes.length,
      uploaded: this.now(),
      modulePath,
      bytes,
      jobs: new Set(),
    };
    this.entries.set(id, entry);
    return entry;
  }

  get(id: string): StoredArtifact | undefined {
    return this.entries.get(id);
  }

  /** The bytes a TaskManager fetches; undefined once the artifact is gone. */
  bytes(id: string): Uint8Array | undefined {
    return this.entries.get(id)?.bytes;
  }

  list(): StoredArtifact[] {
    this.sweep();
    return [...this.entries.values()];
  }

  /** `jobId` runs the artifact: it stays until that job ends. */
  acquire(id: string, jobId: string): void {
    this.entries.get(id)?.jobs.add(jobId);
  }

  /** `jobId` ended: the artifact goes when no other job runs it. */
  release(id: string, jobId: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    entry.jobs.delete(jobId);
    if (entry.jobs.size === 0) this.remove(entry);
  }

  /** Delete an artifact no job runs (DELETE /jars/:jarid); false when a running job uses it. */
  delete(id: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return true;
    if (entry.jobs.size > 0) return false;
    this.remove(entry);
    return true;
  }

  /** Every artifact goes (the JobManager stops). */
  clear(): void {
    for (const entry of [...this.entries.values()]) this.remove(entry);
  }

  private sweep(): void {
    const before = this.now() - this.unusedTtlMs;
    for (const entry of [...this.entries.values()]) {
      if (entry.jobs.size === 0 && entry.uploaded < before) this.remove(entry);
    }
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.id);
    rmSync(join(this.dir, entry.id), { recursive: true, force: true });
  }
}
