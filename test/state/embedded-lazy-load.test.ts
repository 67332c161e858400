// lmdb (a native addon) is loaded by the first embedded store of a thread, not when the engine is
// imported: every slot's worker thread imports the whole engine, and loading lmdb there cost
// ~0.1 s of CPU per worker at job start even for jobs that keep their state on the heap.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { it } from "node:test";
import "../../src/index.ts";
import "../../src/cluster/index.ts";
import { createKeyedStateBackend } from "../../src/state/index.ts";

const loaded = createRequire(import.meta.url).cache;
const lmdbModules = () => Object.keys(loaded).filter((path) => /[\\/]lmdb[\\/]/.test(path));

it("importing the engine does not load lmdb; the first embedded store does", () => {
  assert.deepEqual(lmdbModules(), [], "lmdb loaded by importing the engine");
  const heap = createKeyedStateBackend("heap", { start: 0, end: 127 });
  heap.dispose();
  assert.deepEqual(lmdbModules(), [], "lmdb loaded by a heap backend");
  const embedded = createKeyedStateBackend("embedded", { start: 0, end: 127 });
  try {
    assert.notDeepEqual(lmdbModules(), [], "the embedded backend works without lmdb?");
  } finally {
    embedded.dispose();
  }
});
