// The snapshot writer shares the task's thread in slices (snapshot-writer.ts): yieldEvery yields once
// a slice's milliseconds are used up, timed on a manual performance.now(); with slices of 0 ms the
// streamed writer gives the event loop a turn before each key group and every 1024 timers while it
// groups the timers by key group (counted by a setImmediate ticker, so no timing decides); and every
// timer of a key group holding many is written, none lost to the grouping.

import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { decodeStateBytes } from "../../src/checkpoint/indexed-state-file.ts";
import { streamTaskSnapshot, yieldEvery } from "../../src/checkpoint/snapshot-writer.ts";
import { decodeKeyGroup, type StreamedStateFile } from "../../src/checkpoint/state-file.ts";
import type { TaskSnapshot, TimerCapture } from "../../src/runtime/snapshot.ts";
import type { KeyedStateSnapshot } from "../../src/state/keyed-state-backend.ts";

const realPerformanceNow = performance.now;
afterEach(() => {
  performance.now = realPerformanceNow;
});

/** Counts event-loop turns (one setImmediate after another) until stopped. */
function ticker(): { turns(): number; stop(): void } {
  let turns = 0;
  let stopped = false;
  const tick = () => {
    turns++;
    if (!stopped) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    turns: () => turns,
    stop: () => {
      stopped = true;
    },
  };
}

/** A captured keyed state with one entry in each of `groups`. */
function stateOf(groups: number[]): KeyedStateSnapshot {
  return {
    keyGroups: groups,
    read: (kg, emit) => emit("count", null, `k${kg}`, kg),
    entries: (kg) => [["count", null, `k${kg}`, kg]],
    release: () => {},
  };
}

/** The pieces of a streamed file, its header written over the start; `onPut` sees each piece. */
async function streamed(
  file: StreamedStateFile,
  onPut: (bytes: Uint8Array) => void = () => {},
): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  const header = await file.write(async (bytes) => {
    onPut(bytes);
    pieces.push(bytes);
  });
  const bytes = Buffer.concat(pieces);
  bytes.set(header, 0);
  return bytes;
}

describe("snapshot writer: slices of the task's thread", () => {
  it("yieldEvery yields once sliceMs have passed since the slice began, then starts a new slice", async () => {
    let now = 1000;
    performance.now = () => now;
    const slice = yieldEvery(5);
    assert.equal(slice(), undefined, "at the slice's start");
    now = 1004.999;
    assert.equal(slice(), undefined, "just inside the slice");
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    now = 1005;
    const y = slice();
    assert.ok(y instanceof Promise, "at exactly sliceMs: a yield");
    now = 1007; // the time when the task hands the thread back
    await y;
    assert.ok(turned, "what waited for the event loop ran before the yield resolved");
    now = 1011.999;
    assert.equal(slice(), undefined, "the new slice began when the yield ended (1007)");
    now = 1012;
    assert.ok(slice() instanceof Promise);
  });

  it("yieldEvery(0) yields at every call, even on a clock that stands still", async () => {
    performance.now = () => 50;
    const slice = yieldEvery(0);
    for (let i = 0; i < 3; i++) {
      const y = slice();
      assert.ok(y instanceof Promise, `call ${i}`);
      await y;
    }
  });

  it("the streamed writer gives the event loop a turn before each key group", async () => {
    const groups = [1, 4, 6, 9];
    const snapshot: TaskSnapshot = {
      operators: { op: { keyedState: { state: stateOf(groups), timers: [] } } },
    };
    const t = ticker();
    const turnsAtPut: number[] = [];
    try {
      const bytes = await streamed(streamTaskSnapshot(snapshot, 0), () => turnsAtPut.push(t.turns()));
      const read = decodeStateBytes(bytes, "f") as TaskSnapshot;
      assert.deepEqual(
        read.operators.op!.keyGroups!.map(([kg, g]) => [kg, decodeKeyGroup(g, "f").entries]),
        groups.map((kg) => [kg, [["count", null, `k${kg}`, kg]]]),
      );
    } finally {
      t.stop();
    }
    // puts: the placeholder header, the snapshot part, one per key group, the index
    assert.equal(turnsAtPut.length, 2 + groups.length + 1);
    const keyGroupPuts = turnsAtPut.slice(2, 2 + groups.length);
    let before = turnsAtPut[1]!;
    for (const [i, turns] of keyGroupPuts.entries()) {
      assert.ok(turns > before, `key group ${groups[i]} was encoded after a turn of the event loop`);
      before = turns;
    }
  });

  it("grouping many timers yields every 1024 of them, and keeps every timer of a key group", async () => {
    const n = 2 * 1024 + 10;
    const t = ticker();
    const turnsAt: number[] = [];
    const capture: TimerCapture = {
      service: "window-timers",
      domain: "event",
      // every timer in key group 5, except the last ten in key group 7
      timers: Array.from({ length: n }, (_, i) => ({
        key: `k${i}`,
        keyGroup: i < n - 10 ? 5 : 7,
        namespace: i,
        time: 1000 + i,
      })),
      namespaceToData: (ns) => {
        turnsAt.push(t.turns());
        return { window: ns };
      },
    };
    const snapshot: TaskSnapshot = {
      operators: { op: { keyedState: { state: stateOf([]), timers: [capture] } } },
    };
    let bytes: Uint8Array;
    try {
      bytes = await streamed(streamTaskSnapshot(snapshot, 0));
    } finally {
      t.stop();
    }
    assert.equal(turnsAt.length, n);
    const yieldsBefore: number[] = [];
    for (let i = 1; i < n; i++) if (turnsAt[i]! > turnsAt[i - 1]!) yieldsBefore.push(i);
    assert.deepEqual(yieldsBefore, [1023, 2047], "a turn before timers 1023 and 2047, none elsewhere");

    const read = decodeStateBytes(bytes, "f") as TaskSnapshot;
    const timersOf = new Map(
      read.operators.op!.keyGroups!.map(([kg, g]) => [kg, decodeKeyGroup(g, "f").timers]),
    );
    assert.deepEqual([...timersOf.keys()], [5, 7]);
    for (const [kg, from, to] of [
      [5, 0, n - 10],
      [7, n - 10, n],
    ] as const) {
      assert.deepEqual(
        timersOf.get(kg),
        Array.from({ length: to - from }, (_, j) => ({
          service: "window-timers",
          domain: "event",
          key: `k${from + j}`,
          namespace: { window: from + j },
          time: 1000 + from + j,
        })),
        `key group ${kg}`,
      );
    }
  });
});
