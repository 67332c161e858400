// Operator state's edges found unguarded by mutation testing (TESTING.md): update() with a null
// element changes nothing, entries() refused on the read-only broadcast view (a JavaScript caller
// is not stopped by the types), and getBroadcastState() refusing a list descriptor or TTL.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import {
  ListStateDescriptor,
  MapStateDescriptor,
  ReadOnlyStateError,
  StateTtlConfig,
} from "../../src/core/state.ts";
import { DefaultOperatorStateStore } from "../../src/state/operator-state-store.ts";

describe("operator state edges", () => {
  it("update() with a null or undefined element throws and keeps the old elements", () => {
    const l = new DefaultOperatorStateStore().getListState(new ListStateDescriptor<number | null>("offsets"));
    l.update([1, 2]);
    for (const bad of [null, undefined]) {
      assert.throws(() => l.update([3, bad as null]), InvalidArgumentError);
      assert.deepEqual(l.get(), [1, 2]);
    }
  });

  it("the read-only broadcast view refuses entries() and reads through immutableEntries()", () => {
    const store = new DefaultOperatorStateStore();
    const d = new MapStateDescriptor<string, number>("rules");
    const b = store.getBroadcastState(d);
    b.put("a", 1);
    b.put("b", 2);
    b.put("a", 3);
    const view = store.getReadOnlyBroadcastState(d);
    assert.throws(() => (view as unknown as { entries(): unknown }).entries(), ReadOnlyStateError);
    assert.deepEqual(
      [...view.immutableEntries()],
      [
        ["a", 3],
        ["b", 2],
      ],
    );
  });

  it("getBroadcastState refuses a list descriptor and a descriptor with TTL", () => {
    const store = new DefaultOperatorStateStore();
    assert.throws(
      () => store.getBroadcastState(new ListStateDescriptor<number>("x") as never),
      /needs a MapStateDescriptor, got a list state descriptor/,
    );
    const withTtl = new MapStateDescriptor<string, number>("y");
    withTtl.enableTimeToLive(StateTtlConfig.newBuilder(1000).build());
    assert.throws(() => store.getBroadcastState(withTtl), /TTL is only supported for keyed state/);
    assert.deepEqual(store.getRegisteredBroadcastStateNames(), []);
  });
});
