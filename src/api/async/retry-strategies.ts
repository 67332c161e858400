// Retry strategies for Async I/O (Flink's AsyncRetryStrategies and RetryPredicates): fixed delay
// and exponential backoff, each with a maximum number of retries and the results / errors that
// trigger a retry.

import { InvalidArgumentError } from "../../core/errors.ts";
import type { AsyncRetryStrategy } from "../../runtime/operators/async/async-function.ts";

export type { AsyncRetryStrategy };

type ResultPredicate<OUT> = (values: readonly OUT[]) => boolean;
type ExceptionPredicate = (error: unknown) => boolean;

/** Ready-made predicates for `ifResult` / `ifException`. */
export const RetryPredicates = {
  /** Retry when the request completed with no results. */
  EMPTY_RESULT_PREDICATE: (values: readonly unknown[]): boolean => values.length === 0,
  /** Retry on every error. */
  HAS_EXCEPTION_PREDICATE: (_error: unknown): boolean => true,
} as const;

class Strategy<OUT> implements AsyncRetryStrategy<OUT> {
  constructor(
    private readonly maxAttempts: number,
    private readonly delay: (currentAttempts: number) => number,
    readonly resultPredicate: ResultPredicate<OUT> | undefined,
    readonly exceptionPredicate: ExceptionPredicate | undefined,
  ) {}
  canRetry(currentAttempts: number): boolean {
    return currentAttempts <= this.maxAttempts;
  }
  getBackoffTimeMillis(currentAttempts: number): number {
    return this.delay(currentAttempts);
  }
}

abstract class StrategyBuilder<OUT> {
  protected resultPredicate: ResultPredicate<OUT> | undefined;
  protected exceptionPredicate: ExceptionPredicate | undefined;
  constructor(protected readonly maxAttempts: number) {
    checkCount(maxAttempts, "maxAttempts");
  }
  /** Retry when a completed result matches, e.g. RetryPredicates.EMPTY_RESULT_PREDICATE. */
  ifResult(predicate: ResultPredicate<OUT>): this {
    if (typeof predicate !== "function")
      throw new InvalidArgumentError("ifResult() needs a function (results) => boolean");
    this.resultPredicate = predicate;
    return this;
  }
  /** Retry when the request failed with a matching error, e.g. RetryPredicates.HAS_EXCEPTION_PREDICATE. */
  ifException(predicate: ExceptionPredicate): this {
    if (typeof predicate !== "function")
      throw new InvalidArgumentError("ifException() needs a function (error) => boolean");
    this.exceptionPredicate = predicate;
    return this;
  }
  abstract build(): AsyncRetryStrategy<OUT>;
}

export class FixedDelayRetryStrategyBuilder<OUT> extends StrategyBuilder<OUT> {
  constructor(
    maxAttempts: number,
    private readonly delayMs: number,
  ) {
    super(maxAttempts);
    checkDelay(delayMs, "delay");
  }
  build(): AsyncRetryStrategy<OUT> {
    const d = this.delayMs;
    return new Strategy<OUT>(this.maxAttempts, () => d, this.resultPredicate, this.exceptionPredicate);
  }
}

export class ExponentialBackoffDelayRetryStrategyBuilder<OUT> extends StrategyBuilder<OUT> {
  constructor(
    maxAttempts: number,
    private readonly initialDelayMs: number,
    private readonly maxDelayMs: number,
    private readonly multiplier: number,
  ) {
    super(maxAttempts);
    checkDelay(initialDelayMs, "initialDelay");
    checkDelay(maxDelayMs, "maxRetryDelay");
    if (maxDelayMs < initialDelayMs) {
      throw new InvalidArgumentError(
        `exponential backoff: maxRetryDelay (${maxDelayMs} ms) must be >= initialDelay (${initialDelayMs} ms)`,
      );
    }
    if (!Number.isFinite(multiplier) || multiplier < 1) {
      throw new InvalidArgumentError(`exponential backoff: multiplier must be >= 1, got ${multiplier}`);
    }
  }
  build(): AsyncRetryStrategy<OUT> {
    const { initialDelayMs, maxDelayMs, multiplier } = this;
    return new Strategy<OUT>(
      this.maxAttempts,
      (n) => Math.min(maxDelayMs, initialDelayMs * multiplier ** Math.max(0, n - 1)),
      this.resultPredicate,
      this.exceptionPredicate,
    );
  }
}

/**
 * `maxAttempts` is the number of retries (as in Flink): a record is tried at most 1 + maxAttempts
 * times. When the last attempt still matches a predicate, its outcome stands: an error fails the
 * job, a result is emitted. The operator's timeout covers all attempts of a record.
 */
export const AsyncRetryStrategies = {
  /** Never retry. */
  NO_RETRY_STRATEGY: new Strategy<never>(0, () => 0, undefined, undefined) as AsyncRetryStrategy<never>,
  /** Retry after the same delay every time. */
  fixedDelay<OUT>(maxAttempts: number, delayMs: number): FixedDelayRetryStrategyBuilder<OUT> {
    return new FixedDelayRetryStrategyBuilder<OUT>(maxAttempts, delayMs);
  },
  /** Retry after initialDelay, then initialDelay·multiplier, ... up to maxRetryDelay. */
  exponentialBackoff<OUT>(
    maxAttempts: number,
    initialDelayMs: number,
    maxRetryDelayMs: number,
    multiplier: number,
  ): ExponentialBackoffDelayRetryStrategyBuilder<OUT> {
    return new ExponentialBackoffDelayRetryStrategyBuilder<OUT>(
      maxAttempts,
      initialDelayMs,
      maxRetryDelayMs,
      multiplier,
    );
  },
};

function checkCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`${what} must be an integer >= 0, got ${n}`);
}

function checkDelay(ms: number, what: string): void {
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`${what} must be >= 0 ms, got ${ms}`);
}
