// The contract of Async I/O as the runtime calls it: the user's AsyncFunction, the ResultFuture
// it completes, and the retry strategy. User-facing builders live in src/api/async.

import type { RichFunction } from "../../../core/functions.ts";

/** Completes one async request: exactly once; later calls (after a timeout, say) are ignored. */
export interface ResultFuture<OUT> {
  /** The request's results (zero or more records), emitted with the input's timestamp. */
  complete(values: Iterable<OUT>): void;
  /** The request failed: the job fails (unless the retry strategy retries it). */
  completeExceptionally(error: unknown): void;
}

/**
 * A function that starts an asynchronous request per input record and completes its ResultFuture
 * later (from a promise callback, a client's callback...). asyncInvoke must return promptly: it
 * runs in the task's thread. A synchronous throw or a rejected returned promise counts as
 * `completeExceptionally`.
 */
export interface AsyncFunction<IN, OUT> extends RichFunction {
  asyncInvoke(input: IN, resultFuture: ResultFuture<OUT>): void | Promise<void>;
  /**
   * The request did not complete within the timeout. Complete the future here (a fallback value,
   * or an error). Without this method, a timeout fails the job with an AsyncTimeoutError.
   */
  timeout?(input: IN, resultFuture: ResultFuture<OUT>): void;
}

/** When and how often a request is tried again (see AsyncRetryStrategies). */
export interface AsyncRetryStrategy<OUT> {
  /** Whether a retry may follow attempt number `currentAttempts` (the first call is attempt 1). */
  canRetry(currentAttempts: number): boolean;
  /** The delay before the retry that follows attempt number `currentAttempts`. */
  getBackoffTimeMillis(currentAttempts: number): number;
  /** Retry when a completed result matches (e.g. an empty result); undefined = never on results. */
  readonly resultPredicate: ((values: readonly OUT[]) => boolean) | undefined;
  /** Retry when the request failed with a matching error; undefined = never on errors. */
  readonly exceptionPredicate: ((error: unknown) => boolean) | undefined;
}

export type AsyncOutputMode = "ordered" | "unordered";
