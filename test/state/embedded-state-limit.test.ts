// The embedded backend's limit on keyed states per operator: a state's id takes two bytes of every
// store key, and a state's entries end where id + 1 begins, so ids run 0..0xfffe. The 65,535th
// state registers, the next one is refused with a message naming it, whether it registers or is
// restored; the states already registered keep working.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import { ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";

const LIMIT = 0xffff;

describe("embedded backend: at most 65,535 keyed states", () => {
  it("registers the last id that leaves room for its end, refuses the next", () => {
    const b = new EmbeddedKeyedStateBackend({ start: 0, end: 0 }, { cacheEntries: 4 });
    try {
      for (let i = 0; i < LIMIT; i++) b.getState(new ValueStateDescriptor<number>(`s${i}`, Types.NUMBER));
      const refused = (e: unknown) =>
        e instanceof InvalidArgumentError &&
        e.message ===
          `state 'one-too-many': one operator can hold at most ${LIMIT} keyed states in the embedded backend`;
      assert.throws(
        () => b.getState(new ValueStateDescriptor<number>("one-too-many", Types.NUMBER)),
        refused,
      );
      assert.throws(() => b.restoreKeyGroup(0, [["one-too-many", null, "k", 1]]), refused);
      const last = b.getState(new ValueStateDescriptor<number>(`s${LIMIT - 1}`, Types.NUMBER));
      const first = b.getState(new ValueStateDescriptor<number>("s0", Types.NUMBER));
      b.setCurrentKey("k", 0);
      last.update(2);
      first.update(1);
      assert.equal(last.value(), 2);
      assert.equal(first.value(), 1);
      assert.deepEqual(b.getKeys(`s${LIMIT - 1}`), ["k"]);
      assert.equal(b.size(`s${LIMIT - 1}`), 1);
    } finally {
      b.dispose();
    }
  });
});
