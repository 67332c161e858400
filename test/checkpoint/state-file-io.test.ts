// State files on the local file system, at the level of the system calls (indexed-state-file.ts,
// fs-storage.ts' nodeDurableFs): node:fs's write, fsync and closeSync are wrapped before those
// modules load (so their bindings are the wrappers) to record each call and, when a test asks, to
// make every write a short one (7 bytes at most, as a write may be on some file systems). Checked:
// every byte lands where it belongs through short writes, the header included; the file is synced
// after its last write and before it is closed (a copied file, through its FileHandle, before the
// copy resolves); nothing stays open after a file is written or read, whatever its format, and
// after a key group is read; and a file cut after its index was read is reported truncated when a
// key group is read from it.

import assert from "node:assert/strict";
import fs, {
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { open } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { promisify } from "node:util";
import type { StoredKeyGroup, TaskSnapshot } from "../../src/runtime/snapshot.ts";

type Call = ["write", number, number | null, number] | ["fsync", number] | ["close", number];
const calls: Call[] = [];
let shortWrites = false;
const SHORT = 7;

const realWrite = fs.write;
const realFsync = fs.fsync;
const realCloseSync = fs.closeSync;
type WriteCallback = (e: Error | null, n: number, b: unknown) => void;
/**
 * fs.write, both forms: (fd, buffer, offset, length, position, cb) and (fd, string, position,
 * encoding, cb); a short write writes the first SHORT bytes of what was asked.
 */
function wrappedWrite(fd: number, data: Uint8Array | string, ...rest: unknown[]): void {
  const cb = rest.pop() as WriteCallback;
  let [offset, length, position] = rest as [number, number, number | null | undefined];
  let buffer = data as Uint8Array;
  if (typeof data === "string") {
    [position] = rest as [number | null | undefined];
    buffer = Buffer.from(data, typeof rest[1] === "string" ? (rest[1] as BufferEncoding) : "utf8");
    offset = 0;
    length = buffer.length;
  }
  const n = shortWrites ? Math.min(length, SHORT) : length;
  calls.push(["write", fd, position ?? null, n]);
  realWrite(fd, buffer, offset, n, position, cb);
}
(wrappedWrite as unknown as Record<symbol, unknown>)[promisify.custom] = (
  fd: number,
  data: Uint8Array | string,
  ...rest: unknown[]
) =>
  new Promise((resolve, reject) =>
    wrappedWrite(fd, data, ...rest, ((e, bytesWritten, buffer) =>
      e ? reject(e) : resolve({ bytesWritten, buffer })) as WriteCallback),
  );
(fs as { write: unknown }).write = wrappedWrite;
(fs as { fsync: unknown }).fsync = (fd: number, cb: (e: Error | null) => void) => {
  calls.push(["fsync", fd]);
  realFsync(fd, cb);
};
(fs as { closeSync: unknown }).closeSync = (fd: number) => {
  calls.push(["close", fd]);
  realCloseSync(fd);
};
syncBuiltinESMExports();

// loaded after the wrapping: their node:fs bindings are the wrappers
const { readStateFileAt, writeStreamedFileSynced } = await import(
  "../../src/checkpoint/indexed-state-file.ts"
);
const { streamTaskSnapshot } = await import("../../src/checkpoint/snapshot-writer.ts");
const { encodeStateFile } = await import("../../src/checkpoint/state-file.ts");
const { nodeDurableFs } = await import("../../src/checkpoint/fs-storage.ts");

const dir = mkdtempSync(join(tmpdir(), "weir-state-file-io-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  (fs as { write: unknown }).write = realWrite;
  (fs as { fsync: unknown }).fsync = realFsync;
  (fs as { closeSync: unknown }).closeSync = realCloseSync;
  syncBuiltinESMExports();
});
afterEach(() => {
  shortWrites = false;
  calls.length = 0;
});

/** Open file descriptors of this process. */
function openFds(): number {
  return readdirSync("/dev/fd").length;
}

/**
 * The open descriptors once the process has settled (two readings 10 ms apart agree): a handle of
 * an earlier test closing meanwhile made the count drop by one under CI, failing "after writing".
 */
async function settledFds(): Promise<number> {
  let last = openFds();
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = openFds();
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** No descriptor more than `before` is open (one closing elsewhere may make it fewer, never more). */
function noneLeft(before: number, when: string): void {
  const now = openFds();
  assert.ok(now <= before, `${when}: ${now} descriptors open, ${before} before`);
}

/** A task snapshot with one keyed operator whose key groups 3, 8 and 12 hold `count` entries. */
function snapshot(): TaskSnapshot {
  const groups = [3, 8, 12];
  return {
    operators: {
      op: {
        keyedState: {
          state: {
            keyGroups: groups,
            read: (kg, emit) => emit("count", null, `key-${kg}`, kg * 1000),
            entries: (kg) => [["count", null, `key-${kg}`, kg * 1000]],
            release: () => {},
          },
          timers: [],
        },
        operatorState: { offsets: { mode: "split", values: ["a long enough value to need several writes"] } },
      },
    },
  };
}

function keyGroupsOf(read: TaskSnapshot): Array<[number, number[]]> {
  return read.operators.op!.keyGroups!.map(([kg, g]) => [kg, [...(g as StoredKeyGroup).read()]]);
}

let n = 0;
function path(): string {
  return join(dir, `f${++n}.state`);
}

describe("state files at the system calls", () => {
  it("through short writes every byte lands in place, the header over the start included", async () => {
    const whole = path();
    const size = await writeStreamedFileSynced(whole, streamTaskSnapshot(snapshot(), 0));
    shortWrites = true;
    const short = path();
    assert.equal(await writeStreamedFileSynced(short, streamTaskSnapshot(snapshot(), 0)), size);
    const writes = calls.filter((c) => c[0] === "write");
    assert.ok(writes.length > size / SHORT, "the writes were short");
    assert.ok(writes.some((c) => c[2] === 0) && writes.some((c) => c[2] === SHORT), "the header too");
    assert.deepEqual(readFileSync(short), readFileSync(whole));
    const read = (await readStateFileAt(short, "is missing")) as TaskSnapshot;
    assert.deepEqual(read.operators.op!.operatorState, snapshot().operators.op!.operatorState);
    assert.equal(keyGroupsOf(read).length, 3);
  });

  it("nodeDurableFs.writeFileSynced writes every byte through short writes, then syncs, then closes", async () => {
    shortWrites = true;
    const p = path();
    const bytes = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    await nodeDurableFs.writeFileSynced(p, bytes);
    const made = calls.slice();
    assert.deepEqual(readFileSync(p), bytes);
    const fd = made[0]![1];
    assert.deepEqual(made, [
      ...Array.from(
        { length: Math.ceil(100 / SHORT) },
        (_, i): Call => ["write", fd, null, Math.min(SHORT, 100 - i * SHORT)],
      ),
      ["fsync", fd],
      ["close", fd],
    ]);
  });

  it("nodeDurableFs.writeFileSynced writes a string as its UTF-8 bytes, every one through short writes", async () => {
    shortWrites = true;
    const p = path();
    const text = `{"checkpoint":"ä€𝄞","n":${"9".repeat(20)}}`;
    await nodeDurableFs.writeFileSynced(p, text);
    assert.deepEqual(readFileSync(p), Buffer.from(text, "utf8"));
    assert.equal(readFileSync(p, "utf8"), text);
  });

  it("nodeDurableFs.copyFileSynced syncs the copy before it resolves (a savepoint's files)", async () => {
    const from = path();
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251));
    writeFileSync(from, bytes);
    // The copy is synced through a FileHandle (node:fs/promises), not fs.fsync: record its syncs.
    const probe = await open(from, "r");
    const handle = Object.getPrototypeOf(probe) as { sync: (this: { fd: number }) => Promise<void> };
    await probe.close();
    const realSync = handle.sync;
    const synced: string[] = [];
    handle.sync = function (this: { fd: number }) {
      synced.push(realpathSync(`/proc/self/fd/${this.fd}`));
      return realSync.call(this);
    };
    const to = path();
    try {
      await nodeDurableFs.copyFileSynced(from, to);
    } finally {
      handle.sync = realSync;
    }
    assert.deepEqual(readFileSync(to), bytes);
    assert.deepEqual(synced, [realpathSync(to)]);
  });

  it("a streamed file is synced after its last write (the header) and then closed", async () => {
    await writeStreamedFileSynced(path(), streamTaskSnapshot(snapshot(), 0));
    const fd = calls[0]![1];
    assert.ok(calls.every((c) => c[1] === fd));
    assert.deepEqual(calls.slice(-3), [
      ["write", fd, 0, 17],
      ["fsync", fd],
      ["close", fd],
    ]);
  });

  it("nothing stays open after writing, reading (any format, also a refused file) and restoring key groups", async () => {
    const before = await settledFds();
    const p3 = path();
    await writeStreamedFileSynced(p3, streamTaskSnapshot(snapshot(), 0));
    noneLeft(before, "after writing");
    const read = (await readStateFileAt(p3, "is missing")) as TaskSnapshot;
    noneLeft(before, "after reading format 3");
    assert.deepEqual(
      keyGroupsOf(read).map(([kg]) => kg),
      [3, 8, 12],
    );
    noneLeft(before, "after reading its key groups");
    const p2 = path();
    writeFileSync(p2, encodeStateFile({ operators: { op: { custom: 1 } } }));
    assert.deepEqual(await readStateFileAt(p2, "is missing"), { operators: { op: { custom: 1 } } });
    noneLeft(before, "after reading format 2");
    const bad = path();
    writeFileSync(bad, readFileSync(p3).subarray(0, readFileSync(p3).length - 1));
    await assert.rejects(readStateFileAt(bad, "is missing"), { name: "CorruptStateError" });
    noneLeft(before, "after a refused file");
  });

  it("a file cut after its index was read: reading a key group from it reports it truncated", async () => {
    const p = path();
    await writeStreamedFileSynced(p, streamTaskSnapshot(snapshot(), 0));
    const read = (await readStateFileAt(p, "is missing")) as TaskSnapshot;
    const groups = read.operators.op!.keyGroups!;
    const first = groups[0]![1] as StoredKeyGroup;
    const whole = first.read();
    // cut the file one byte into the first key group: a read gets that byte, then nothing
    const at = readFileSync(p).indexOf(Buffer.from(whole));
    assert.ok(at > 0);
    truncateSync(p, at + 1);
    assert.throws(
      () => first.read(),
      (e: Error) =>
        e.name === "CorruptStateError" &&
        e.message === `checkpoint file '${p}' is truncated; restore from another checkpoint or savepoint`,
    );
    rmSync(p);
    assert.throws(() => first.read(), /is missing/);
  });
});
