/** A started deadline; dispose() once the check is over (clears the timer and the caller listener). */
export interface Deadline {
  dispose(): void;
}

const ONCE = { once: true } as const;

/**
 * One check's time budget (see startDeadline). An object that is its own abort listener
 * (handleEvent) and its timer's argument: this runs for every check of every service, and a
 * closure per callback was a good part of what a check allocated (ARCHITECTURE.md perf budget,
 * issue 16). Nothing stays registered on a long-lived caller signal afterwards.
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
    if (signal?.aborted) queueMicrotask(() => this.expire('aborted'));
    else signal?.addEventListener('abort', this, ONCE);
  }

  /** The caller's signal aborted. */
  handleEvent(): void {
    this.expire('aborted');
  }

  expire(reason: string): void {
    if (!this.live) return;
    this.dispose();
    this.onExpire(reason);
  }

  dispose(): void {
    this.live = false;
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
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
 */
export function startDeadline(timeoutMs: number, callerSignal: AbortSignal | undefined, onExpire: (reason: string) => void): Deadline {
  return new CheckDeadline(timeoutMs, callerSignal, onExpire);
}
