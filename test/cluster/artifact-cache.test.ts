// The TaskManager's cache of job artifacts: fetched once and checked against their sha256, reused
// while kept, deleted a while after the last worker running one ended, and all gone when the
// TaskManager stops.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ArtifactCache } from "../../src/cluster/taskmanager/artifact-cache.ts";
import { waitFor } from "../fixtures/helpers.ts";

const root = mkdtempSync(join(tmpdir(), "weir-artifact-cache-"));
after(() => rmSync(root, { recursive: true, force: true }));

const bundle = (text: string) => new TextEncoder().encode(text);
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** A cache whose JobManager answers each fetch with `answer(sha256)` on the next tick. */
function cacheAnswering(dir: string, answer: (sha256: string) => Uint8Array | undefined, retainMs?: number) {
  const fetched: string[] = [];
  const cache: ArtifactCache = new ArtifactCache(
    dir,
    (sha256) => {
      fetched.push(sha256);
      setImmediate(() => cache.received(sha256, answer(sha256)));
    },
    retainMs,
  );
  return { cache, fetched };
}

describe("the TaskManager's artifact cache", () => {
  it("fetches an artifact once, writes it runnable, and reuses it", async () => {
    const bytes = bundle("export default function job() {}\n");
    const id = sha(bytes);
    const { cache, fetched } = cacheAnswering(join(root, "reuse"), () => bytes);
    const [a, b] = await Promise.all([cache.path(id, "job.ts"), cache.path(id, "job.ts")]);
    assert.equal(a, b);
    assert.match(readFileSync(a, "utf8"), /export default function job/);
    assert.equal(await cache.path(id, "job.ts"), a);
    assert.deepEqual(fetched, [id], "one fetch for concurrent and later asks");
  });

  it("refuses bytes that do not hash to the artifact's id", async () => {
    const id = sha(bundle("the real one"));
    const { cache } = cacheAnswering(join(root, "refuse"), () => bundle("something else"));
    await assert.rejects(cache.path(id, "job.ts"), /has sha256 .* not .*refused; submit the job again/);
    assert.equal(existsSync(join(root, "refuse", id)), false, "nothing kept of refused bytes");
    await assert.rejects(cache.path("not-a-sha", "job.ts"), /is not an artifact id/);
  });

  it("deletes an artifact once no worker has run it for the retention time", async () => {
    const bytes = bundle("export default 1;\n");
    const id = sha(bytes);
    const dir = join(root, "idle");
    const { cache, fetched } = cacheAnswering(dir, () => bytes, 50);
    const file = await cache.path(id, "job.ts");
    cache.acquire(id);
    cache.acquire(id);
    cache.release(id);
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(existsSync(file), "kept while a worker runs it");
    cache.release(id);
    // A restart within the retention time reuses it without a fetch.
    cache.acquire(id);
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(existsSync(file), "kept: a new worker took it before the retention time ran out");
    assert.equal(fetched.length, 1);
    cache.release(id);
    await waitFor(() => !existsSync(join(dir, id)), "the idle artifact deleted", 10_000);
    // Asked again later: fetched again.
    assert.equal(await cache.path(id, "job.ts"), file);
    assert.equal(fetched.length, 2);
  });

  it("removes every artifact when the TaskManager stops", async () => {
    const bytes = bundle("export default 2;\n");
    const id = sha(bytes);
    const dir = join(root, "stop");
    const { cache } = cacheAnswering(dir, () => bytes);
    await cache.path(id, "job.ts");
    cache.acquire(id);
    cache.release(id);
    cache.clear();
    assert.equal(existsSync(dir), false);
  });
});
