// The Async I/O operator alone, in a harness, step by step: its capacity (when it takes input, what
// it buffers while full and in which order that input starts), the watermarks between requests,
// what a checkpoint holds and how a restore at another parallelism takes it, timeouts and retries on
// the manual processing-time clock, the futures' rules (the first call wins, a non-array result, a
// rejected promise, a throw), the errors, and finish/close. Every request is completed by the test;
// nothing waits on a clock.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AsyncDataStream,
  type AsyncFunction,
  type AsyncRetryStrategy,
  type DataStream,
  type ResultFuture,
} from "../../src/index.ts";
import {
  type AsyncQueueSnapshot,
  AsyncRequestError,
  AsyncTimeoutError,
} from "../../src/runtime/operators/async/async-wait-operator.ts";
import type { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import type { HarnessSnapshot } from "../../src/testing/harness-snapshot.ts";
import { OneInputHarness } from "../../src/testing/index.ts";

type Mode = "ordered" | "unordered";

/** A function whose requests stay pending until the test completes them (by input value). */
class Pending<T = number> implements AsyncFunction<T, string> {
  readonly invoked: T[] = [];
  readonly futures = new Map<T, ResultFuture<string>[]>();
  asyncInvoke(x: T, rf: ResultFuture<string>): void {
    this.invoked.push(x);
    const list = this.futures.get(x) ?? [];
    list.push(rf);
    this.futures.set(x, list);
  }
  /** The future of the latest attempt for `x`. */
  future(x: T): ResultFuture<string> {
    const list = this.futures.get(x);
    assert.ok(list !== undefined, `no request for ${String(x)}`);
    return list.at(-1)!;
  }
  /** The harness whose mailbox runs the completions (set by harness()). */
  mailbox: { runMailbox(): void } | undefined;
  complete(x: T, values: Iterable<string> = [`r${String(x)}`]): void {
    this.future(x).complete(values);
    this.mailbox?.runMailbox();
  }
  fail(x: T, error: Error): void {
    this.future(x).completeExceptionally(error);
    this.mailbox?.runMailbox();
  }
}

function harness<T>(
  mode: Mode,
  fn: AsyncFunction<T, string>,
  opts: {
    timeoutMs?: number;
    capacity?: number;
    retry?: AsyncRetryStrategy<string>;
    p?: number;
    i?: number;
  } = {},
) {
  const { timeoutMs = 0, capacity = 10, retry, p = 1, i = 0 } = opts;
  const h = OneInputHarness.of(
    (s: DataStream<T>) => {
      const out =
        retry === undefined
          ? mode === "ordered"
            ? AsyncDataStream.orderedWait(s, fn, timeoutMs, capacity)
            : AsyncDataStream.unorderedWait(s, fn, timeoutMs, capacity)
          : mode === "ordered"
            ? AsyncDataStream.orderedWaitWithRetry(s, fn, timeoutMs, capacity, retry)
            : AsyncDataStream.unorderedWaitWithRetry(s, fn, timeoutMs, capacity, retry);
      return out.uid("async");
    },
    { parallelism: p, subtaskIndex: i },
  );
  if (fn instanceof Pending) fn.mailbox = h;
  return h;
}

/** The operator under the harness: the task asks it isInputAvailable() and takes its snapshot. */
function operatorOf(h: object): StreamOperator {
  return (h as unknown as { operator: StreamOperator }).operator;
}

function queueSnapshot(h: object): AsyncQueueSnapshot | undefined {
  return operatorOf(h).snapshotState(1)?.custom as AsyncQueueSnapshot | undefined;
}

/** A retry strategy: retry up to `max` times after `delay` ms, on every error / on empty results. */
function retryEvery(max: number, delay: number, on: "error" | "empty"): AsyncRetryStrategy<string> {
  return {
    canRetry: (n) => n <= max,
    getBackoffTimeMillis: () => delay,
    resultPredicate: on === "empty" ? (v) => v.length === 0 : undefined,
    exceptionPredicate: on === "error" ? () => true : undefined,
  };
}

describe("Async I/O operator: capacity and buffered input", () => {
  for (const mode of ["ordered", "unordered"] as const) {
    it(`${mode}: takes input until the queue is full, buffers the rest and starts it in order as room frees`, async () => {
      const fn = new Pending();
      const h = harness(mode, fn, { capacity: 2 });
      const op = operatorOf(h);
      await h.open();
      assert.equal(op.isInputAvailable(), true, "empty");
      h.processElement(1, 11);
      assert.equal(op.isInputAvailable(), true, "one of two");
      h.processElement(2, 12);
      assert.equal(op.isInputAvailable(), false, "full");
      h.processElement(3, 13); // already on its way: buffered, not started
      h.processWatermark(100);
      h.processElement(4, 14);
      assert.deepEqual(fn.invoked, [1, 2]);
      assert.deepEqual(queueSnapshot(h)?.elements, [
        { value: 1, timestamp: 11 },
        { value: 2, timestamp: 12 },
        { value: 3, timestamp: 13 },
        { watermark: 100 },
        { value: 4, timestamp: 14 },
      ]);
      fn.complete(1);
      assert.deepEqual(fn.invoked, [1, 2, 3], "room for one: the next buffered record starts");
      assert.equal(op.isInputAvailable(), false, "full again, and input still buffered");
      fn.complete(2);
      assert.deepEqual(fn.invoked, [1, 2, 3, 4], "the watermark passes into the queue, then 4 starts");
      assert.equal(op.isInputAvailable(), false, "full: 3 and 4 pending");
      assert.deepEqual(h.events(), [
        { kind: "record", value: "r1", timestamp: 11 },
        { kind: "record", value: "r2", timestamp: 12 },
      ]);
      fn.complete(4);
      if (mode === "ordered") assert.equal(h.values().length, 2, "ordered: 4 waits for 3");
      else assert.equal(h.values().length, 2, "unordered: 4 waits behind the watermark after 3");
      fn.complete(3);
      assert.deepEqual(h.events().slice(2), [
        { kind: "record", value: "r3", timestamp: 13 },
        { kind: "watermark", watermark: 100 },
        { kind: "record", value: "r4", timestamp: 14 },
      ]);
      assert.equal(op.isInputAvailable(), true);
      assert.equal(queueSnapshot(h), undefined, "nothing held: no custom state");
      await h.close();
    });
  }

  it("a watermark with nothing pending passes at once; the operator's input watermark follows", async () => {
    const fn = new Pending();
    const h = harness("unordered", fn);
    const op = operatorOf(h);
    await h.open();
    h.processWatermark(5);
    assert.deepEqual(h.watermarks(), [5]);
    assert.equal(op.inputWatermark, 5);
    h.processElement(1, 6);
    h.processWatermark(7);
    assert.equal(op.inputWatermark, 7, "recorded even while held back");
    assert.deepEqual(h.watermarks(), [5]);
    fn.complete(1);
    assert.deepEqual(h.watermarks(), [5, 7]);
  });

  it("a watermark buffered behind input is emitted once the buffered input before it started", async () => {
    const fn = new Pending();
    const h = harness("unordered", fn, { capacity: 1 });
    await h.open();
    h.processElement(1, 1);
    h.processElement(2, 2); // buffered
    h.processWatermark(50); // buffered behind 2
    h.processWatermark(60);
    fn.complete(1);
    assert.deepEqual(h.watermarks(), [], "2 started and is pending: the watermarks wait behind it");
    fn.complete(2);
    assert.deepEqual(h.events(), [
      { kind: "record", value: "r1", timestamp: 1 },
      { kind: "record", value: "r2", timestamp: 2 },
      { kind: "watermark", watermark: 50 },
      { kind: "watermark", watermark: 60 },
    ]);
  });

  it("ordered: a completed result waits for every earlier one", async () => {
    const fn = new Pending();
    const h = harness("ordered", fn);
    await h.open();
    for (const x of [1, 2, 3]) h.processElement(x, x * 10);
    fn.complete(3);
    fn.complete(2);
    assert.deepEqual(h.values(), []);
    fn.complete(1);
    assert.deepEqual(h.records(), [
      { value: "r1", timestamp: 10 },
      { value: "r2", timestamp: 20 },
      { value: "r3", timestamp: 30 },
    ]);
  });

  it("a watermark that arrives while the queue is full waits for the requests before it, not for input after it", async () => {
    const fn = new Pending();
    const h = harness("ordered", fn, { capacity: 1 });
    await h.open();
    h.processElement(1, 1);
    h.processWatermark(50); // behind 1 in the queue
    h.processElement(2, 2); // buffered: the queue is full
    fn.complete(1);
    assert.deepEqual(h.watermarks(), [50], "emitted while 2 is still pending");
    assert.deepEqual(fn.invoked, [1, 2]);
  });

  it("ordered: a long queue stays in order while emitted slots are dropped from its front", async () => {
    const fn = new Pending();
    const h = harness("ordered", fn, { capacity: 3000 });
    await h.open();
    const n = 2000;
    for (let x = 0; x < n; x++) h.processElement(x, x);
    for (let x = 0; x < 1500; x++) fn.complete(x);
    for (let x = n - 1; x >= 1500; x--) fn.complete(x);
    assert.deepEqual(h.watermarks(), []);
    assert.deepEqual(
      h.values(),
      Array.from({ length: n }, (_, x) => `r${x}`),
    );
  });

  for (const mode of ["ordered", "unordered"] as const) {
    it(`${mode}: a checkpoint holds the watermarks between the queued requests`, async () => {
      const fn = new Pending();
      const h = harness(mode, fn);
      await h.open();
      h.processElement(1, 1);
      h.processWatermark(5);
      h.processElement(2, 6);
      assert.deepEqual(queueSnapshot(h)?.elements, [
        { value: 1, timestamp: 1 },
        { watermark: 5 },
        { value: 2, timestamp: 6 },
      ]);
    });
  }

  it("unordered: completed results leave in completion order, each with its own timestamp", async () => {
    const fn = new Pending();
    const h = harness("unordered", fn);
    await h.open();
    for (const x of [1, 2, 3]) h.processElement(x, x * 10);
    fn.complete(3, ["a", "b"]);
    fn.complete(1, []);
    fn.complete(2);
    assert.deepEqual(h.records(), [
      { value: "a", timestamp: 30 },
      { value: "b", timestamp: 30 },
      { value: "r2", timestamp: 20 },
    ]);
  });
});

describe("Async I/O operator: checkpoints and restore", () => {
  async function heldSnapshot(subtask: number, p: number, values: number[]): Promise<HarnessSnapshot> {
    const fn = new Pending();
    const h = harness("ordered", fn, { capacity: 1, p, i: subtask });
    await h.open();
    h.processElement(values[0]!, 1);
    h.processWatermark(5);
    for (const v of values.slice(1)) h.processElement(v, 2);
    const s = await h.snapshot();
    await h.close();
    return s;
  }

  it("restores every old subtask's records, in old subtask order, before new input; watermarks dropped", async () => {
    const snaps = [
      await heldSnapshot(0, 3, [0, 10]),
      await heldSnapshot(1, 3, [1, 11]),
      await heldSnapshot(2, 3, [2, 12]),
    ];
    const fn0 = new Pending();
    const h0 = harness("ordered", fn0, { p: 2, i: 0 });
    await h0.initializeState([snaps[2]!, snaps[1]!, snaps[0]!]);
    assert.deepEqual(fn0.invoked, [], "started in open(), not before");
    await h0.open();
    h0.processElement(99, 3);
    assert.deepEqual(fn0.invoked, [0, 10, 2, 12, 99], "subtasks 0 and 2 (k % 2 === 0), in that order");
    for (const x of [0, 10, 2, 12, 99]) fn0.complete(x);
    assert.deepEqual(h0.watermarks(), [], "the restored watermark is not emitted again");
    assert.deepEqual(
      h0.records().map((r) => r.timestamp),
      [1, 2, 1, 2, 3],
      "restored records keep their timestamps",
    );

    const fn1 = new Pending();
    const h1 = harness("ordered", fn1, { p: 2, i: 1 });
    await h1.initializeState(snaps);
    await h1.open();
    assert.deepEqual(fn1.invoked, [1, 11]);
  });

  it("a restored queue larger than the capacity starts what fits and buffers the rest", async () => {
    const snap = await heldSnapshot(0, 1, [1, 2, 3]);
    const fn = new Pending();
    const h = harness("ordered", fn, { capacity: 2 });
    await h.initializeState(snap);
    await h.open();
    assert.deepEqual(fn.invoked, [1, 2]);
    assert.equal(operatorOf(h).isInputAvailable(), false);
    fn.complete(1);
    assert.deepEqual(fn.invoked, [1, 2, 3]);
  });

  it("refuses state that is not an Async I/O queue, naming the operator and the checkpoint", async () => {
    for (const bad of [null, 7, "x", { subtask: 0 }, { elements: [] }, { subtask: 0.5, elements: [] }]) {
      const h = harness("ordered", new Pending());
      assert.throws(
        () =>
          operatorOf(h).initializeState({
            keyGroups: [],
            operatorState: {},
            custom: [bad],
            checkpointId: 42,
          }),
        /is an Async I\/O operator, but its state in checkpoint 42 is not an Async I\/O queue/,
        JSON.stringify(bad),
      );
    }
    const ok = harness("ordered", new Pending());
    operatorOf(ok).initializeState({
      keyGroups: [],
      operatorState: {},
      custom: [{ subtask: 0, elements: [] }],
      checkpointId: 1,
    });
  });
});

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
