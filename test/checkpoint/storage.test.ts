// Checkpoint storage: incremental checkpoints write only changed key groups and share the rest;
// pruning deletes only unreferenced files; a crash mid-write leaves the previous checkpoint
// usable; missing, corrupt and newer-format files are refused with the path named.

import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { latestCheckpoint, loadCheckpoint } from "../../src/checkpoint/fs-storage.ts";
import {
  InputStatus,
  type ReaderOutput,
  type Source,
  type SourceReader,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  assignToKeyGroup,
} from "../../src/index.ts";

/** An unbounded source the test feeds; its position (records delivered) is checkpointed. */
class FeedSource implements Source<string, number> {
  readonly boundedness = "unbounded" as const;
  readonly maxParallelism = 1;
  readonly queue: string[] = [];
  private wake: (() => void) | undefined;
  push(...v: string[]): void {
    this.queue.push(...v);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  createEnumerator() {
    return { start() {}, handleSplitRequest() {}, addReader() {}, close() {}, snapshotState: () => [] };
  }
  restoreEnumerator() {
    return this.createEnumerator();
  }
  createReader(): SourceReader<string, number> {
    let delivered = 0;
    return {
      start() {},
      pollNext: (out: ReaderOutput<string>) => {
        const v = this.queue.shift();
        if (v === undefined) return InputStatus.NOTHING_AVAILABLE;
        out.collect(v);
        delivered++;
        return InputStatus.MORE_AVAILABLE;
      },
      isAvailable: () =>
        this.queue.length > 0
          ? Promise.resolve()
          : new Promise<void>((r) => {
              this.wake = r;
            }),
      addSplits() {},
      notifyNoMoreSplits() {},
      snapshotState: () => [delivered],
      close() {},
    };
  }
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function sharedFiles(root: string): string[] {
  const dir = join(root, "shared");
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe("checkpoint storage", () => {
  it("incremental: checkpoint k+1 writes only changed key groups; pruning deletes only unreferenced files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-inc-"));
    try {
      const env = new StreamExecutionEnvironment({ parallelism: 1, checkpointDirectory: dir });
      env.enableCheckpointing(3_600_000).getCheckpointConfig().enableIncrementalCheckpoints();
      const source = new FeedSource();
      let processed = 0;
      env
        .fromSource(source, "feed")
        .keyBy((k) => k)
        .process<string>({
          processElement(_k, ctx) {
            const st = ctx.runtime.getState(new ValueStateDescriptor<number>("n"));
            st.update((st.value() ?? 0) + 1);
            processed++;
          },
        })
        .print();
      const client = await env.executeAsync("incremental");
      const keys = Array.from({ length: 100 }, (_, i) => `key-${i}`);
      source.push(...keys, ...keys);
      await waitFor(() => processed === 200, "200 records");
      const cp1 = await client.triggerCheckpoint();
      const root = join(cp1, "..");
      const groups1 = new Set(keys.map((k) => assignToKeyGroup(k, 128)));
      const after1 = sharedFiles(root);
      assert.equal(after1.length, groups1.size, "one shared file per non-empty key group");

      source.push("key-5");
      await waitFor(() => processed === 201, "one more record");
      const cp2 = await client.triggerCheckpoint();
      // Checkpoint 1 is pruned once checkpoint 2 completes (one retained), with the file it alone used.
      const replaced = after1.find((f) => f.includes(`-kg${assignToKeyGroup("key-5", 128)}-`))!;
      await waitFor(
        () => !existsSync(cp1) && !existsSync(join(root, "shared", replaced)),
        "checkpoint 1 and its unreferenced file to be pruned",
      );
      const after2 = sharedFiles(root);
      const added = after2.filter((f) => !after1.includes(f));
      const removed = after1.filter((f) => !after2.includes(f));
      assert.equal(added.length, 1, "checkpoint 2 wrote one key-group file: the changed one");
      assert.match(added[0]!, new RegExp(`-kg${assignToKeyGroup("key-5", 128)}-`));
      // Checkpoint 1 was pruned (one retained): only its file nobody references any more went.
      assert.equal(removed.length, 1, "only the replaced key-group file was deleted");
      const meta = JSON.parse(readFileSync(join(cp2, "_metadata"), "utf8"));
      const referenced = new Set<string>();
      for (const t of Object.values(meta.tasks) as Array<{
        subtasks: Array<{ keyGroups?: Record<string, string> }>;
      }>) {
        for (const s of t.subtasks) for (const f of Object.values(s.keyGroups ?? {})) referenced.add(f);
      }
      for (const f of referenced) assert.ok(existsSync(join(root, f)), `${f} still exists`);
      assert.equal(referenced.size, after2.length);
      await client.cancel();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("incremental: two keyed operators chained at parallelism 1 each keep their key groups", async () => {
    // keyBy between two operators of parallelism 1 is chained: one task holds both operators'
    // state in the same key groups. The handle once mapped a key group to one file, so one
    // operator's state was lost on restore.
    const dir = mkdtempSync(join(tmpdir(), "weir-inc2-"));
    const build = (source: FeedSource, out: string[], restore?: string, parallelism = 1) => {
      const env = new StreamExecutionEnvironment({ parallelism, checkpointDirectory: dir });
      env
        .enableCheckpointing(3_600_000)
        .getCheckpointConfig()
        .enableIncrementalCheckpoints()
        .setExternalizedCheckpointRetention("RETAIN_ON_CANCELLATION");
      if (restore !== undefined) env.restoreFrom(restore);
      env
        .fromSource(source, "feed")
        .setParallelism(1)
        .uid("feed")
        .keyBy((k) => k)
        .process<string>({
          processElement(k, ctx, o) {
            const st = ctx.runtime.getState(new ValueStateDescriptor<number>("first"));
            const n = (st.value() ?? 0) + 1;
            st.update(n);
            o.collect(`${k}:${n}`);
          },
        })
        .uid("first")
        .keyBy((v) => v.split(":")[0]!)
        .process<string>({
          processElement(v, ctx, o) {
            const st = ctx.runtime.getState(new ValueStateDescriptor<number>("second"));
            const n = (st.value() ?? 0) + 1;
            st.update(n);
            o.collect(`${v}|${n}`);
          },
        })
        .uid("second")
        .sinkTo({ createWriter: () => ({ write: (v: string) => void out.push(v) }) });
      return env;
    };
    try {
      const out1: string[] = [];
      const source1 = new FeedSource();
      const client1 = await build(source1, out1).executeAsync("chained-keyed");
      source1.push("a", "b", "a");
      await waitFor(() => out1.length === 3, "three records");
      const cp = await client1.triggerCheckpoint();
      await client1.cancel();
      const meta = JSON.parse(readFileSync(join(cp, "_metadata"), "utf8"));
      const files = Object.values(meta.tasks).flatMap((t) =>
        (t as { subtasks: Array<{ keyGroups?: Record<string, string> }> }).subtasks.flatMap((st) =>
          Object.values(st.keyGroups ?? {}),
        ),
      );
      assert.equal(files.length, 4, "two key groups (a, b) for each of the two operators");

      const out2: string[] = [];
      const source2 = new FeedSource();
      const client2 = await build(source2, out2, cp).executeAsync("chained-keyed");
      source2.push("a", "b");
      await waitFor(() => out2.length === 2, "two records after the restore");
      await client2.cancel();
      assert.deepEqual(out2.sort(), ["a:3|3", "b:2|2"], "both operators' counts go on");

      // The same checkpoint at parallelism 2, where the two operators run in tasks of their own.
      const out3: string[] = [];
      const source3 = new FeedSource();
      const client3 = await build(source3, out3, cp, 2).executeAsync("chained-keyed-p2");
      source3.push("a", "b");
      await waitFor(() => out3.length === 2, "two records after the restore at parallelism 2");
      await client3.cancel();
      assert.deepEqual(out3.sort(), ["a:3|3", "b:2|2"], "both operators' counts go on at parallelism 2");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a crash during a checkpoint leaves the previous one usable; corrupt and missing files are named", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-crash-"));
    try {
      const env = new StreamExecutionEnvironment({ parallelism: 2, checkpointDirectory: dir });
      env
        .enableCheckpointing(3_600_000)
        .getCheckpointConfig()
        .setNumRetainedCheckpoints(3)
        .setExternalizedCheckpointRetention("RETAIN_ON_CANCELLATION");
      const source = new FeedSource();
      let processed = 0;
      env
        .fromSource(source, "feed")
        .keyBy((k) => k)
        .process<string>({
          processElement(_k, ctx) {
            const st = ctx.runtime.getState(new ValueStateDescriptor<number>("n"));
            st.update((st.value() ?? 0) + 1);
            processed++;
          },
        })
        .uid("counter")
        .print();
      const client = await env.executeAsync("crash");
      source.push("a", "b", "c");
      await waitFor(() => processed === 3, "3 records");
      const cp1 = await client.triggerCheckpoint();
      await client.cancel();
      const root = join(cp1, "..");

      // A crash while writing checkpoint 2: state files written, metadata never published.
      const cp2 = join(root, "chk-2");
      mkdirSync(cp2);
      writeFileSync(join(cp2, "2-0.state"), "half written");
      writeFileSync(join(cp2, "_metadata.tmp-1-x"), "{");
      assert.equal(await latestCheckpoint(root), cp1, "the newest complete checkpoint is still checkpoint 1");
      // A job root no job has written to yet (a first run) has no checkpoint, and no error.
      assert.equal(await latestCheckpoint(join(root, "no-such-job")), undefined);
      assert.equal(await latestCheckpoint(cp2), undefined, "a root without chk-N directories");
      const loaded = await loadCheckpoint(cp1);
      assert.equal(loaded.metadata.checkpointId, 1);
      await assert.rejects(loadCheckpoint(cp2), /no checkpoint at .*chk-2.*_metadata' does not exist/s);

      // A restore from checkpoint 1 works.
      const ok = new StreamExecutionEnvironment({ parallelism: 1, restorePath: cp1 });
      const counts = new Map<string, number>();
      const source2 = new FeedSource();
      ok.fromSource(source2, "feed")
        .keyBy((k) => k)
        .process<string>({
          processElement(k, ctx, out) {
            const st = ctx.runtime.getState(new ValueStateDescriptor<number>("n"));
            const n = (st.value() ?? 0) + 1;
            st.update(n);
            counts.set(k, n);
            out.collect(k);
          },
        })
        .uid("counter")
        .print();
      const c2 = await ok.executeAsync();
      source2.push("a");
      await waitFor(() => counts.get("a") === 2, "key a continues from its restored count");
      await c2.cancel();

      // Corrupt a state file: the restore names it.
      const meta = JSON.parse(readFileSync(join(cp1, "_metadata"), "utf8"));
      const files = Object.values(meta.tasks as Record<string, { subtasks: Array<{ file?: string }> }>)
        .flatMap((t) => t.subtasks.map((s) => s.file))
        .filter((f): f is string => f !== undefined);
      const victim = join(root, files[0]!);
      const bytes = readFileSync(victim);
      bytes[bytes.length - 1] ^= 0xff;
      writeFileSync(victim, bytes);
      // With checkpointing on (restarts unlimited by default), a broken restore must not restart forever.
      const bad = new StreamExecutionEnvironment({
        parallelism: 1,
        restorePath: cp1,
        checkpointInterval: 50,
        checkpointDirectory: join(dir, "other"),
      });
      bad
        .fromSource(new FeedSource(), "feed")
        .keyBy((k) => k)
        .process({ processElement() {} })
        .uid("counter")
        .print();
      await assert.rejects(
        bad.execute(),
        (e: Error) => e.message.includes(victim) && /corrupt|checksum/.test(e.message),
      );

      // A missing file is named too.
      rmSync(victim);
      const missing = new StreamExecutionEnvironment({ parallelism: 1, restorePath: cp1 });
      missing
        .fromSource(new FeedSource(), "feed")
        .keyBy((k) => k)
        .process({ processElement() {} })
        .uid("counter")
        .print();
      await assert.rejects(
        missing.execute(),
        (e: Error) => e.message.includes(victim) && /missing/.test(e.message),
      );

      // A checkpoint from a newer format is refused.
      meta.version = 99;
      writeFileSync(join(cp1, "_metadata"), JSON.stringify(meta));
      await assert.rejects(loadCheckpoint(cp1), /newer Weir \(format 99/);
      // A missing directory is named.
      await assert.rejects(loadCheckpoint(join(dir, "nope")), /no checkpoint at .*nope/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
