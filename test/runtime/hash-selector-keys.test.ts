// A hash edge's key selector that returns an unusable key (undefined, null: nothing murmur3 can
// hash) fails with one error naming the edge and the key, on one consumer as on several: a single
// consumer needs no key group, but must not let a bad key through to the keyed operator after it.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WeirError } from "../../src/core/errors.ts";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { StreamExecutionEnvironment } from "../../src/index.ts";
import { createChannelSelector } from "../../src/runtime/partitioners.ts";

type Row = { id?: string | number | null };

function selector(channels: number) {
  return createChannelSelector(
    { kind: "hash", keySelector: (r: Row) => r.id },
    channels,
    0,
    128,
    () => "'rows -> count'",
  );
}

describe("a hash edge's unusable keys", () => {
  for (const channels of [1, 3]) {
    it(`undefined and null keys fail naming the edge (${channels} consumer${channels > 1 ? "s" : ""})`, () => {
      const s = selector(channels);
      for (const bad of [{}, { id: null }]) {
        assert.throws(
          () => s.selectChannel(bad),
          (e: unknown) =>
            e instanceof WeirError &&
            e.code === "INVALID_ARGUMENT" &&
            /edge 'rows -> count' returned an unusable key: cannot hash key (undefined|null)/.test(e.message),
        );
      }
      // Strings and numbers go where their key group says.
      for (const id of ["a", "b", 7, 0]) {
        const c = s.selectChannel({ id });
        assert.ok(c >= 0 && c < channels);
        if (channels === 1) assert.equal(c, 0);
        else assert.equal(c, Math.floor((assignToKeyGroup(id, 128) * channels) / 128));
      }
    });
  }

  it("in a job: the keyBy's bad key fails the job with that message", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env
      .fromCollection<Row>([{ id: "a" }, { id: "b" }, {}])
      .keyBy((r) => r.id as string)
      .map((r) => r)
      .collect();
    await assert.rejects(env.execute("bad keys"), /returned an unusable key: cannot hash key undefined/);
  });
});
