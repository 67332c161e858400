// The Async I/O operator alone, in a harness: timeouts and retries on the manual processing-time
// clock, the futures' rules (the first call wins, a non-array result, a rejected promise, a
// throw), the errors and their record previews, and finish/open/close. Every request is completed
// by the test; nothing waits on a clock.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ResultFuture } from "../../src/index.ts";
import {
  AsyncRequestError,
  AsyncTimeoutError,
} from "../../src/runtime/operators/async/async-wait-operator.ts";
import { Pending, harness, operatorOf, retryEvery } from "./fixtures/async-unit-harness.ts";

describe("Async I/O operator: timeouts", () => {
  it("the timeout handler runs exactly timeoutMs after the request; a late completion is ignored", async () => {
    const fn = new Pending() as Pending & { timeout(x: number, rf: ResultFuture<string>): void };
    const timedOut: number[] = [];
    fn.timeout = (x, rf) => {
      timedOut.push(x);
      rf.complete([`fallback ${x}`]);
    };
    const h = harness("ordered", fn, { timeoutMs: 100 });
    await h.open();
    h.setProcessingTime(1000);
    h.processElement(1, 1);
    h.advanceProcessingTime(99);
    assert.deepEqual(timedOut, []);
    h.advanceProcessingTime(1);
    assert.deepEqual(timedOut, [1]);
    fn.complete(1); // the first attempt, too late
    h.runMailbox();
    assert.deepEqual(h.values(), ["fallback 1"]);
  });

  it("after a timeout, a late result of the first attempt is ignored even before the handler completes", async () => {
    let fallback: ResultFuture<string> | undefined;
    const fn = new Pending() as Pending & { timeout(x: number, rf: ResultFuture<string>): void };
    fn.timeout = (_x, rf) => {
      fallback = rf;
    };
    const h = harness("unordered", fn, { timeoutMs: 10 });
    await h.open();
    h.processElement(1, 1);
    h.advanceProcessingTime(10);
    fn.complete(1, ["stale"]);
    assert.deepEqual(h.values(), []);
    fallback!.complete(["fallback"]);
    h.runMailbox();
    assert.deepEqual(h.values(), ["fallback"]);
  });

  it("a completed request does not time out; without a timeout (0) nothing ever does", async () => {
    const fn = new Pending() as Pending & { timeout(x: number, rf: ResultFuture<string>): void };
    const timedOut: number[] = [];
    fn.timeout = (x, rf) => {
      timedOut.push(x);
      rf.complete([]);
    };
    const h = harness("ordered", fn, { timeoutMs: 100 });
    await h.open();
    h.processElement(1, 1);
    fn.complete(1);
    h.advanceProcessingTime(1000);
    assert.deepEqual(timedOut, []);

    const never = new Pending() as Pending & { timeout(x: number, rf: ResultFuture<string>): void };
    const none: number[] = [];
    never.timeout = (x) => none.push(x);
    const h0 = harness("ordered", never, { timeoutMs: 0 });
    await h0.open();
    h0.processElement(1, 1);
    h0.advanceProcessingTime(1e9);
    assert.deepEqual(none, []);
  });

  it("without a handler a timeout fails with an AsyncTimeoutError naming the record and the timeout", async () => {
    const h = harness("ordered", new Pending<string>(), { timeoutMs: 50 });
    await h.open();
    h.processElement("slow one", 1);
    assert.throws(
      () => h.advanceProcessingTime(50),
      (e: Error) =>
        /async request for record "slow one" did not complete within 50 ms/.test(e.message) &&
        (e as { error?: unknown }).error instanceof AsyncTimeoutError,
    );
  });

  it("a timeout handler that throws or fails the future fails the operator, without an attempt count", async () => {
    for (const how of ["throw", "completeExceptionally"] as const) {
      const fn = new Pending() as Pending & { timeout(x: number, rf: ResultFuture<string>): void };
      fn.timeout = (x, rf) => {
        if (how === "throw") throw new Error(`handler gave up on ${x}`);
        rf.completeExceptionally(new Error(`handler gave up on ${x}`));
      };
      const h = harness("ordered", fn, { timeoutMs: 10, retry: retryEvery(3, 1, "error") });
      await h.open();
      h.processElement(4, 1);
      fn.fail(4, new Error("first"));
      h.advanceProcessingTime(1); // the retry: attempt 2
      assert.deepEqual(fn.invoked, [4, 4]);
      assert.throws(
        () => h.advanceProcessingTime(9),
        (e: Error) =>
          /async request for record 4 failed: .*handler gave up on 4/.test(e.message) &&
          !/attempts/.test(e.message),
        how,
      );
    }
  });

  it("a timeout while a retry waits cancels the retry: the request is not called again", async () => {
    const fn = new Pending() as Pending & { timeout(x: number, rf: ResultFuture<string>): void };
    fn.timeout = (x, rf) => rf.complete([`fallback ${x}`]);
    const h = harness("ordered", fn, { timeoutMs: 10, retry: retryEvery(5, 50, "error") });
    await h.open();
    h.processElement(1, 1);
    fn.fail(1, new Error("down"));
    h.advanceProcessingTime(10);
    h.advanceProcessingTime(100);
    assert.deepEqual(fn.invoked, [1]);
    assert.deepEqual(h.values(), ["fallback 1"]);
  });
});

