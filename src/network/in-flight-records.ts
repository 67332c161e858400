// Reads the records back out of a channel's in-flight data (buffers of an unaligned checkpoint),
// so that it can be restored as records rather than as buffers: at another parallelism, each new
// subtask keeps its share. Watermarks and watermark statuses in the data are skipped: after a
// restore, watermarks start again from the sources.

import { DataInputDeserializer } from "../core/data-io.ts";
import { errorMessage } from "../core/errors.ts";
import type { TypeSerializer } from "../core/types/type-info.ts";
import { ElementTag } from "./buffer.ts";

/**
 * Calls `record(value, timestamp)` for every record of one channel's in-flight data, in order:
 * `chunks` are the channel's bytes one after another (an element may span chunks, as it spans
 * buffers); when `partialLength` > 0 the data starts inside an element whose length header was
 * already read: the first `partialLength` bytes are that element's tag and payload. The data must
 * end at the end of an element. Throws an Error that says what is wrong; the caller names the data.
 */
export function readInFlightRecords(
  partialLength: number,
  chunks: Uint8Array[],
  serializer: TypeSerializer<unknown>,
  record: (value: unknown, timestamp: number) => void,
): void {
  const bytes = concat(chunks);
  const input = new DataInputDeserializer();
  const end = bytes.length;
  let pos = 0;
  let elements = 0;
  const element = (start: number, length: number): void => {
    if (start + length > end) {
      throw new Error(
        `element ${elements + 1} needs ${length} bytes at offset ${start}, but the data ends at ${end}`,
      );
    }
    input.setBuffer(bytes, start, start + length);
    let tag: number;
    let value: unknown;
    let timestamp = Number.NaN;
    try {
      tag = input.readU8();
      if (tag === ElementTag.WATERMARK || tag === ElementTag.WATERMARK_STATUS) return;
      if (tag === ElementTag.LATENCY_MARKER) return;
      const withTimestamp =
        tag === ElementTag.RECORD_WITH_TIMESTAMP || tag === ElementTag.RECORD_WITH_TIMESTAMP_AND_KEY_GROUP;
      const withKeyGroup =
        tag === ElementTag.RECORD_WITH_KEY_GROUP || tag === ElementTag.RECORD_WITH_TIMESTAMP_AND_KEY_GROUP;
      if (tag !== ElementTag.RECORD && !withTimestamp && !withKeyGroup) {
        throw new Error(`unknown element tag ${tag}`);
      }
      if (withTimestamp) timestamp = input.readF64();
      // The key group is computed again where the record goes (the consumers may have changed).
      if (withKeyGroup) {
        input.readU8();
        input.readU8();
      }
      value = serializer.read(input);
    } catch (e) {
      throw new Error(`element ${elements + 1} (offset ${start}) cannot be read: ${errorMessage(e)}`);
    }
    if (input.position !== start + length) {
      throw new Error(
        `element ${elements + 1} (offset ${start}) is ${length} bytes, but its record took ${input.position - start}`,
      );
    }
    record(value, timestamp);
  };
  if (partialLength > 0) {
    element(0, partialLength);
    elements++;
    pos = partialLength;
  }
  while (pos < end) {
    if (pos + 4 > end) throw new Error(`the data ends inside the length of element ${elements + 1}`);
    const length =
      (bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16) | (bytes[pos + 3]! << 24)) >>> 0;
    pos += 4;
    element(pos, length);
    elements++;
    pos += length;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
