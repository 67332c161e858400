// State descriptors and the TTL builder (src/core/state.ts), without a backend: what each accepts,
// what it refuses (InvalidArgumentError with a message saying what is expected, never a TypeError
// from deeper in), the builder's defaults, and the type signatures compared when a name is
// registered twice.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  StateTtlConfig,
  StateVisibility,
  UpdateType,
  ValueStateDescriptor,
} from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";

const refused = (pattern: RegExp) => (e: unknown) =>
  e instanceof InvalidArgumentError && pattern.test(e.message);

describe("state descriptors", () => {
  it("need a non-empty string name", () => {
    for (const name of ["", undefined, 5]) {
      assert.throws(
        () => new ValueStateDescriptor(name as unknown as string),
        refused(/a state descriptor needs a non-empty name/),
      );
    }
    assert.equal(new ListStateDescriptor("l").name, "l");
  });

  it("a reducing state takes a function or an object with reduce(a, b), and refuses anything else", () => {
    assert.equal(new ReducingStateDescriptor<number>("f", (a, b) => a + b).reduceFn(2, 3), 5);
    const withThis = {
      k: 10,
      reduce(a: number, b: number) {
        return a + b + this.k;
      },
    };
    assert.equal(new ReducingStateDescriptor<number>("o", withThis).reduceFn(2, 3), 15, "called as a method");
    for (const bad of [null, undefined, 7, "sum", {}, { reduce: 5 }]) {
      assert.throws(
        () => new ReducingStateDescriptor<number>("r", bad as never),
        refused(
          /^reducing state 'r' needs a reduce function \(a, b\) => c or an object with reduce\(a, b\)$/,
        ),
        String(bad),
      );
    }
  });

  it("an aggregating state needs createAccumulator, add and getResult (merge is optional)", () => {
    const full = {
      createAccumulator: () => 0,
      add: (v: number, a: number) => a + v,
      getResult: (a: number) => a,
    };
    assert.equal(new AggregatingStateDescriptor("a", full).aggregateFunction, full);
    const { createAccumulator, add, getResult } = full;
    for (const bad of [
      null,
      () => 0,
      { add, getResult },
      { createAccumulator, getResult },
      { createAccumulator, add },
    ]) {
      assert.throws(
        () => new AggregatingStateDescriptor("agg", bad as never),
        refused(/^aggregating state 'agg' needs an AggregateFunction/),
      );
    }
  });

  it("type signatures: the type's name; a map state's only when both its types are given", () => {
    assert.equal(new ValueStateDescriptor("v", Types.NUMBER).typeSignature(), Types.NUMBER.name);
    assert.equal(new ValueStateDescriptor("v").typeSignature(), undefined);
    assert.equal(
      new MapStateDescriptor("m", Types.STRING, Types.NUMBER).typeSignature(),
      `${Types.STRING.name} -> ${Types.NUMBER.name}`,
    );
    assert.equal(new MapStateDescriptor("m", Types.STRING).typeSignature(), undefined);
    assert.equal(new MapStateDescriptor("m", undefined, Types.NUMBER).typeSignature(), undefined);
  });

  it("enableTimeToLive takes a built StateTtlConfig only", () => {
    const ttl = StateTtlConfig.newBuilder(1000).build();
    const d = new ValueStateDescriptor("v").enableTimeToLive(ttl);
    assert.equal(d.ttlConfig, ttl);
    assert.throws(
      () => new ValueStateDescriptor("w").enableTimeToLive({ ttl: 5 } as never),
      refused(/^state 'w': enableTimeToLive needs a StateTtlConfig/),
    );
  });
});

describe("StateTtlConfig builder", () => {
  it("defaults: update on create and write, never return expired, 5 entries per access", () => {
    const c = StateTtlConfig.newBuilder(250).build();
    assert.deepEqual(
      [c.ttl, c.updateType, c.stateVisibility, c.cleanupFullSnapshot, c.incrementalCleanupSize],
      [250, UpdateType.OnCreateAndWrite, StateVisibility.NeverReturnExpired, false, 5],
    );
  });

  it("each setting is kept; full-snapshot cleanup alone turns the incremental default off", () => {
    const c = StateTtlConfig.newBuilder(1)
      .setTtl(7)
      .updateTtlOnReadAndWrite()
      .returnExpiredIfNotCleanedUp()
      .cleanupFullSnapshot()
      .build();
    assert.deepEqual(
      [c.ttl, c.updateType, c.stateVisibility, c.cleanupFullSnapshot, c.incrementalCleanupSize],
      [7, UpdateType.OnReadAndWrite, StateVisibility.ReturnExpiredIfNotCleanedUp, true, 0],
    );
    const back = StateTtlConfig.newBuilder(1).updateTtlOnReadAndWrite().updateTtlOnCreateAndWrite();
    const n = back.returnExpiredIfNotCleanedUp().neverReturnExpired().build();
    assert.equal(n.updateType, UpdateType.OnCreateAndWrite);
    assert.equal(n.stateVisibility, StateVisibility.NeverReturnExpired);
    assert.equal(
      StateTtlConfig.newBuilder(1).cleanupFullSnapshot().cleanupIncrementally(3).build()
        .incrementalCleanupSize,
      3,
    );
    assert.equal(StateTtlConfig.newBuilder(1).cleanupIncrementally(0).build().incrementalCleanupSize, 0);
    assert.equal(StateTtlConfig.newBuilder(1).disableCleanupInBackground().build().incrementalCleanupSize, 0);
  });

  it("refuses a TTL that is not a positive finite number of milliseconds", () => {
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "5"]) {
      assert.throws(
        () => StateTtlConfig.newBuilder(ttl as number),
        refused(/^state TTL must be a positive, finite number of milliseconds/),
        String(ttl),
      );
      assert.throws(() => StateTtlConfig.newBuilder(1).setTtl(ttl as number), refused(/^state TTL must be/));
    }
    assert.equal(StateTtlConfig.newBuilder(0.5).build().ttl, 0.5);
  });

  it("refuses unknown update types and visibilities, and cleanup sizes that are not integers >= 0", () => {
    assert.throws(
      () => StateTtlConfig.newBuilder(1).setUpdateType("OnRead" as never),
      refused(/^unknown TTL update type 'OnRead'/),
    );
    assert.throws(
      () => StateTtlConfig.newBuilder(1).setStateVisibility("Always" as never),
      refused(/^unknown TTL state visibility 'Always'/),
    );
    for (const size of [-1, 1.5, Number.NaN]) {
      assert.throws(
        () => StateTtlConfig.newBuilder(1).cleanupIncrementally(size),
        refused(/^cleanupIncrementally needs a cleanup size that is an integer >= 0/),
      );
    }
  });
});
