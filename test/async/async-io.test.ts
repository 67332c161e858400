// Async I/O: ordered and unordered modes, capacity (backpressure), timeouts, retries, and
// watermarks held behind pending requests. In-thread; no sleeps-then-assert, no timing checks.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AsyncDataStream,
  type AsyncFunction,
  AsyncRetryStrategies,
  type KeyedProcessFunction,
  type ResultFuture,
  RetryPredicates,
  StreamExecutionEnvironment,
  type WatermarkGenerator,
  WatermarkStrategy,
} from "../../src/index.ts";
import { prng } from "../fixtures/helpers.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Completes each request after a random number of macrotask turns (0–2 ms timers or immediates). */
function randomDelay(rnd: () => number, action: () => void): void {
  const r = rnd();
  if (r < 0.3) setImmediate(action);
  else setTimeout(action, Math.floor(r * 3));
}

describe("Async I/O: ordered and unordered", () => {
  for (const capacity of [1, 7, 100]) {
    it(`orderedWait emits results in input order with random completion delays (capacity ${capacity})`, async () => {
      const rnd = prng(capacity);
      let inFlight = 0;
      let maxInFlight = 0;
      const fn: AsyncFunction<number, string> = {
        asyncInvoke(x, rf) {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          randomDelay(rnd, () => {
            inFlight--;
            rf.complete(x % 5 === 0 ? [] : [`r${x}`, ...(x % 7 === 0 ? [`r${x}b`] : [])]);
          });
        },
      };
      const env = new StreamExecutionEnvironment({ parallelism: 1 });
      const out = AsyncDataStream.orderedWait(env.fromCollection(range(2000)), fn, 0, capacity).collect();
      await env.execute("ordered");
      const expected = range(2000).flatMap((x) =>
        x % 5 === 0 ? [] : [`r${x}`, ...(x % 7 === 0 ? [`r${x}b`] : [])],
      );
      assert.deepEqual(out.values, expected);
      assert.ok(maxInFlight <= capacity, `max in flight ${maxInFlight} > capacity ${capacity}`);
      if (capacity > 1) assert.ok(maxInFlight > 1, "requests should overlap");
    });
  }

  it("unorderedWait at p=2: every result once, in-flight bounded by capacity per subtask", async () => {
    const rnd = prng(3);
    const inFlight = [0, 0];
    let maxInFlight = 0;
    const fn: AsyncFunction<number, number> = {
      sub: 0,
      open(ctx) {
        (this as { sub: number }).sub = ctx.indexOfThisSubtask;
      },
      asyncInvoke(x, rf) {
        // the function object is shared by both subtasks in-thread: count per subtask via the value
        const s = x % 2;
        inFlight[s]!++;
        maxInFlight = Math.max(maxInFlight, inFlight[s]!);
        randomDelay(rnd, () => {
          inFlight[s]!--;
          rf.complete([x * 10]);
        });
      },
    } as AsyncFunction<number, number> & { sub: number };
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    // key by parity so that each subtask sees one parity: in-flight per parity = per subtask
    const input = env.fromCollection(range(3000)).keyBy((x) => x % 2);
    const out = AsyncDataStream.unorderedWait(input, fn, 0, 5).collect();
    await env.execute("unordered-p2");
    assert.deepEqual(
      [...out.values].sort((a, b) => a - b),
      range(3000).map((x) => x * 10),
    );
    assert.ok(maxInFlight <= 5, `max in flight ${maxInFlight} > 5`);
  });

  it("a full queue stops the task from reading its input (backpressure, not an unbounded buffer)", async () => {
    const N = 20_000;
    let read = 0;
    let invoked = 0;
    let maxAhead = 0;
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const src = env.fromCollection(range(N)).map((x) => {
      read++;
      return x;
    });
    const out = AsyncDataStream.orderedWait(
      src,
      (x: number, rf: ResultFuture<number>) => {
        invoked++;
        maxAhead = Math.max(maxAhead, read - invoked);
        setImmediate(() => rf.complete([x]));
      },
      0,
      4,
    ).collect();
    await env.execute("backpressure");
    assert.equal(out.values.length, N);
    // Records read but not yet started stay within one poll of the source, not the whole input.
    assert.ok(maxAhead < N / 10, `the source ran ${maxAhead} records ahead of the async requests`);
  });

  it("unorderedWait does not wait for a slow request; orderedWait does", async () => {
    for (const mode of ["unordered", "ordered"] as const) {
      const N = 100;
      const SLOW = 5;
      let release: (() => void) | undefined;
      let arrived = 0;
      const order: number[] = [];
      const fn: AsyncFunction<number, number> = {
        asyncInvoke(x, rf) {
          if (x === SLOW) release = () => rf.complete([x]);
          else setImmediate(() => rf.complete([x]));
        },
      };
      const env = new StreamExecutionEnvironment({ parallelism: 1 });
      const src = env.fromCollection(range(N));
      const asyncOut =
        mode === "unordered"
          ? AsyncDataStream.unorderedWait(src, fn, 0, 10)
          : AsyncDataStream.orderedWait(src, fn, 0, 10);
      asyncOut
        .map((x) => {
          order.push(x);
          arrived++;
          return x;
        })
        .collect();
      const run = env.execute(`slow-${mode}`);
      if (mode === "unordered") {
        // Condition-based: every other result must come through while the slow one is pending.
        await waitFor(() => arrived === N - 1, "all fast results");
        assert.ok(!order.includes(SLOW));
      } else {
        // Ordered: nothing after the slow record comes out; the capacity fills up behind it.
        await waitFor(() => release !== undefined && arrived === SLOW, "the records before the slow one");
      }
      release!();
      await run;
      assert.equal(order.length, N);
      if (mode === "unordered") assert.equal(order[N - 1], SLOW);
      else assert.deepEqual(order, range(N));
    }
  });
});

