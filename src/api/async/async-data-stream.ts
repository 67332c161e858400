// AsyncDataStream: Async I/O on a stream (Flink's AsyncDataStream). Each record starts a request
// (an AsyncFunction); results are emitted in input order (orderedWait) or as they complete
// (unorderedWait), with a per-record timeout, at most `capacity` requests in flight, and
// optionally a retry strategy. The task is never blocked: requests run while records flow.
// Requests not emitted yet are checkpointed and made again after a restore (docs/checkpoints.md).

import { InvalidArgumentError } from "../../core/errors.ts";
import type { RichFunction } from "../../core/functions.ts";
import type {
  AsyncFunction,
  AsyncOutputMode,
  AsyncRetryStrategy,
  ResultFuture,
} from "../../runtime/operators/async/async-function.ts";
import { AsyncWaitOperator } from "../../runtime/operators/async/async-wait-operator.ts";
import type { DataStream, SingleOutputStreamOperator } from "../data-stream.ts";

export type { AsyncFunction, ResultFuture, AsyncRetryStrategy };

/** An AsyncFunction, or just its asyncInvoke as a plain function. */
export type AsyncFn<IN, OUT> =
  | AsyncFunction<IN, OUT>
  | ((input: IN, resultFuture: ResultFuture<OUT>) => void);

export const DEFAULT_ASYNC_CAPACITY = 100;

function toAsyncFunction<IN, OUT>(fn: AsyncFn<IN, OUT>, what: string): AsyncFunction<IN, OUT> {
  if (typeof fn === "function") return { asyncInvoke: fn };
  if (typeof fn === "object" && fn !== null && typeof fn.asyncInvoke === "function") {
    if (fn.timeout !== undefined && typeof fn.timeout !== "function") {
      throw new InvalidArgumentError(
        `${what}: the AsyncFunction's timeout must be a method (input, resultFuture)`,
      );
    }
    return fn;
  }
  throw new InvalidArgumentError(
    `${what} needs an AsyncFunction: an object with asyncInvoke(input, resultFuture), or that function itself`,
  );
}

function add<IN, OUT>(
  mode: AsyncOutputMode,
  what: string,
  stream: DataStream<IN>,
  fn: AsyncFn<IN, OUT>,
  timeoutMs: number,
  capacity: number,
  retryStrategy: AsyncRetryStrategy<OUT> | undefined,
): SingleOutputStreamOperator<OUT> {
  const f = toAsyncFunction(fn, what);
  if (typeof stream !== "object" || stream === null || typeof stream.transform !== "function") {
    throw new InvalidArgumentError(`${what} needs a DataStream as its first argument`);
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new InvalidArgumentError(
      `${what}: timeout must be a number of ms >= 0 (0 = none), got ${timeoutMs}`,
    );
  }
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new InvalidArgumentError(`${what}: capacity must be a positive integer, got ${capacity}`);
  }
  if (
    retryStrategy !== undefined &&
    (typeof retryStrategy?.canRetry !== "function" ||
      typeof retryStrategy.getBackoffTimeMillis !== "function")
  ) {
    throw new InvalidArgumentError(
      `${what} needs a retry strategy such as AsyncRetryStrategies.fixedDelay(3, 100).ifException(RetryPredicates.HAS_EXCEPTION_PREDICATE).build()`,
    );
  }
  const options = {
    mode,
    timeoutMs,
    capacity,
    retryStrategy: retryStrategy as AsyncRetryStrategy<unknown> | undefined,
  };
  return stream.transform<OUT>(
    mode === "ordered" ? "Async Wait (ordered)" : "Async Wait (unordered)",
    () => new AsyncWaitOperator(f as AsyncFunction<unknown, unknown> & RichFunction, options),
    stream.env.genericType(),
  );
}

export const AsyncDataStream = {
  /** Results in the order of the input records; watermarks wait behind pending records. */
  orderedWait<IN, OUT>(
    stream: DataStream<IN>,
    fn: AsyncFn<IN, OUT>,
    timeoutMs: number,
    capacity = DEFAULT_ASYNC_CAPACITY,
  ): SingleOutputStreamOperator<OUT> {
    return add("ordered", "AsyncDataStream.orderedWait()", stream, fn, timeoutMs, capacity, undefined);
  },
  /** Results as requests complete; never across a watermark (records between two watermarks may reorder). */
  unorderedWait<IN, OUT>(
    stream: DataStream<IN>,
    fn: AsyncFn<IN, OUT>,
    timeoutMs: number,
    capacity = DEFAULT_ASYNC_CAPACITY,
  ): SingleOutputStreamOperator<OUT> {
    return add("unordered", "AsyncDataStream.unorderedWait()", stream, fn, timeoutMs, capacity, undefined);
  },
  orderedWaitWithRetry<IN, OUT>(
    stream: DataStream<IN>,
    fn: AsyncFn<IN, OUT>,
    timeoutMs: number,
    capacity: number,
    retryStrategy: AsyncRetryStrategy<OUT>,
  ): SingleOutputStreamOperator<OUT> {
    return add(
      "ordered",
      "AsyncDataStream.orderedWaitWithRetry()",
      stream,
      fn,
      timeoutMs,
      capacity,
      retryStrategy,
    );
  },
  unorderedWaitWithRetry<IN, OUT>(
    stream: DataStream<IN>,
    fn: AsyncFn<IN, OUT>,
    timeoutMs: number,
    capacity: number,
    retryStrategy: AsyncRetryStrategy<OUT>,
  ): SingleOutputStreamOperator<OUT> {
    return add(
      "unordered",
      "AsyncDataStream.unorderedWaitWithRetry()",
      stream,
      fn,
      timeoutMs,
      capacity,
      retryStrategy,
    );
  },
};
