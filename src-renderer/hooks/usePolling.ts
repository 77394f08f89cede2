import { useEffect, useRef } from 'react';

/**
 * Call `fn` now and then every `intervalMs` while mounted (and again whenever `key` changes).
 * The latest `fn` is always the one called, so callers need not memoise it.
 */
export function usePolling(fn: () => void, intervalMs: number, key: unknown = null): void {
  const latest = useRef(fn);
  useEffect(() => {
    latest.current = fn;
  });
  useEffect(() => {
    latest.current();
    const t = setInterval(() => latest.current(), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs, key]);
}
