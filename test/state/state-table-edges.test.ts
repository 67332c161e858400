// StateTable edges found by mutation testing, beside state-table-unit.test.ts: a namespace Map
// created but left empty holds no entries (a key group with only such Maps reads empty).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type KeyContext, StateTable, VOID_NAMESPACE } from "../../src/state/state-table.ts";

describe("state table edges", () => {
  it("an empty namespace Map does not make its key group hold entries", () => {
    const ctx: KeyContext = { key: "k", mapKey: "k", keyGroupIndex: 1, namespace: VOID_NAMESPACE };
    const t = new StateTable("s", 4, ctx, () => 1);
    t.mapOrCreate("w");
    assert.equal(t.size(), 0);
    const read = (c: ReturnType<StateTable["capture"]>) => {
      const out: unknown[] = [];
      c.read(1, (ns, k, v) => out.push([ns, k, v]));
      return out;
    };
    assert.deepEqual(read(t.capture([1])), []);
    t.mapOrCreate("w").set("k", 1);
    assert.equal(t.size(), 1);
    assert.deepEqual(read(t.capture([1])), [["w", "k", 1]]);
  });
});
