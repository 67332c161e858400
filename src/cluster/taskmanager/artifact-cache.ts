// The job artifacts a TaskManager has fetched from the JobManager, by the sha256 of their bytes. A
// fetched artifact whose bytes do not hash to its name is refused; a stored one is imported from
// its file without fetching it again. An artifact no worker runs is deleted after `retainMs` (as
// Flink's blob cache drops a job's files a while after its last task left the TaskManager), so a
// long-running TaskManager does not keep every job it ever ran; a restart within that time reuses it.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WeirError } from "../../core/errors.ts";
import { runnableArtifact } from "../job-artifact.ts";

const FETCH_TIMEOUT_MS = 60_000;
/** How long an artifact no worker runs is kept for a restart or the next job (Flink: one hour). */
export const ARTIFACT_RETAIN_MS = 60 * 60_000;

export class ArtifactError extends WeirError {
  constructor(message: string) {
    super("IO", message);
  }
}

export class ArtifactCache {
  private readonly waiting = new Map<string, Array<(bytes: Uint8Array | undefined) => void>>();
  /** Workers running each artifact. */
  private readonly users = new Map<string, number>();
  /** Deletions pending for artifacts no worker runs. */
  private readonly idle = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly dir: string,
    private readonly request: (sha256: string) => void,
    private readonly retainMs = ARTIFACT_RETAIN_MS,
  ) {}

  /** The local path of the artifact's runnable module, fetched and checked first when needed. */
  async path(sha256: string, name: string): Promise<string> {
    if (!/^[0-9a-f]{64}$/.test(sha256))
      throw new ArtifactError(`'${sha256}' is not an artifact id (a sha256)`);
    const dir = join(this.dir, sha256);
    const file = join(dir, "job.mjs");
    if (existsSync(file)) return file;
    const bytes = await new Promise<Uint8Array | undefined>((resolve) => {
      const list = this.waiting.get(sha256) ?? [];
      list.push(resolve);
      this.waiting.set(sha256, list);
      if (list.length === 1) this.request(sha256);
      setTimeout(() => resolve(undefined), FETCH_TIMEOUT_MS).unref();
    });
    if (bytes === undefined) {
      throw new ArtifactError(
        `the JobManager did not send the artifact of '${name}' (${sha256.slice(0, 12)})`,
      );
    }
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== sha256) {
      throw new ArtifactError(
        `the artifact of '${name}' fetched from the JobManager has sha256 ${actual.slice(0, 12)}, not ${sha256.slice(0, 12)}: refused; submit the job again`,
      );
    }
    if (existsSync(file)) return file;
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, runnableArtifact(Buffer.from(bytes).toString("utf8")));
    renameSync(tmp, file);
    return file;
  }

  /** A worker runs the artifact: it is kept until `released` as often. */
  acquire(sha256: string): void {
    clearTimeout(this.idle.get(sha256));
    this.idle.delete(sha256);
    this.users.set(sha256, (this.users.get(sha256) ?? 0) + 1);
  }

  /** A worker of the artifact ended: when it was the last, the artifact goes after `retainMs`. */
  release(sha256: string): void {
    const left = (this.users.get(sha256) ?? 1) - 1;
    if (left > 0) {
      this.users.set(sha256, left);
      return;
    }
    this.users.delete(sha256);
    const timer = setTimeout(() => {
      this.idle.delete(sha256);
      rmSync(join(this.dir, sha256), { recursive: true, force: true });
    }, this.retainMs);
    timer.unref();
    this.idle.set(sha256, timer);
  }

  /** The TaskManager stops: every fetched artifact goes. */
  clear(): void {
    for (const timer of this.idle.values()) clearTimeout(timer);
    this.idle.clear();
    this.users.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }

  received(sha256: string, bytes: Uint8Array | undefined): void {
    const list = this.waiting.get(sha256) ?? [];
    this.waiting.delete(sha256);
    for (const f of list) f(bytes);
  }
}
