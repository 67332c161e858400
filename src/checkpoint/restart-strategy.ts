// Restart strategies: whether, and after how long, a failed job restarts from its latest
// completed checkpoint. The exponential one (the default of a checkpointing job, as in Flink 1.19)
// has Flink's defaults: 1 s initial delay, ×1.5 per failure up to 1 min, ±10% jitter, and the
// delay starts over after an hour without a failure.

import { InvalidArgumentError } from "../core/errors.ts";

export type RestartStrategyConfig =
  | { kind: "none" }
  | { kind: "fixed-delay"; attempts: number; delayMs: number }
  | {
      kind: "exponential-delay";
      initialDelayMs: number;
      maxDelayMs: number;
      multiplier: number;
      /** After this long without a failure, the delay starts over at the initial value. */
      resetThresholdMs: number;
      /** 0..1: each delay is randomised by up to ±jitter of itself. */
      jitter: number;
      attempts: number;
    }
  | { kind: "failure-rate"; maxFailures: number; intervalMs: number; delayMs: number };

export const RestartStrategies = {
  noRestart(): RestartStrategyConfig {
    return { kind: "none" };
  },
  fixedDelay(attempts: number, delayMs: number): RestartStrategyConfig {
    check(
      attempts >= 0 && (Number.isInteger(attempts) || attempts === Number.POSITIVE_INFINITY),
      "attempts must be an integer >= 0",
    );
    check(delayMs >= 0, "delay must be >= 0 ms");
    return { kind: "fixed-delay", attempts, delayMs };
  },
  /** Unlimited restarts whose delay grows after each failure (defaults: Flink 1.19's). */
  exponentialDelay(
    options: {
      initialDelayMs?: number;
      maxDelayMs?: number;
      multiplier?: number;
      resetThresholdMs?: number;
      jitter?: number;
      attempts?: number;
    } = {},
  ): RestartStrategyConfig {
    const c = {
      kind: "exponential-delay" as const,
      initialDelayMs: options.initialDelayMs ?? 1000,
      maxDelayMs: options.maxDelayMs ?? 60_000,
      multiplier: options.multiplier ?? 1.5,
      resetThresholdMs: options.resetThresholdMs ?? 3_600_000,
      jitter: options.jitter ?? 0.1,
      attempts: options.attempts ?? Number.POSITIVE_INFINITY,
    };
    check(
      c.initialDelayMs >= 0 && c.maxDelayMs >= c.initialDelayMs,
      "need 0 <= initialDelayMs <= maxDelayMs",
    );
    check(c.multiplier >= 1, "multiplier must be >= 1");
    check(c.jitter >= 0 && c.jitter <= 1, "jitter must be in 0..1");
    return c;
  },
  failureRate(maxFailures: number, intervalMs: number, delayMs: number): RestartStrategyConfig {
    check(Number.isInteger(maxFailures) && maxFailures >= 1, "maxFailures must be an integer >= 1");
    check(intervalMs > 0 && delayMs >= 0, "interval must be > 0 ms and delay >= 0 ms");
    return { kind: "failure-rate", maxFailures, intervalMs, delayMs };
  },
};

function check(ok: boolean, what: string): void {
  if (!ok) throw new InvalidArgumentError(`restart strategy: ${what}`);
}

/** Decides, failure after failure, whether to restart and after which delay. */
export class RestartBackoff {
  private failures: number[] = [];
  private attempts = 0;
  private delay: number;
  private lastFailure = 0;

  constructor(
    private readonly config: RestartStrategyConfig,
    private readonly random: () => number = Math.random,
  ) {
    this.delay = config.kind === "exponential-delay" ? config.initialDelayMs : 0;
  }

  /** Record a failure now; returns the delay before restarting, or undefined for "do not restart". */
  onFailure(now = Date.now()): number | undefined {
    const c = this.config;
    switch (c.kind) {
      case "none":
        return undefined;
      case "fixed-delay":
        if (this.attempts >= c.attempts) return undefined;
        this.attempts++;
        return c.delayMs;
      case "exponential-delay": {
        if (this.lastFailure > 0 && now - this.lastFailure >= c.resetThresholdMs) {
          this.delay = c.initialDelayMs;
          this.attempts = 0;
        }
        this.lastFailure = now;
        if (this.attempts >= c.attempts) return undefined;
        this.attempts++;
        const base = this.delay;
        this.delay = Math.min(c.maxDelayMs, Math.max(1, this.delay) * c.multiplier);
        const jitter = base * c.jitter * (2 * this.random() - 1);
        return Math.max(0, Math.round(base + jitter));
      }
      case "failure-rate":
        this.failures = this.failures.filter((t) => now - t < c.intervalMs);
        this.failures.push(now);
        if (this.failures.length > c.maxFailures) return undefined;
        return c.delayMs;
    }
  }
}
