// The Async I/O operator lets go of what it is done with: once a request completed and its
// results were emitted, nothing of the operator keeps its input record alive, so a long-running
// job's memory does not grow with every record it enriched. Checked with weak references and a
// full garbage collection (gc() exposed at run time: the test needs no node flag).

import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, it } from "node:test";
import type { AsyncFunction } from "../../src/index.ts";
import { harness, type Mode } from "./fixtures/async-unit-harness.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

interface Order {
  id: number;
  /** Makes a retained record stand out; its size is not what is checked. */
  lines: number[];
}

/** Completes every request at once with the order's id. */
const lookup: AsyncFunction<Order, string> = {
  asyncInvoke(order, rf) {
    rf.complete([`order ${order.id}`]);
  },
};

/** How many of `refs` still reach their record after a full collection. */
async function alive(refs: WeakRef<Order>[]): Promise<number> {
  // A WeakRef read in this turn keeps its target until the turn ends: collect in a later one.
  await new Promise((r) => setImmediate(r));
  gc();
  return refs.filter((r) => r.deref() !== undefined).length;
}

describe("Async I/O operator: memory", () => {
  for (const mode of ["ordered", "unordered"] as Mode[]) {
    it(`${mode}: a completed and emitted request keeps no reference to its record`, async () => {
      const h = harness(mode, lookup, { timeoutMs: 0, capacity: 100 });
      await h.open();
      const refs: WeakRef<Order>[] = [];
      const feed = (from: number, to: number) => {
        for (let id = from; id < to; id++) {
          const order: Order = { id, lines: Array.from({ length: 100 }, (_, i) => i) };
          refs.push(new WeakRef(order));
          h.processElement(order, id);
        }
      };
      feed(0, 50);
      h.runMailbox();
      // Another batch after, so that the harness' own last record is not one of the first 50.
      feed(50, 60);
      h.runMailbox();
      assert.equal(h.values().length, 60);
      assert.equal(h.values()[0], "order 0");
      const first = refs.slice(0, 50);
      assert.equal(await alive(first), 0, "records of completed requests are still referenced");
      await h.close();
    });
  }
});