describe("Async I/O: timeouts and retries", () => {
  it("timeouts go to the function's timeout handler", async () => {
    const timedOut: number[] = [];
    const fn: AsyncFunction<number, string> = {
      asyncInvoke(x, rf) {
        if (x % 3 !== 0) setImmediate(() => rf.complete([`ok${x}`]));
        // multiples of 3 never complete
      },
      timeout(x, rf) {
        timedOut.push(x);
        rf.complete([`timeout${x}`]);
      },
    };
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const out = AsyncDataStream.orderedWait(env.fromCollection(range(30)), fn, 20, 50).collect();
    await env.execute("timeouts");
    assert.deepEqual(
      out.values,
      range(30).map((x) => (x % 3 === 0 ? `timeout${x}` : `ok${x}`)),
    );
    assert.deepEqual(
      timedOut.sort((a, b) => a - b),
      range(30).filter((x) => x % 3 === 0),
    );
  });

  it("a timeout's error shows a long record shortened to 80 characters", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const long = "r".repeat(200);
    AsyncDataStream.unorderedWait(
      env.fromCollection([long]),
      (_x: string, _rf: ResultFuture<string>) => {},
      10,
    )
      .uid("slow")
      .collect();
    await assert.rejects(env.execute("long-record"), (e: Error) => {
      const shown = /async request for record (\S+) did not complete/.exec(e.message)?.[1];
      assert.equal(shown, `"${"r".repeat(76)}...`, e.message);
      return true;
    });
  });

  it("without a timeout handler, a timeout fails the job with a clear error", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    AsyncDataStream.unorderedWait(
      env.fromCollection([1, 2, 3]),
      (x: number, rf: ResultFuture<number>) => {
        if (x !== 2) rf.complete([x]);
      },
      10,
    )
      .uid("lookup")
      .collect();
    await assert.rejects(env.execute("timeout-fails"), (e: Error) => {
      assert.match(e.message, /uid lookup/);
      assert.match(e.message, /AsyncTimeoutError: async request for record 2 did not complete within 10 ms/);
      return true;
    });
  });

  it("a late completion after the timeout handler ran is ignored", async () => {
    const late: Array<() => void> = [];
    const fn: AsyncFunction<number, string> = {
      asyncInvoke(x, rf) {
        // Only 1 answers late: a late answer of 2 arriving before 2's own timeout would be a
        // legitimate completion, and whether it does depended on the timers' timing.
        if (x === 1) late.push(() => rf.complete([`late${x}`]));
      },
      timeout(x, rf) {
        rf.complete([`t${x}`]);
        for (const l of late.splice(0)) l();
      },
    };
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const out = AsyncDataStream.orderedWait(env.fromCollection([1, 2]), fn, 5, 10).collect();
    await env.execute("late-completion");
    assert.deepEqual(out.values, ["t1", "t2"]);
  });

  it("retries failed requests per a fixed-delay strategy (attempts counted)", async () => {
    const attempts = new Map<number, number>();
    const fn: AsyncFunction<number, number> = {
      async asyncInvoke(x, rf) {
        const n = (attempts.get(x) ?? 0) + 1;
        attempts.set(x, n);
        await Promise.resolve();
        // x needs (x % 4) failed attempts before it succeeds; x % 4 === 3 uses all 3 retries
        if (n <= x % 4) throw new Error(`flaky ${x}`);
        rf.complete([x]);
      },
    };
    const strategy = AsyncRetryStrategies.fixedDelay<number>(3, 1)
      .ifException(RetryPredicates.HAS_EXCEPTION_PREDICATE)
      .build();
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const out = AsyncDataStream.unorderedWaitWithRetry(
      env.fromCollection(range(40)),
      fn,
      0,
      8,
      strategy,
    ).collect();
    await env.execute("retry-fixed");
    assert.deepEqual(
      [...out.values].sort((a, b) => a - b),
      range(40),
    );
    for (const x of range(40)) assert.equal(attempts.get(x), (x % 4) + 1, `attempts of ${x}`);
  });

  it("a failed request fails the job naming the record, the reason and the attempts made", async () => {
    const failing: AsyncFunction<number, number> = {
      async asyncInvoke(x) {
        throw new Error(`the lookup service refused ${x}`);
      },
    };
    const once = new StreamExecutionEnvironment({ parallelism: 1 });
    AsyncDataStream.orderedWait(once.fromCollection([7]), failing, 0).collect();
    await assert.rejects(once.execute("no-retry"), (e: Error) => {
      assert.match(e.message, /async request for record 7 failed: .*the lookup service refused 7/);
      assert.doesNotMatch(e.message, /after \d+ attempts/, "one attempt: no count");
      return true;
    });
    const retried = new StreamExecutionEnvironment({ parallelism: 1 });
    const strategy = AsyncRetryStrategies.fixedDelay<number>(2, 1)
      .ifException(RetryPredicates.HAS_EXCEPTION_PREDICATE)
      .build();
    AsyncDataStream.orderedWaitWithRetry(retried.fromCollection([8]), failing, 0, 1, strategy).collect();
    await assert.rejects(retried.execute("retried"), (e: Error) => {
      assert.match(e.message, /async request for record 8 failed after 3 attempts: .*refused 8/);
      return true;
    });
  });

  it("retries empty results per the result predicate, with exponential backoff", async () => {
    const attempts = new Map<number, number>();
    const fn: AsyncFunction<number, string> = {
      asyncInvoke(x, rf) {
        const n = (attempts.get(x) ?? 0) + 1;
        attempts.set(x, n);
        // every record is empty on its first two attempts; record 0 is always empty
        setImmediate(() => rf.complete(n <= 2 || x === 0 ? [] : [`v${x}`]));
      },
    };
    const strategy = AsyncRetryStrategies.exponentialBackoff<string>(4, 1, 4, 2)
      .ifResult(RetryPredicates.EMPTY_RESULT_PREDICATE)
      .build();
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const out = AsyncDataStream.orderedWaitWithRetry(
      env.fromCollection(range(10)),
      fn,
      0,
      4,
      strategy,
    ).collect();
    await env.execute("retry-result");
    // record 0 stays empty: 1 + 4 attempts, then its (empty) result stands
    assert.deepEqual(
      out.values,
      range(10)
        .filter((x) => x !== 0)
        .map((x) => `v${x}`),
    );
    assert.equal(attempts.get(0), 5);
    for (const x of range(10).slice(1)) assert.equal(attempts.get(x), 3);
  });

  it("when retries are exhausted the last error fails the job", async () => {
    let calls = 0;
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    AsyncDataStream.orderedWaitWithRetry(
      env.fromCollection([7]),
      (_x: number, rf: ResultFuture<number>) => {
        calls++;
        rf.completeExceptionally(new Error(`down #${calls}`));
      },
      0,
      1,
      AsyncRetryStrategies.fixedDelay<number>(2, 0)
        .ifException((e) => e instanceof Error)
        .build(),
    ).collect();
    await assert.rejects(env.execute("retry-exhausted"), /failed after 3 attempts: down #3/);
    assert.equal(calls, 3);
  });

  it("exponential backoff delays grow by the multiplier up to the maximum", () => {
    const s = AsyncRetryStrategies.exponentialBackoff(5, 10, 50, 2).build();
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => s.getBackoffTimeMillis(n)),
      [10, 20, 40, 50, 50],
    );
    assert.deepEqual(
      [1, 5, 6].map((n) => s.canRetry(n)),
      [true, true, false],
    );
    const f = AsyncRetryStrategies.fixedDelay(1, 7).build();
    assert.equal(f.getBackoffTimeMillis(1), 7);
    assert.equal(f.canRetry(2), false);
    assert.throws(() => AsyncRetryStrategies.exponentialBackoff(1, 10, 5, 2), /maxRetryDelay/);
    assert.throws(() => AsyncRetryStrategies.fixedDelay(-1, 1), /maxAttempts/);
  });

  it("bad arguments are refused when the job is built", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const s = env.fromCollection([1]);
    assert.throws(() => AsyncDataStream.orderedWait(s, {} as never, 10), /asyncInvoke/);
    assert.throws(() => AsyncDataStream.orderedWait(s, (_x, rf) => rf.complete([]), -1), /timeout/);
    assert.throws(() => AsyncDataStream.unorderedWait(s, (_x, rf) => rf.complete([]), 10, 0), /capacity/);
  });

  it("complete() with a non-array fails the job with a clear error", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    AsyncDataStream.orderedWait(
      env.fromCollection([1]),
      (x: number, rf: ResultFuture<number>) => rf.complete(x as never),
      0,
    ).collect();
    await assert.rejects(env.execute("bad-complete"), /complete\(\) needs an array of results/);
  });

  it("complete(null) fails the job saying it got null", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    AsyncDataStream.orderedWait(
      env.fromCollection([1]),
      (_x: number, rf: ResultFuture<number>) => rf.complete(null as never),
      0,
    ).collect();
    await assert.rejects(env.execute("null-complete"), /needs an array of results .*got null/);
  });
});

