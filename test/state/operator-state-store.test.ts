import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ListStateDescriptor,
  MapStateDescriptor,
  ReadOnlyStateError,
  StateTtlConfig,
  ValueStateDescriptor,
} from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { DefaultOperatorStateStore } from "../../src/state/operator-state-store.ts";

describe("OperatorStateStore", () => {
  it("list and union list state: get/add/addAll/update/clear, same handle per name, mode recorded", () => {
    const store = new DefaultOperatorStateStore();
    const l = store.getListState(new ListStateDescriptor<number>("offsets"));
    const u = store.getUnionListState(new ListStateDescriptor<string>("splits"));
    l.add(1);
    l.addAll([2, 3]);
    assert.deepEqual([...l.get()], [1, 2, 3]);
    l.update([9]);
    assert.deepEqual([...l.get()], [9]);
    u.add("s0");
    assert.deepEqual([...u.get()], ["s0"]);
    assert.equal(store.getListState(new ListStateDescriptor<number>("offsets")), l);
    l.clear();
    assert.deepEqual(l.get(), []);
    assert.throws(() => l.add(undefined as unknown as number), /cannot add undefined/);
    assert.deepEqual(store.getRegisteredStateNames(), ["offsets", "splits"]);
    assert.equal(store.listStateMode("offsets"), "split");
    assert.equal(store.listStateMode("splits"), "union");
  });

  it("refuses a name reused as another mode or type, non-list descriptors, and TTL", () => {
    const store = new DefaultOperatorStateStore();
    store.getListState(new ListStateDescriptor("a", Types.NUMBER));
    assert.throws(
      () => store.getUnionListState(new ListStateDescriptor("a")),
      /'a' is registered as list state and is now requested as union list state/,
    );
    assert.throws(
      () => store.getListState(new ListStateDescriptor("a", Types.STRING)),
      /state descriptor reused with another type/,
    );
    assert.throws(
      () => store.getListState(new ValueStateDescriptor("v") as never),
      /needs a ListStateDescriptor, got a value state descriptor/,
    );
    assert.throws(
      () =>
        store.getListState(
          new ListStateDescriptor("t").enableTimeToLive(StateTtlConfig.newBuilder(10).build()),
        ),
      /TTL is only supported for keyed state/,
    );
  });
});

describe("BroadcastState", () => {
  it("is read-write on the broadcast side and seen through the read-only view", () => {
    const store = new DefaultOperatorStateStore();
    const desc = new MapStateDescriptor<string, number>("rules");
    const bs = store.getBroadcastState(desc);
    const ro = store.getReadOnlyBroadcastState(desc);
    assert.equal(ro.isEmpty(), true);
    bs.put("a", 1);
    bs.putAll([
      ["b", 2],
      ["c", 3],
    ]);
    bs.remove("c");
    assert.equal(ro.get("a"), 1);
    assert.equal(ro.contains("b"), true);
    assert.equal(ro.contains("c"), false);
    assert.deepEqual(
      [...ro.immutableEntries()],
      [
        ["a", 1],
        ["b", 2],
      ],
    );
    assert.deepEqual([...ro.keys()], ["a", "b"]);
    assert.deepEqual([...ro.values()], [1, 2]);
    assert.deepEqual(
      [...bs.entries()],
      [
        ["a", 1],
        ["b", 2],
      ],
    );
    assert.equal(store.getBroadcastState(new MapStateDescriptor<string, number>("rules")), bs);
    assert.deepEqual(store.getRegisteredBroadcastStateNames(), ["rules"]);
    bs.clear();
    assert.equal(ro.isEmpty(), true);
  });

  it("the read-only view throws ReadOnlyStateError on every write", () => {
    const store = new DefaultOperatorStateStore();
    const desc = new MapStateDescriptor<string, number>("rules");
    store.getBroadcastState(desc).put("a", 1);
    const ro = store.getReadOnlyBroadcastState(desc) as unknown as Record<
      string,
      (...a: unknown[]) => unknown
    >;
    for (const [op, call] of [
      ["put", () => ro.put!("x", 1)],
      ["putAll", () => ro.putAll!([["x", 1]])],
      ["remove", () => ro.remove!("a")],
      ["clear", () => ro.clear!()],
    ] as const) {
      assert.throws(
        call,
        (e: unknown) =>
          e instanceof ReadOnlyStateError &&
          e.message.includes(
            `broadcast state 'rules' is read-only on the non-broadcast side: ${op} is not allowed`,
          ),
        op,
      );
    }
    assert.equal(store.getBroadcastState(desc).get("a"), 1);
  });

  it("refuses a broadcast descriptor reused with other types", () => {
    const store = new DefaultOperatorStateStore();
    store.getBroadcastState(new MapStateDescriptor("r", Types.STRING, Types.NUMBER));
    assert.throws(
      () => store.getBroadcastState(new MapStateDescriptor("r", Types.STRING, Types.STRING)),
      /map state of STRING -> NUMBER .* map state of STRING -> STRING/,
    );
  });
});
