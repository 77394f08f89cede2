/** A started deadline; dispose() once the check is over (clears its timer; the caller's signal no longer ends it). */
export interface Deadline {
  dispose(): void;
}

const ONCE = { once: true } as const;

/**
 * The deadlines live on each caller signal. A signal gets one abort listener, the first time a
 * deadline sees it, however many checks it then serves: a monitor passes the same signal to
 * probe after probe, and registering and removing an EventTarget listener per check was a tenth
 * of what a check allocated (issue 16). Nothing builds up on a long-lived signal: its set holds
 * only the checks still running, and the entry goes with the signal.
 */
const bySignal = new WeakMap<AbortSignal, Set<CheckDeadline>>();

function onCallerAbort(event: Event): void {
  const signal = event.target as AbortSignal;
  const deadlines = bySignal.get(signal);
  bySignal.delete(signal);
  let failure: { err: unknown } | null = null;
  // One disposed by another's onExpire meanwhile is not told (expire() does nothing once disposed).
  for (const deadline of deadlines ?? []) {
    try {
      deadline.expire('aborted');
    } catch (err) {
      // One caller's bug must not leave the others to their timeout; it still surfaces.
      failure ??= { err };
    }
  }
  if (failure) throw failure.err;
}

/**
 * One check's time budget (see startDeadline): its timer's argument, so no closure is made per
 * check (this runs for every check of every service; ARCHITECTURE.md perf budget, issue 16).
 */
class CheckDeadline implements Deadline {
  private live = true;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly onExpire: (reason: string) => void,
  ) {
    this.timer = setTimeout(onTimer, timeoutMs, this);
    // Never synchronously: callers may still be setting up what onExpire touches.
    if (!signal) return;
    if (signal.aborted) {
      queueMicrotask(() => this.expire('aborted'));
      return;
    }
    let deadlines = bySignal.get(signal);
    if (!deadlines) {
      deadlines = new Set();
      bySignal.set(signal, deadlines);
      signal.addEventListener('abort', onCallerAbort, ONCE);
    }
    deadlines.add(this);
  }

  expire(reason: string): void {
    if (!this.live) return;
    this.dispose();
    this.onExpire(reason);
  }

  dispose(): void {
    this.live = false;
    clearTimeout(this.timer);
    if (this.signal) bySignal.get(this.signal)?.delete(this);
  }
}

function onTimer(deadline: CheckDeadline): void {
  deadline.expire(`timeout after ${deadline.timeoutMs} ms`);
}

/**
 * Starts one check's time budget: calls `onExpire("timeout after N ms")` when `timeoutMs` runs
 * out, or `onExpire("aborted")` when the caller's signal aborts (at once if it already has),
 * whichever comes first, never synchronously and never after dispose(). A timer and a callback
 * rather than an AbortController: cheaper, and the caller decides what giving up means.
 * `callerSignal` should be a plain AbortController's: it keeps one listener until it aborts, and a
 * signal Node keeps alive while it has listeners (AbortSignal.timeout()'s) would stay until it fires.
 */
export function startDeadline(timeoutMs: number, callerSignal: AbortSignal | undefined, onExpire: (reason: string) => void): Deadline {
  return new CheckDeadline(timeoutMs, callerSignal, onExpire);
}
