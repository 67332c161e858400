// The test side of the testing example (docs/testing.md): run it with `node --test`.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeyedOneInputHarness, subtaskForKey } from "weir-stream/testing";
import { type Click, LATE_CLICKS, SESSION_GAP, sessions } from "./click-sessions.ts";

const minute = 60_000;

describe("click sessions", () => {
  it("closes a session 30 minutes after its last click", async () => {
    const harness = KeyedOneInputHarness.of(sessions);
    await harness.open();

    harness.processElement({ user: "ann", url: "/" }, 0);
    harness.processElement({ user: "ann", url: "/cart" }, 10 * minute);
    harness.processElement({ user: "bob", url: "/" }, 5 * minute);

    harness.processWatermark(35 * minute);
    assert.deepEqual(harness.values(), [{ user: "bob", clicks: 1, end: 35 * minute }]);

    harness.processWatermark(40 * minute);
    assert.deepEqual(harness.records().at(-1), {
      value: { user: "ann", clicks: 2, end: 40 * minute },
      timestamp: 40 * minute,
    });

    harness.processElement({ user: "ann", url: "/late" }, 39 * minute);
    assert.deepEqual(harness.sideOutputValues(LATE_CLICKS), [{ user: "ann", url: "/late" }]);
    await harness.close();
  });

  it("keeps open sessions through a restore at another parallelism", async () => {
    const before = KeyedOneInputHarness.of(sessions);
    await before.open();
    const users = ["ann", "bob", "cid", "dan"];
    for (const user of users) before.processElement({ user, url: "/" } satisfies Click, minute);
    const snapshot = await before.snapshot();
    await before.close();

    // Restore into subtask k of 2: each gets the sessions of the users it owns.
    for (const subtaskIndex of [0, 1]) {
      const after = KeyedOneInputHarness.of(sessions, { parallelism: 2, subtaskIndex });
      await after.initializeState(snapshot);
      await after.open();
      after.processWatermark(minute + SESSION_GAP);
      const mine = users.filter((u) => subtaskForKey(u, 2) === subtaskIndex);
      assert.deepEqual(
        after
          .values()
          .map((s) => s.user)
          .sort(),
        mine,
      );
      await after.close();
    }
  });
});
