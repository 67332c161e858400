// Processing time: the system clock, or a manual clock that tests advance by hand.

export interface Clock {
  now(): number;
  /** Called when a manual clock moves, so that sleeping executors re-check their timers. */
  onAdvance?(listener: () => void): () => void;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to; for tests of processing-time behaviour. */
export class ManualClock implements Clock {
  private time: number;
  private readonly listeners = new Set<() => void>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    this.setTime(this.time + ms);
  }

  setTime(time: number): void {
    if (time < this.time) throw new RangeError(`a clock does not go backwards (${time} < ${this.time})`);
    this.time = time;
    for (const l of this.listeners) l();
  }

  onAdvance(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
