// The embedded store's read snapshots: releasing one twice releases it once. Two snapshots taken
// with no write between them share LMDB's read transaction; a second done() of the first must not
// take the other's hold on it: the other still reads the store as it was when it was taken.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmbeddedStore } from "../../src/state/embedded/embedded-store.ts";
import { cacheKeyOf } from "../../src/state/embedded/store-keys.ts";
import { RAW_CODEC } from "../../src/state/embedded/value-codecs.ts";

function put(s: EmbeddedStore, name: string, value: unknown): void {
  const key = Buffer.from(name, "latin1");
  s.set(key, cacheKeyOf(key), value, RAW_CODEC);
}

function read(s: EmbeddedStore, view: ReturnType<EmbeddedStore["readSnapshot"]>): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [k, v] of view.scan(Buffer.from("a", "latin1"), Buffer.from("z", "latin1")))
    out.push([k.toString("latin1"), s.decode(v, RAW_CODEC)]);
  return out;
}

describe("embedded store: read snapshots", () => {
  it("a snapshot released twice leaves another taken at the same moment reading what it saw", async () => {
    const s = new EmbeddedStore();
    try {
      put(s, "k1", "one");
      const a = s.readSnapshot();
      const b = s.readSnapshot();
      a.done();
      a.done();
      assert.throws(() => read(s, a), /already released/);
      // Writes after both snapshots: b must not see them.
      for (let round = 0; round < 3; round++) {
        put(s, "k1", `changed ${round}`);
        put(s, `k${round + 2}`, "new");
        s.readSnapshot().done(); // flushes the writes to LMDB
        await new Promise((r) => setImmediate(r));
      }
      assert.deepEqual(read(s, b), [["k1", "one"]]);
      b.done();
    } finally {
      s.dispose();
    }
  });
});
