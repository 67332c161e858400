// State file format 3 (indexed-state-file.ts) at its edges, each file read both ways a restore
// reads one (held whole: decodeStateBytes, as from S3; from a local file: readStateFileAt): files
// built part by part (header, snapshot, key groups, index, trailer) with one part cut short or
// pointing elsewhere, each refused with its own message; the boundaries of where the index and the
// key groups may lie; and the snapshot part's contract (encodeSnapshotPart leaves out the key
// groups of the keyed operators only).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  decodeStateBytes,
  encodeIndexAndTrailer,
  encodeSnapshotPart,
  type IndexEntry,
  indexedStateFileHeader,
  readStateFileAt,
} from "../../src/checkpoint/indexed-state-file.ts";
import { CorruptStateError, crc32, STATE_FILE_HEADER_BYTES } from "../../src/checkpoint/state-file.ts";
import { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import { Types } from "../../src/core/types/types.ts";
import type { StoredKeyGroup, TaskSnapshot } from "../../src/runtime/snapshot.ts";

const dir = mkdtempSync(join(tmpdir(), "weir-indexed-edges-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const HEADER = STATE_FILE_HEADER_BYTES;
const TRAILER = 20;
const generic = Types.GENERIC.createSerializer();

const SNAPSHOT: TaskSnapshot = {
  operators: { op: { operatorState: { seen: { mode: "union", values: [1] } } } },
};

interface Parts {
  part: Uint8Array;
  groups: Uint8Array[];
  /** The index as written (default: the groups one after another, after the snapshot). */
  index?: IndexEntry[];
  /** The index's bytes (default: the index GENERIC-encoded). */
  indexBytes?: Uint8Array;
  /** The trailer's offset of the index (default: where the index is). */
  indexOffset?: number;
}

/** A format-3 file from its parts. */
function build(p: Parts): Uint8Array {
  let at = HEADER + p.part.length;
  const index: IndexEntry[] = [];
  for (const [i, g] of p.groups.entries()) {
    index.push(["op", i, at, g.length, crc32(g)]);
    at += g.length;
  }
  const indexBytes = p.indexBytes ?? encodeGeneric(p.index ?? index);
  const trailer = new Uint8Array(TRAILER);
  const dv = new DataView(trailer.buffer);
  dv.setFloat64(0, p.indexOffset ?? at, true);
  dv.setUint32(8, indexBytes.length, true);
  dv.setUint32(12, crc32(indexBytes), true);
  trailer.set([0x57, 0x4b, 0x47, 0x49], 16);
  return Buffer.concat([
    indexedStateFileHeader(p.part.length, crc32(p.part)),
    p.part,
    ...p.groups,
    indexBytes,
    trailer,
  ]);
}

function encodeGeneric(v: unknown): Uint8Array {
  const out = new DataOutputSerializer(256);
  generic.write(v, out);
  return out.view().slice();
}

function part(): Uint8Array {
  return encodeSnapshotPart(SNAPSHOT, new Set());
}

/** Reads `bytes` both ways: held whole and from a file; each result (or error) in order. */
async function readBoth(
  bytes: Uint8Array,
): Promise<Array<{ value?: TaskSnapshot; error?: Error; path: string }>> {
  const out: Array<{ value?: TaskSnapshot; error?: Error; path: string }> = [];
  try {
    out.push({ value: decodeStateBytes(bytes, "mem.state") as TaskSnapshot, path: "mem.state" });
  } catch (e) {
    out.push({ error: e as Error, path: "mem.state" });
  }
  const path = join(dir, `f${++files}.state`);
  writeFileSync(path, bytes);
  try {
    out.push({ value: (await readStateFileAt(path, "is missing")) as TaskSnapshot, path });
  } catch (e) {
    out.push({ error: e as Error, path });
  }
  return out;
}

async function refusedBoth(bytes: Uint8Array, what: string): Promise<void> {
  for (const r of await readBoth(bytes)) {
    assert.ok(r.error !== undefined, `${r.path}: refused`);
    assert.deepEqual(
      { name: r.error.name, message: r.error.message },
      { name: "CorruptStateError", message: new CorruptStateError(r.path, what).message },
    );
  }
}

function groupBytes(g: StoredKeyGroup | unknown): number[] {
  return [...(g as StoredKeyGroup).read()];
}

describe("state file format 3: edges", () => {
  it("a well-formed file built part by part reads back both ways, its key groups as written", async () => {
    const groups = [new Uint8Array([1, 2, 3]), new Uint8Array([4]), new Uint8Array([5, 6])];
    for (const r of await readBoth(build({ part: part(), groups }))) {
      assert.equal(r.error, undefined);
      assert.deepEqual(r.value!.operators.op!.operatorState, SNAPSHOT.operators.op!.operatorState);
      assert.deepEqual(
        r.value!.operators.op!.keyGroups!.map(([kg, g]) => [kg, groupBytes(g)]),
        [
          [0, [1, 2, 3]],
          [1, [4]],
          [2, [5, 6]],
        ],
      );
    }
  });

  it("a key group may end exactly where the index begins, not one byte after", async () => {
    const groups = [new Uint8Array([7, 7]), new Uint8Array([8, 8, 8])];
    const p = part();
    const first = HEADER + p.length;
    // the last key group runs to the index's first byte exactly: fine
    const exact: IndexEntry[] = [
      ["op", 0, first, 2, crc32(groups[0]!)],
      ["op", 1, first + 2, 3, crc32(groups[1]!)],
    ];
    for (const r of await readBoth(build({ part: p, groups, index: exact }))) {
      assert.equal(r.error, undefined, r.error?.message);
      assert.deepEqual(
        r.value!.operators.op!.keyGroups!.map(([, g]) => groupBytes(g)),
        [
          [7, 7],
          [8, 8, 8],
        ],
      );
    }
    // one byte longer reaches into the index
    const over: IndexEntry[] = [exact[0]!, ["op", 1, first + 2, 4, crc32(groups[1]!)]];
    await refusedBoth(
      build({ part: p, groups, index: over }),
      "has a corrupt key-group index (key group 1 of operator 'op' lies outside the file's key groups)",
    );
    // a key group may start right after the snapshot, not one byte before (inside it)
    const early: IndexEntry[] = [["op", 0, first - 1, 2, crc32(groups[0]!)], exact[1]!];
    await refusedBoth(
      build({ part: p, groups, index: early }),
      "has a corrupt key-group index (key group 0 of operator 'op' lies outside the file's key groups)",
    );
    const fraction: IndexEntry[] = [["op", 0, first + 0.5, 1, crc32(groups[0]!)], exact[1]!];
    await refusedBoth(
      build({ part: p, groups, index: fraction }),
      "has a corrupt key-group index (key group 0 of operator 'op' lies outside the file's key groups)",
    );
  });

  it("the index may start right after the snapshot (no key groups), not inside it", async () => {
    const p = part();
    for (const r of await readBoth(build({ part: p, groups: [] }))) {
      assert.equal(r.error, undefined, r.error?.message);
      assert.equal(r.value!.operators.op!.keyGroups, undefined);
      assert.deepEqual(r.value!.operators.op!.operatorState, SNAPSHOT.operators.op!.operatorState);
    }
    // a trailer that puts the index one byte into the snapshot (the file is one byte shorter)
    const short = build({ part: p, groups: [] });
    const inside = Buffer.concat([
      short.subarray(0, HEADER + p.length - 1),
      short.subarray(HEADER + p.length),
    ]);
    new DataView(inside.buffer, inside.byteOffset).setFloat64(
      inside.length - TRAILER,
      HEADER + p.length - 1,
      true,
    );
    await refusedBoth(inside, "has a corrupt key-group index (it is not where its trailer says)");
  });

  it("a file ending right after its snapshot, or with less than a trailer after it, is truncated", async () => {
    const whole = build({ part: part(), groups: [new Uint8Array([9])] });
    const snapshotEnd = HEADER + part().length;
    for (const cut of [snapshotEnd, snapshotEnd + 1, snapshotEnd + TRAILER - 1]) {
      await refusedBoth(whole.subarray(0, cut), "is truncated (no key-group index)");
    }
  });

  it("a trailer without its magic bytes is refused, whichever of the four is wrong", async () => {
    const whole = build({ part: part(), groups: [new Uint8Array([9])] });
    for (let i = 1; i <= 4; i++) {
      const bad = Buffer.from(whole);
      bad[bad.length - i] ^= 0x01;
      await refusedBoth(bad, "is truncated or corrupt (no key-group index at its end)");
    }
  });

  it("a trailer with an index of 0 bytes right after the snapshot: an index that cannot be decoded", async () => {
    // size is exactly snapshot end + trailer: not truncated, the trailer is read
    const bytes = build({ part: part(), groups: [], indexBytes: new Uint8Array(0) });
    for (const r of await readBoth(bytes)) {
      assert.equal(r.error?.name, "CorruptStateError");
      assert.match(
        r.error!.message,
        new RegExp(
          `^checkpoint file '${r.path.replace(/[.]/g, "\\.")}' has a key-group index that cannot be decoded: `,
        ),
      );
    }
  });

  it("the index and trailer as encodeIndexAndTrailer writes them", () => {
    const index: IndexEntry[] = [
      ["a", 3, 100, 7, 0xdeadbeef],
      ["b", 4, 107, 1, 1],
    ];
    const bytes = encodeIndexAndTrailer(index, 100);
    const trailer = bytes.subarray(bytes.length - TRAILER);
    const dv = new DataView(trailer.buffer, trailer.byteOffset, TRAILER);
    const length = dv.getUint32(8, true);
    assert.equal(bytes.length, length + TRAILER);
    assert.equal(dv.getFloat64(0, true), 100);
    assert.equal(dv.getUint32(12, true), crc32(bytes.subarray(0, length)));
    assert.deepEqual([...trailer.subarray(16)], [0x57, 0x4b, 0x47, 0x49]);
    assert.deepEqual(generic.read(new DataInputDeserializer(bytes, 0, length)), index);
  });

  it("the snapshot part leaves out the key groups of the keyed operators named, and only theirs", () => {
    const snapshot: TaskSnapshot = {
      operators: {
        keyed: { keyGroups: [[1, new Uint8Array([1])]], custom: { a: 1 } },
        other: { keyGroups: [[2, new Uint8Array([2])]], custom: { b: 2 } },
      },
    };
    const p = encodeSnapshotPart(snapshot, new Set(["keyed"]));
    const read = generic.read(new DataInputDeserializer(p, 0, p.length)) as TaskSnapshot;
    assert.deepEqual(read.operators, {
      keyed: { custom: { a: 1 } },
      other: { keyGroups: [[2, new Uint8Array([2])]], custom: { b: 2 } },
    });
    // the snapshot given is left as it was
    assert.deepEqual(snapshot.operators.keyed!.keyGroups, [[1, new Uint8Array([1])]]);
  });
});
