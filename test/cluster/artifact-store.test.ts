// The JobManager's artifact store: an artifact lives while a job runs it, goes with its last job,
// and one uploaded but never run goes after its time to live.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ArtifactStore } from "../../src/cluster/jobmanager/artifact-store.ts";

const dir = mkdtempSync(join(tmpdir(), "weir-artifact-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const bundle = (text: string) => new TextEncoder().encode(`export default ${JSON.stringify(text)};\n`);

describe("ArtifactStore", () => {
  it("keeps an artifact while a job runs it and deletes it with its last job", () => {
    const store = new ArtifactStore(join(dir, "a"));
    const a = store.put("job.ts", bundle("a"));
    assert.match(a.id, /^[0-9a-f]{64}$/);
    assert.ok(existsSync(a.modulePath));
    assert.equal(store.put("other-name.ts", bundle("a")).id, a.id, "the same bytes are one artifact");
    store.acquire(a.id, "job-1");
    store.acquire(a.id, "job-2");
    assert.equal(store.delete(a.id), false, "in use");
    store.release(a.id, "job-1");
    assert.ok(store.bytes(a.id) !== undefined && existsSync(a.modulePath));
    store.release(a.id, "job-2");
    assert.equal(store.get(a.id), undefined);
    assert.equal(store.bytes(a.id), undefined);
    assert.ok(!existsSync(a.modulePath));
  });

  it("drops an artifact never run after its time to live, not one a job runs", () => {
    let now = 1_000;
    const store = new ArtifactStore(join(dir, "b"), 60_000, () => now);
    const idle = store.put("idle.ts", bundle("idle"));
    const used = store.put("used.ts", bundle("used"));
    store.acquire(used.id, "job-1");
    now += 59_000;
    assert.equal(store.list().length, 2);
    now += 2_000;
    assert.deepEqual(
      store.list().map((a) => a.id),
      [used.id],
    );
    assert.ok(!existsSync(idle.modulePath));
    store.clear();
    assert.ok(!existsSync(used.modulePath));
  });
});
