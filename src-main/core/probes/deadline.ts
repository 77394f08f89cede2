/** A started deadline; dispose() once the check is over (clears its timer; the caller's signal no longer ends it). */
export interface Deadline {
  dispose(): void;
}

const ONCE = { once: true } as const;

/**
 * The deadlines live on each caller signal. A signal gets one abort listener, the first time a
 * deadline sees it, however many checks it then serves: a monitor passes the same signal to
 * probe after probe, and registering and removing an EventTarget listener per check was a tenth
 * of what a check allocated (issue 16). Nothing builds up on a long-lived signal: its list holds
 * only the checks still running, and the entry goes with the signal. A list linked through the
 * deadlines themselves, not a Set: a Set that a check joins and leaves reallocates its table as
 * it grows to one entry and shrinks back to none (a twentieth of a check's allocation).
 */
const bySignal = new WeakMap<AbortSignal, SignalDeadlines>();

/** The checks still running on one caller signal, oldest first. */
interface SignalDeadlines {
  first: CheckDeadline | null;
  last: CheckDeadline | null;
}

function onCallerAbort(event: Event): void {
  const signal = event.target as AbortSignal;
  const running: CheckDeadline[] = [];
  for (let d = bySignal.get(signal)?.first ?? null; d; d = d.next) running.push(d);
  bySignal.delete(signal);
  let failure: { err: unknown } | null = null;
  // One disposed by another's onExpire meanwhile is not told (expire() does nothing once disposed).
  for (const deadline of running) {
    try {
      deadline.expire('aborted');
    } catch (err) {
      // One caller's bug must not leave the others to their timeout; it still surfaces.
      failure ??= { err };
    }
  }
  if (failure) throw failure.err;
}

/** A timer and the deadline it serves now (null: idle); a DeadlineTimers keeps the idle ones to reuse. */
class TimerSlot {
  readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    public owner: CheckDeadline | null,
    timeoutMs: number,
    readonly pool: TimerPool | null,
  ) {
    this.timer = setTimeout(onTimer, timeoutMs, this);
  }
}

/**
 * One check's time budget (see startDeadline and DeadlineTimers): its slot is its timer's
 * argument, so no closure is made per check (this runs for every check of every service;
 * ARCHITECTURE.md perf budget, issue 16).
 */
class CheckDeadline implements Deadline {
  private live = true;
  private readonly slot: TimerSlot;
  /** Its place among its signal's running checks (see bySignal). */
  private list: SignalDeadlines | null = null;
  private prev: CheckDeadline | null = null;
  next: CheckDeadline | null = null;

  constructor(
    readonly timeoutMs: number,
    signal: AbortSignal | undefined,
    private readonly onExpire: (reason: string) => void,
    pool: TimerPool | null,
  ) {
    this.slot = pool?.take(this) ?? new TimerSlot(this, timeoutMs, pool);
    // Never synchronously: callers may still be setting up what onExpire touches.
    if (!signal) return;
    if (signal.aborted) {
      queueMicrotask(() => this.expire('aborted'));
      return;
    }
    let list = bySignal.get(signal);
    if (!list) {
      list = { first: null, last: null };
      bySignal.set(signal, list);
      signal.addEventListener('abort', onCallerAbort, ONCE);
    }
    this.list = list;
    this.prev = list.last;
    if (list.last) list.last.next = this;
    else list.first = this;
    list.last = this;
  }

  expire(reason: string): void {
    if (!this.live) return;
    this.dispose();
    this.onExpire(reason);
  }

  dispose(): void {
    if (!this.live) return;
    this.live = false;
    this.slot.owner = null;
    if (this.slot.pool) this.slot.pool.give(this.slot);
    else clearTimeout(this.slot.timer);
    const list = this.list;
    if (!list) return;
    if (this.prev) this.prev.next = this.next;
    else list.first = this.next;
    if (this.next) this.next.prev = this.prev;
    else list.last = this.prev;
    this.list = this.prev = this.next = null;
  }
}

function onTimer(slot: TimerSlot): void {
  const deadline = slot.owner;
  if (deadline) deadline.expire(`timeout after ${deadline.timeoutMs} ms`);
  else slot.pool?.ranOutIdle(slot);
}

/**
 * The idle timers of one DeadlineTimers. Kept only while checks come closer together than the
 * deadline's length: an idle timer that runs out has woken the process for nothing (checks every
 * 15 s with a 5 s deadline, the defaults), so from then on a deadline that ends clears its timer,
 * as startDeadline's do, until a check starts within the length of the last one's end again.
 */
class TimerPool {
  private readonly idle: TimerSlot[] = [];
  private closed = false;
  /**
   * Null while checks come closer together than the length (timers are kept). Otherwise when the
   * last deadline ended (performance.now()), or -Infinity until one has since they drew apart.
   */
  private sparseEnd: number | null = null;

  constructor(readonly timeoutMs: number) {}

  /** An idle slot re-armed for `owner`, or null when none is idle. */
  take(owner: CheckDeadline): TimerSlot | null {
    if (this.sparseEnd !== null) {
      if (performance.now() - this.sparseEnd < this.timeoutMs) this.sparseEnd = null;
      return null;
    }
    const slot = this.idle.pop();
    if (!slot) return null;
    slot.owner = owner;
    // A running check keeps the process alive, as a fresh setTimeout would.
    slot.timer.ref().refresh();
    return slot;
  }

  /** A slot whose deadline ended. */
  give(slot: TimerSlot): void {
    if (this.closed || this.sparseEnd !== null) {
      clearTimeout(slot.timer);
      if (this.sparseEnd !== null) this.sparseEnd = performance.now();
      return;
    }
    slot.timer.unref();
    this.idle.push(slot);
  }

  /** An idle slot's timer ran out before a check took it (it is in `idle`: a slot given back otherwise was cleared). */
  ranOutIdle(slot: TimerSlot): void {
    this.idle.splice(this.idle.indexOf(slot), 1);
    this.sparseEnd = -Infinity;
  }

  /** Clears the idle timers; slots given back later are cleared at once. */
  close(): void {
    this.closed = true;
    for (const slot of this.idle.splice(0)) clearTimeout(slot.timer);
  }
}

/**
 * Deadlines of one length for one probe, whose timers are reused: a deadline that ends leaves
 * its timer armed but unref'd (so it keeps nothing alive), and the next one re-arms it with
 * refresh(), while checks come sooner than the deadline's length (see TimerPool). A timer per
 * check had cost a Timeout and an async id each time, and Node's list for that duration was
 * deleted and rebuilt every second once it emptied (about a tenth of a check's allocation at
 * 200 services, issue 16). Checks that overlap (one waiting behind another) each hold a timer,
 * so the pool is as large as the most that ever overlapped.
 */
export class DeadlineTimers {
  private readonly pool: TimerPool;

  constructor(timeoutMs: number) {
    this.pool = new TimerPool(timeoutMs);
  }

  /** As startDeadline, with this pool's length. */
  start(callerSignal: AbortSignal | undefined, onExpire: (reason: string) => void): Deadline {
    return new CheckDeadline(this.pool.timeoutMs, callerSignal, onExpire, this.pool);
  }

  /** Clears the idle timers; deadlines started or ending later clear their own (as startDeadline's). */
  close(): void {
    this.pool.close();
  }
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
  return new CheckDeadline(timeoutMs, callerSignal, onExpire, null);
}
