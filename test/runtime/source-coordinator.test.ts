// The source coordinator without a job: a fresh start creates the enumerator, a restore hands the
// source's restoreEnumerator the readers' splits and the unassigned ones readers had not received,
// assignments and "no more splits" reach the gateway, and close closes the enumerator. A source
// that cannot restore or checkpoint its enumerator fails with its name.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Source, SplitEnumerator, SplitEnumeratorContext } from "../../src/core/source.ts";
import { type ReaderGateway, SourceCoordinator } from "../../src/runtime/source-coordinator.ts";

interface Split {
  id: string;
}

function recordingSource(opts: { restorable?: boolean; snapshots?: boolean } = {}) {
  const log: string[] = [];
  let ctx: SplitEnumeratorContext<Split> | undefined;
  const enumerator = (origin: string): SplitEnumerator<Split> => ({
    start: async () => {
      log.push(`${origin}.start`);
    },
    handleSplitRequest: (s) => {
      log.push(`request ${s}`);
      ctx!.assignSplit({ id: `for-${s}` }, s);
    },
    addReader: (s) => {
      log.push(`reader ${s}`);
      if (s === 1) ctx!.signalNoMoreSplits(s);
    },
    ...(opts.snapshots === false ? {} : { snapshotState: (id: number) => [{ id: `${origin}@${id}` }] }),
    close: async () => {
      log.push(`${origin}.close`);
    },
  });
  const source = {
    boundedness: "BOUNDED",
    createEnumerator: (c: SplitEnumeratorContext<Split>) => {
      ctx = c;
      log.push(`create p=${c.parallelism}`);
      return enumerator("fresh");
    },
    ...(opts.restorable === false
      ? {}
      : {
          restoreEnumerator: (c: SplitEnumeratorContext<Split>, splits: Split[]) => {
            ctx = c;
            log.push(`restore ${splits.map((s) => s.id).join(",")}`);
            return enumerator("restored");
          },
        }),
    createReader: () => {
      throw new Error("not in this test");
    },
  } as unknown as Source<unknown, unknown>;
  const gateway: ReaderGateway & { sent: string[] } = {
    sent: [],
    addSplits(subtask, splits) {
      this.sent.push(`${subtask}:${(splits as Split[]).map((s) => s.id).join(",")}`);
    },
    noMoreSplits(subtask) {
      this.sent.push(`${subtask}:end`);
    },
  };
  return { source, gateway, log };
}

describe("SourceCoordinator", () => {
  it("a fresh start creates the enumerator and relays its assignments", async () => {
    const { source, gateway, log } = recordingSource();
    const c = new SourceCoordinator("numbers", "uid-1", source, 2, gateway);
    await c.start();
    c.registerReader(0);
    c.registerReader(1);
    c.handleSplitRequest(0);
    assert.deepEqual(c.snapshotState(7), [{ id: "fresh@7" }]);
    await c.close();
    assert.deepEqual(log, ["create p=2", "fresh.start", "reader 0", "reader 1", "request 0", "fresh.close"]);
    assert.deepEqual(gateway.sent, ["1:end", "0:for-0"]);
  });

  it("a restore hands restoreEnumerator the readers' splits and the unassigned ones not received", async () => {
    const { source, gateway, log } = recordingSource();
    const restore = {
      enumeratorSplits: [{ id: "u1" }, { id: "u2" }, { id: "u3" }],
      readerSplits: [{ id: "r1" }],
      // u2 had reached a reader after the enumerator's snapshot: its reader's state holds it.
      receivedIds: new Set([JSON.stringify({ id: "u2" })]),
    };
    const c = new SourceCoordinator("numbers", "uid-1", source, 1, gateway, restore);
    await c.start();
    await c.close();
    assert.deepEqual(log, ["restore r1,u1,u3", "restored.start", "restored.close"]);
  });

  it("a source without restoreEnumerator cannot restore, naming the source and its uid", async () => {
    const { source, gateway, log } = recordingSource({ restorable: false });
    const restore = { enumeratorSplits: [], readerSplits: [], receivedIds: new Set<string>() };
    const c = new SourceCoordinator("numbers", "uid-1", source, 1, gateway, restore);
    await assert.rejects(
      c.start(),
      /source 'numbers' \(uid uid-1\) cannot be restored.*no restoreEnumerator/,
    );
    assert.deepEqual(log, []);
    await c.close(); // nothing was created: nothing to close, and no error
  });

  it("an enumerator without snapshotState cannot be checkpointed, naming the source", async () => {
    const { source, gateway } = recordingSource({ snapshots: false });
    const c = new SourceCoordinator("numbers", "uid-1", source, 1, gateway);
    await c.start();
    assert.throws(() => c.snapshotState(1), /enumerator of source 'numbers' cannot be checkpointed/);
  });
});