describe("Async I/O operator: retries and futures", () => {
  it("retries a failed request after the backoff delay, counting attempts, then fails naming them", async () => {
    const fn = new Pending();
    const h = harness("ordered", fn, { retry: retryEvery(2, 100, "error") });
    await h.open();
    h.processElement(7, 1);
    fn.fail(7, new Error("e1"));
    h.advanceProcessingTime(99);
    assert.deepEqual(fn.invoked, [7], "not before the delay");
    h.advanceProcessingTime(1);
    assert.deepEqual(fn.invoked, [7, 7]);
    fn.fail(7, new Error("e2"));
    h.advanceProcessingTime(100);
    assert.deepEqual(fn.invoked, [7, 7, 7]);
    assert.throws(
      () => fn.fail(7, new Error("e3")),
      (e: Error) =>
        /async request for record 7 failed after 3 attempts: .*e3/.test(e.message) &&
        (e as { error?: unknown }).error instanceof AsyncRequestError,
    );
  });

  it("retries an empty result per the result predicate; a non-empty one is emitted at once", async () => {
    const fn = new Pending();
    const h = harness("unordered", fn, { retry: retryEvery(1, 10, "empty") });
    await h.open();
    h.processElement(1, 1);
    h.processElement(2, 2);
    fn.complete(1, []);
    fn.complete(2, ["two"]);
    assert.deepEqual(h.values(), ["two"]);
    h.advanceProcessingTime(10);
    assert.deepEqual(fn.invoked, [1, 2, 1]);
    fn.complete(1, []); // retries exhausted: the empty result stands
    assert.deepEqual(h.values(), ["two"]);
    assert.equal(operatorOf(h).snapshotState(2), undefined, "nothing left pending");
  });

  it("an error is not retried by a result predicate, and a result not by an error predicate", async () => {
    const onEmpty = new Pending();
    const h = harness("ordered", onEmpty, { retry: retryEvery(3, 1, "empty") });
    await h.open();
    h.processElement(1, 1);
    assert.throws(() => onEmpty.fail(1, new Error("boom")), /record 1 failed: .*boom/);

    const onError = new Pending();
    const h2 = harness("ordered", onError, { retry: retryEvery(3, 1, "error") });
    await h2.open();
    h2.processElement(1, 1);
    onError.complete(1, []);
    h2.advanceProcessingTime(10);
    assert.deepEqual(onError.invoked, [1]);
    assert.equal(operatorOf(h2).snapshotState(1), undefined, "completed with no results");
  });

  it("a completion of an earlier attempt after a retry started is ignored", async () => {
    const fn = new Pending();
    const h = harness("ordered", fn, { retry: retryEvery(3, 5, "empty") });
    await h.open();
    h.processElement(1, 1);
    const first = fn.future(1);
    first.complete([]);
    h.runMailbox();
    h.advanceProcessingTime(5);
    first.complete(["stale"]); // used already: ignored
    fn.complete(1, ["fresh"]);
    assert.deepEqual(h.values(), ["fresh"]);
  });

  it("a second call on a future whose retry waits is ignored: one retry, its result emitted", async () => {
    const fn = new Pending();
    const h = harness("ordered", fn, { retry: retryEvery(3, 5, "empty") });
    await h.open();
    h.processElement(1, 1);
    const first = fn.future(1);
    first.complete([]);
    first.complete(["too late"]);
    first.complete([]);
    h.runMailbox();
    assert.deepEqual(h.values(), []);
    h.advanceProcessingTime(5);
    assert.deepEqual(fn.invoked, [1, 1], "one retry");
    fn.complete(1, ["fresh"]);
    h.advanceProcessingTime(50);
    assert.deepEqual(fn.invoked, [1, 1]);
    assert.deepEqual(h.values(), ["fresh"]);
  });

  it("a future's first call wins; a non-array result, a throw and a rejected promise fail it", async () => {
    const fn = new Pending();
    const h = harness("ordered", fn);
    await h.open();
    h.processElement(1, 1);
    const f = fn.future(1);
    f.complete(new Set(["a", "b"]));
    f.complete(["again"]);
    f.completeExceptionally(new Error("late"));
    h.runMailbox();
    assert.deepEqual(h.values(), ["a", "b"], "any iterable; later calls ignored");

    h.processElement(2, 2);
    assert.throws(
      () => fn.complete(2, 5 as never),
      /record 2 failed: ResultFuture.complete\(\) needs an array of results .*got number/,
    );
    h.processElement(3, 3);
    assert.throws(() => fn.complete(3, null as never), /got null/);

    const throwing = harness("ordered", {
      asyncInvoke(x: number) {
        throw new Error(`sync ${x}`);
      },
    });
    await throwing.open();
    assert.throws(() => throwing.processElement(8, 1), /record 8 failed: .*sync 8/);

    let reject: (e: Error) => void = () => {};
    const rejecting = harness("ordered", {
      asyncInvoke: (_x: number) =>
        new Promise<void>((_res, rej) => {
          reject = rej;
        }),
    });
    await rejecting.open();
    rejecting.processElement(9, 1);
    reject(new Error("rejected 9"));
    await new Promise((r) => setImmediate(r));
    assert.throws(() => rejecting.runMailbox(), /record 9 failed: .*rejected 9/);

    const resolving = harness("ordered", {
      async asyncInvoke(x: number, rf: ResultFuture<string>) {
        rf.complete([`ok ${x}`]);
      },
    });
    await resolving.open();
    resolving.processElement(10, 1);
    await new Promise((r) => setImmediate(r));
    resolving.runMailbox();
    assert.deepEqual(resolving.values(), ["ok 10"], "a promise that resolves is not an error");
  });

  it("a record that does not serialize is shown by String(); one over 80 characters is cut", async () => {
    const fn = new Pending<unknown>();
    const h = harness("ordered", fn);
    await h.open();
    const cyclic: { self?: unknown; toString(): string } = { toString: () => "the cyclic one" };
    cyclic.self = cyclic;
    h.processElement(cyclic, 1);
    assert.throws(() => fn.fail(cyclic, new Error("x")), /record the cyclic one failed/);
    const h2 = harness("ordered", fn);
    await h2.open();
    h2.processElement(undefined, 1);
    assert.throws(() => fn.fail(undefined, new Error("x")), /record undefined failed/);
    for (const [len, shown] of [
      [78, `"${"a".repeat(78)}"`],
      [79, `"${"a".repeat(76)}...`],
    ] as const) {
      const h3 = harness("ordered", fn);
      await h3.open();
      const v = "a".repeat(len);
      h3.processElement(v, 1);
      assert.throws(
        () => fn.fail(v, new Error("x")),
        (e: Error) => e.message.includes(`record ${shown} failed`),
        String(len),
      );
    }
  });
});

describe("Async I/O operator: finish and close", () => {
  it("finish() waits for pending and buffered requests and emits them", async () => {
    const fn = new Pending();
    const h = harness("ordered", fn, { capacity: 1 });
    await h.open();
    h.processElement(1, 1);
    h.processElement(2, 2);
    setImmediate(() => {
      fn.complete(1);
      h.runMailbox();
      setImmediate(() => fn.complete(2));
    });
    await h.endInput();
    assert.deepEqual(h.values(), ["r1", "r2"]);
  });

  it("open() opens the function; close() closes it, and completions after it are ignored", async () => {
    let opened = 0;
    let closed = 0;
    const fn = new Pending() as Pending & { open(): void; close(): void };
    fn.open = () => {
      opened++;
    };
    fn.close = () => {
      closed++;
    };
    const h = harness("ordered", fn, { timeoutMs: 10 });
    await h.open();
    assert.equal(opened, 1);
    h.processElement(1, 1);
    await h.close();
    assert.equal(closed, 1);
    fn.complete(1);
    (h as unknown as { subtask: { runMailbox(): void } }).subtask.runMailbox();
    assert.deepEqual(h.values(), []);
  });
});
