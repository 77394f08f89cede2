/** A started deadline; dispose() once the check is over (clears the timer and the caller listener). */
export interface Deadline {
  dispose(): void;
}

/**
 * Starts one check's time budget: calls `onExpire("timeout after N ms")` when `timeoutMs` runs
 * out, or `onExpire("aborted")` when the caller's signal aborts (at once if it already has),
 * whichever comes first, never synchronously and never after dispose(). A timer and a callback rather than an
 * AbortController: this runs for every check of every service (ARCHITECTURE.md perf budget), and
 * nothing stays registered on a long-lived caller signal afterwards.
 */
export function startDeadline(timeoutMs: number, callerSignal: AbortSignal | undefined, onExpire: (reason: string) => void): Deadline {
  let live = true;
  const expire = (reason: string): void => {
    if (!live) return;
    dispose();
    onExpire(reason);
  };
  const onCallerAbort = (): void => expire('aborted');
  const timer = setTimeout(expire, timeoutMs, `timeout after ${timeoutMs} ms`);
  function dispose(): void {
    live = false;
    clearTimeout(timer);
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }
  // Never synchronously: callers may still be setting up what onExpire touches.
  if (callerSignal?.aborted) queueMicrotask(onCallerAbort);
  else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  return { dispose };
}
