// DataOutputSerializer / DataInputDeserializer at their edges: a string of 3-byte characters that
// makes the buffer grow past twice its size comes back whole, and a zigzag varint beyond the safe
// integers is refused as corrupt.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import { SerializationError } from "../../src/core/errors.ts";

describe("data-io edges", () => {
  it("a string of 3-byte characters needing more than twice the buffer is written whole", () => {
    for (const L of [1500, 3000, 5000]) {
      const s = "€".repeat(L);
      const out = new DataOutputSerializer(4096);
      out.writeString(s);
      out.writeU8(7);
      const input = new DataInputDeserializer();
      input.setBuffer(out.buffer, 0, out.position);
      assert.equal(input.readString(), s, `${L} chars`);
      assert.equal(input.readU8(), 7);
    }
  });

  it("refuses a zigzag varint outside the safe integer range", () => {
    // First byte: 6 low bits 0, sign 0, more follows; then 2^48 as an unsigned varint: 2^54 in all.
    const bytes = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
    const input = new DataInputDeserializer();
    input.setBuffer(bytes, 0, bytes.length);
    assert.throws(() => input.readVarInt(), SerializationError);
  });
});
