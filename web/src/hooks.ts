/** Small React hooks the views share: polling a loader, a ticking clock, hash routes. */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Polled<T> {
  data: T | null;
  error: string | null;
  /** Loads again now (after an action). */
  reload: () => void;
}

/**
 * Calls `load` now and every `intervalMs` milliseconds while mounted (and when `key` changes);
 * a failed load keeps the last data and reports its message.
 */
export function usePolling<T>(load: () => Promise<T>, intervalMs: number, key: string): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    const run = (): void => {
      loadRef.current().then(
        (d) => {
          if (!live) return;
          setData(d);
          setError(null);
        },
        (e: unknown) => {
          if (live) setError(e instanceof Error ? e.message : String(e));
        },
      );
    };
    run();
    const id = setInterval(run, intervalMs);
    return () => {
      live = false;
      clearInterval(id);
    };
  }, [intervalMs, key, tick]);
  return { data, error, reload };
}

/** The wall clock in ms, re-rendering every `everyMs` (for "time in activity" and waits). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}

/** The route in the location hash (`#/supervisor` → `supervisor`). */
export function useRoute(fallback: string): [string, (route: string) => void] {
  const read = (): string => location.hash.replace(/^#\/?/, '') || fallback;
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = (): void => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  });
  return [route, (r) => (location.hash = `#/${r}`)];
}

/** Seconds as `m:ss` or `h:mm:ss`. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
