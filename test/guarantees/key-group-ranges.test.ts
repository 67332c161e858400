// Key-group ranges (Flink's KeyGroupRangeAssignment): subtask i of p owns the contiguous range
// [ceil(i·max/p), floor(((i+1)·max − 1)/p)] of key groups. For every parallelism the ranges are
// exact, disjoint and cover every key group, and operatorIndexForKeyGroup is their inverse: an
// overlap or a gap of one key group would lose or duplicate keyed state on restore.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keyGroupRangeFor, operatorIndexForKeyGroup } from "../../src/core/key-groups.ts";

/** Every max parallelism up to 130 (odd, prime, powers of two), and a few large ones. */
const MAX_PARALLELISMS = [...Array.from({ length: 130 }, (_, i) => i + 1), 1000, 4096];

describe("key-group ranges", () => {
  it("match Flink's formula: start = ceil(i·max/p), end = floor(((i+1)·max − 1)/p)", () => {
    for (const max of MAX_PARALLELISMS) {
      for (let p = 1; p <= max; p++) {
        for (let i = 0; i < p; i++) {
          const r = keyGroupRangeFor(max, p, i);
          // Integer arithmetic, independent of the implementation's.
          const start = Math.ceil((i * max) / p);
          const end = Math.floor(((i + 1) * max - 1) / p);
          if (r.start !== start || r.end !== end) {
            assert.fail(
              `max ${max}, p ${p}, subtask ${i}: [${r.start}, ${r.end}], expected [${start}, ${end}]`,
            );
          }
        }
      }
    }
  });

  it("are disjoint, contiguous, non-empty and cover every key group, for every parallelism 1..max", () => {
    for (const max of MAX_PARALLELISMS) {
      for (let p = 1; p <= max; p++) {
        let next = 0;
        for (let i = 0; i < p; i++) {
          const r = keyGroupRangeFor(max, p, i);
          if (r.start !== next)
            assert.fail(`max ${max}, p ${p}: subtask ${i} starts at ${r.start}, not ${next}`);
          if (r.end < r.start) assert.fail(`max ${max}, p ${p}: subtask ${i} owns no key group`);
          next = r.end + 1;
        }
        if (next !== max) assert.fail(`max ${max}, p ${p}: the ranges end at ${next - 1}, not ${max - 1}`);
      }
    }
  });

  it("are inverted exactly by operatorIndexForKeyGroup", () => {
    for (const max of MAX_PARALLELISMS.filter((m) => m <= 1000)) {
      for (let p = 1; p <= max; p++) {
        for (let i = 0; i < p; i++) {
          const r = keyGroupRangeFor(max, p, i);
          for (let kg = r.start; kg <= r.end; kg++) {
            const owner = operatorIndexForKeyGroup(max, p, kg);
            if (owner !== i)
              assert.fail(
                `max ${max}, p ${p}: key group ${kg} is in subtask ${i}'s range but routed to ${owner}`,
              );
          }
        }
      }
    }
  });

  it("the default max parallelism 128 at p=3: the ranges Flink computes", () => {
    assert.deepEqual(
      [0, 1, 2].map((i) => keyGroupRangeFor(128, 3, i)),
      [
        { start: 0, end: 42 },
        { start: 43, end: 85 },
        { start: 86, end: 127 },
      ],
    );
  });
});
