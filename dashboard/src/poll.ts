// Live updates by polling: run a load every `intervalMs`, one at a time, keeping the last good
// result when a later one fails (a job whose process has ended still shows its last state).

import { useEffect, useRef, useState } from "preact/hooks";
import { TokenRequiredError } from "./api.ts";

export interface Polled<T> {
  data: T | undefined;
  /** The last failure, cleared by the next success. */
  error: Error | undefined;
  /** When `data` was loaded (ms since the epoch). */
  at: number;
}

export function usePoll<T>(
  load: () => Promise<T>,
  intervalMs: number,
  deps: readonly unknown[],
  onTokenRequired: () => void,
): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ data: undefined, error: undefined, at: 0 });
  const loadRef = useRef(load);
  loadRef.current = load;
  const intervalRef = useRef(intervalMs);
  intervalRef.current = intervalMs;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const data = await loadRef.current();
        if (!stopped) setState({ data, error: undefined, at: Date.now() });
      } catch (e) {
        if (stopped) return;
        if (e instanceof TokenRequiredError) onTokenRequired();
        setState((s) => ({ ...s, error: e instanceof Error ? e : new Error(String(e)) }));
      }
      if (!stopped) timer = setTimeout(tick, intervalRef.current);
    };
    void tick();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, deps);
  return state;
}
