// The encoding of one key group inside a state file: entries in runs of one state and namespace,
// timers after them. It must give back exactly what went in, read the older (GENERIC) form, and
// refuse damaged bytes with the file named.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CorruptStateError,
  decodeKeyGroup,
  encodeKeyGroup,
  encodeStateFile,
} from "../../src/checkpoint/state-file.ts";
import { Types } from "../../src/core/types/types.ts";
import { DataOutputSerializer } from "../../src/core/data-io.ts";
import type { KeyGroupSnapshot } from "../../src/runtime/snapshot.ts";

const group: KeyGroupSnapshot = {
  entries: [
    ["count", null, "a", 1],
    ["count", null, "b", 2],
    ["count", null, 7, -3.5],
    ["window", "w:0:10", "a", [1, 2, { x: "y" }]],
    ["window", "w:0:10", "b", []],
    ["window", 12, "a", [3]],
    ["count", null, "c", 4], // the same state again, after another: a new run
    ["map", null, "\u0000c[1,2]", new Map<unknown, unknown>([["k", { v: 1, ts: 5 }]])],
    ["big", null, 10n, { when: new Date(3), bytes: new Uint8Array([1, 2]) }],
  ],
  timers: [{ service: "window-timers", domain: "event", key: "a", namespace: "w:0:10", time: 9 }],
};

describe("key-group encoding", () => {
  it("round-trips entries (runs by state and namespace, any values) and timers", () => {
    assert.deepEqual(decodeKeyGroup(encodeKeyGroup(group), "f"), group);
    const empty: KeyGroupSnapshot = { entries: [], timers: [] };
    assert.deepEqual(decodeKeyGroup(encodeKeyGroup(empty), "f"), empty);
  });

  it("writes a state's name once per run: smaller than the generic form", () => {
    const many: KeyGroupSnapshot = { entries: [], timers: [] };
    for (let k = 0; k < 1000; k++) many.entries.push(["counter-state", null, `key-${k}`, k]);
    const generic = Types.GENERIC.createSerializer();
    const out = new DataOutputSerializer();
    generic.write(many, out);
    assert.ok(encodeKeyGroup(many).length < out.position * 0.7);
  });

  it("reads key groups of format 1 (objects) and GENERIC-encoded groups", () => {
    assert.equal(decodeKeyGroup(group, "f"), group);
    const generic = Types.GENERIC.createSerializer();
    const out = new DataOutputSerializer();
    generic.write(group, out);
    assert.deepEqual(decodeKeyGroup(out.view().slice(), "f"), group);
  });

  it("refuses a truncated or damaged key group, naming the file", () => {
    const bytes = encodeKeyGroup(group);
    for (const bad of [bytes.subarray(0, bytes.length - 3), Uint8Array.from([0xe1, 0x05, 0xff])]) {
      assert.throws(
        () => decodeKeyGroup(bad, "/cp/chk-3/1-0.state"),
        (e: Error) => e instanceof CorruptStateError && /\/cp\/chk-3\/1-0\.state/.test(e.message),
      );
    }
    // and a state file around it still checks its CRC
    assert.ok(encodeStateFile({ keyGroups: [[0, bytes]] }).length > bytes.length);
  });
});
