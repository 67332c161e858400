// The embedded store's LMDB environment (mapped-environment.ts) decides when to reopen, which
// unmaps its data file: only once the store's estimate of the map bytes touched passes the limit,
// the file is larger than the limit and the process's file-backed pages grew past it; never while
// a scan is open. A check that finds the file still under the limit defers the next one by at most
// a limit's worth of touches: once the file and the map have grown, that much more estimate brings
// the reopen; a file no larger than the limit never needs one. Reopens after reads are capped
// between two turns of the event loop (lmdb holds each environment closed after a read until the
// loop turns). Linux only: the decision reads /proc/self/statm.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MappedEnvironment } from "../../src/state/embedded/mapped-environment.ts";

const LIMIT = 256 * 1024;

/** Writes `n` entries of `bytes` bytes each in one write transaction. */
function write(env: MappedEnvironment, n: number, bytes: number): void {
  env.db.transactionSync(() => {
    for (let i = 0; i < n; i++) {
      env.db.putSync(Buffer.from(`k${String(i).padStart(6, "0")}`), Buffer.alloc(bytes, i % 251));
    }
  });
}

/** Reads every entry through the map (outside a write transaction): every page of the file mapped. */
function readAll(env: MappedEnvironment): number {
  let n = 0;
  for (const _ of env.db.getRange({})) n++;
  return n;
}

describe("embedded store: when the mapped environment reopens", {
  skip: process.platform !== "linux" && "reads /proc/self/statm",
}, () => {
  it("a check that finds the file under the limit defers the next by at most a limit's touches", () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-mapped-env-"));
    const env = new MappedEnvironment(dir, LIMIT);
    try {
      write(env, 10, 100);
      // The store's estimate passed the limit while the file is small: no reopen yet.
      env.touched = LIMIT + 1;
      assert.equal(env.overLimit(), false, "a file under the limit needs no reopen");
      // The file grows to ~16 times the limit and all of it is read through the map.
      write(env, 4000, 1000);
      assert.equal(readAll(env), 4000);
      // A limit's worth of touches more (what the store counts for ~4 lookups): the check runs and
      // finds the map past the limit.
      env.touched += LIMIT + 1;
      assert.equal(env.overLimit(), true, "the map grew past the limit: reopen");
      env.reopenIfMapped();
      assert.equal(env.reopens, 1);
      assert.equal(env.touched, 0, "a reopen starts the estimate over");
      assert.equal(readAll(env), 4000, "the entries read back after the reopen");
    } finally {
      env.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a data file no larger than the limit needs no reopen, whatever else the process maps", () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-mapped-env-"));
    const otherDir = mkdtempSync(join(tmpdir(), "weir-mapped-env-"));
    let env = new MappedEnvironment(dir, LIMIT);
    const other = new MappedEnvironment(otherDir, 64 * LIMIT);
    try {
      write(env, 10, 100);
      env.close();
      // Opened again with a limit of exactly its data file's size.
      const size = statSync(join(dir, "data.mdb")).size;
      env = new MappedEnvironment(dir, size);
      // Another environment's file, many times that size, all mapped: the process's file-backed
      // pages grow past the limit, but none of them is this file's.
      write(other, 4000, 1000);
      assert.equal(readAll(other), 4000);
      env.touched = 64 * size;
      env.reopenIfMapped();
      assert.equal(env.reopens, 0, "nothing of this file to unmap beyond the limit");
    } finally {
      env.close();
      other.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it("reopens after reads are capped between two turns of the event loop, and resume after them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-mapped-env-"));
    const env = new MappedEnvironment(dir, LIMIT);
    // lmdb releases an environment closed after a read only when the loop turns (its read timer);
    // one closed after the first reopen of a turn is released a turn later.
    const turns = async (): Promise<void> => {
      for (let i = 0; i < 2; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    };
    try {
      write(env, 4000, 1000);
      const reopenAfterReading = (): void => {
        assert.equal(readAll(env), 4000);
        env.touched = 64 * LIMIT;
        env.reopenIfMapped();
      };
      for (let i = 0; i < 20; i++) reopenAfterReading();
      const capped = env.reopens;
      assert.ok(capped > 0 && capped < 20, `${capped} reopens in 20 tries without a turn`);
      await turns();
      for (let i = 0; i < 20; i++) reopenAfterReading();
      assert.ok(env.reopens > capped, "reopens again after the loop turned");
      assert.ok(env.reopens < 2 * capped + 1, `${env.reopens - capped} reopens in the second turn`);
    } finally {
      env.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("no reopen while a scan is open, however far past the limit; at once when it ends", () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-mapped-env-"));
    const env = new MappedEnvironment(dir, LIMIT);
    try {
      write(env, 4000, 1000);
      assert.equal(readAll(env), 4000);
      env.touched = 64 * LIMIT;
      env.scans = 1; // a store's scan holds a cursor of this environment
      env.reopenIfMapped();
      assert.equal(env.reopens, 0, "a reopen would close the scan's cursor");
      env.scans = 0;
      env.reopenIfMapped();
      assert.equal(env.reopens, 1);
    } finally {
      env.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