describe("Async I/O: event time", () => {
  type Ev = { t: number };
  /** A watermark right before each event: every record is its own watermark segment. */
  const punctuated = (): WatermarkGenerator<Ev> => ({
    onEvent: (_e, ts, out) => out.emitWatermark(ts - 1),
    onPeriodicEmit: () => {},
  });

  for (const mode of ["ordered", "unordered"] as const) {
    it(`${mode}: no watermark passes a pending record; no result arrives behind the watermark`, async () => {
      const N = 300;
      const SLOW = 50;
      const CAPACITY = 10;
      const rnd = prng(mode === "ordered" ? 1 : 2);
      let invoked = 0;
      let slowReleased = false;
      let slowArrived = false;
      const violations: string[] = [];
      const fn: AsyncFunction<Ev, Ev> = {
        asyncInvoke(e, rf) {
          invoked++;
          if (e.t === SLOW * 10) {
            const release = () => {
              slowReleased = true;
              rf.complete([e]);
            };
            // Release once the queue is full behind it (ordered) / later records went through (unordered).
            const check = () => {
              if (invoked >= SLOW + CAPACITY || (mode === "unordered" && invoked >= N)) release();
              else setImmediate(check);
            };
            setImmediate(check);
          } else randomDelay(rnd, () => rf.complete([e]));
        },
      };
      const checker: KeyedProcessFunction<number, Ev, number> = {
        processElement(e, ctx, out) {
          const wm = ctx.timerService().currentWatermark();
          if (wm >= e.t) violations.push(`record ${e.t} arrived behind watermark ${wm}`);
          if (e.t === SLOW * 10) slowArrived = true;
          ctx.timerService().registerEventTimeTimer(e.t);
          out.collect(e.t);
        },
        onTimer(t) {
          if (t >= SLOW * 10 && !slowArrived)
            violations.push(`timer ${t} fired before the pending record arrived`);
        },
      };
      const env = new StreamExecutionEnvironment({ parallelism: 1, autoWatermarkInterval: 1 });
      const events = range(N).map((i) => ({ t: i * 10 }));
      const strategy =
        mode === "ordered"
          ? WatermarkStrategy.forGenerator<Ev>(punctuated).withTimestampAssigner((e) => e.t)
          : WatermarkStrategy.forBoundedOutOfOrderness<Ev>(0).withTimestampAssigner((e) => e.t);
      const src = env.fromCollection(events).assignTimestampsAndWatermarks(strategy);
      const asyncOut =
        mode === "ordered"
          ? AsyncDataStream.orderedWait(src, fn, 0, CAPACITY)
          : AsyncDataStream.unorderedWait(src, fn, 0, CAPACITY);
      const out = asyncOut
        .keyBy(() => 0)
        .process(checker)
        .collect();
      await env.execute(`event-time-${mode}`);
      assert.ok(slowReleased);
      assert.deepEqual(violations, []);
      assert.equal(out.values.length, N);
      if (mode === "ordered")
        assert.deepEqual(
          out.values,
          range(N).map((i) => i * 10),
        );
    });
  }
});

async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
