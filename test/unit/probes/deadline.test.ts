import { createHook } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineTimers, startDeadline } from '../../../src-main/core/probes/deadline.js';

/** How many Node timers `work` creates (it runs synchronously, so no other timer can be counted). */
function timersCreatedBy(work: () => void): number {
  let created = 0;
  const hook = createHook({ init: (_id, type) => void (type === 'Timeout' && created++) }).enable();
  try {
    work();
  } finally {
    hook.disable();
  }
  return created;
}

/** Timers that keep the process alive (ref'd), as Node counts them. */
const liveTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('startDeadline', () => {
  it('expires with "timeout after N ms" when the time runs out', async () => {
    const reason = await new Promise<string>((resolve) => startDeadline(20, undefined, resolve));
    expect(reason).toBe('timeout after 20 ms');
  });

  it('expires with "aborted" when the caller aborts first', async () => {
    const controller = new AbortController();
    const reason = new Promise<string>((resolve) => startDeadline(60_000, controller.signal, resolve));
    controller.abort();
    expect(await reason).toBe('aborted');
  });

  it('reports an already-aborted signal asynchronously, never from inside startDeadline', async () => {
    const reasons: string[] = [];
    startDeadline(60_000, AbortSignal.abort(), (r) => reasons.push(r));
    expect(reasons).toEqual([]);
    await Promise.resolve();
    expect(reasons).toEqual(['aborted']);
  });

  it('never fires after dispose(), even for an abort already queued', async () => {
    const reasons: string[] = [];
    startDeadline(60_000, AbortSignal.abort(), (r) => reasons.push(r)).dispose();
    const controller = new AbortController();
    startDeadline(60_000, controller.signal, (r) => reasons.push(r)).dispose();
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(reasons).toEqual([]);
  });
});

describe('startDeadline on a signal that serves check after check', () => {
  it('holds one abort listener on it, however many checks it serves, and aborts only the checks still running', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 100; i++) startDeadline(60_000, controller.signal, () => undefined).dispose();
    const reasons: string[] = [];
    const running = [1, 2, 3].map((n) => startDeadline(60_000, controller.signal, (r) => reasons.push(`${n}:${r}`)));
    startDeadline(60_000, controller.signal, (r) => reasons.push(`done:${r}`)).dispose();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect(reasons).toEqual(['1:aborted', '2:aborted', '3:aborted']);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    for (const d of running) d.dispose(); // after they expired: harmless
    // A deadline started on the aborted signal still learns it, asynchronously.
    startDeadline(60_000, controller.signal, (r) => reasons.push(`late:${r}`));
    await Promise.resolve();
    expect(reasons.at(-1)).toBe('late:aborted');
  });

  it('tells the running checks in the order they started, whichever of them ended before the abort', () => {
    const controller = new AbortController();
    const reasons: string[] = [];
    const started = [1, 2, 3, 4, 5].map((n) => startDeadline(60_000, controller.signal, (r) => reasons.push(`${n}:${r}`)));
    for (const ended of [0, 2, 4]) started[ended]!.dispose(); // the first, one between, the last
    const sixth = startDeadline(60_000, controller.signal, (r) => reasons.push(`6:${r}`));
    controller.abort();
    expect(reasons).toEqual(['2:aborted', '4:aborted', '6:aborted']);
    sixth.dispose();
  });

  it('lets one check give up on another of the same signal when it expires (the other is not told twice)', () => {
    const controller = new AbortController();
    const reasons: string[] = [];
    let second: { dispose(): void } | null = null;
    startDeadline(60_000, controller.signal, (r) => {
      reasons.push(`first:${r}`);
      second?.dispose();
    });
    second = startDeadline(60_000, controller.signal, (r) => reasons.push(`second:${r}`));
    controller.abort();
    expect(reasons).toEqual(['first:aborted']);
  });
});

describe('startDeadline when a caller throws', () => {
  it('still tells the other checks of the signal, and the error surfaces as uncaught', async () => {
    const controller = new AbortController();
    const reasons: string[] = [];
    startDeadline(60_000, controller.signal, () => {
      throw new Error('caller bug');
    });
    startDeadline(60_000, controller.signal, (r) => reasons.push(r));
    // Node reports a throwing abort listener as an uncaught exception on the next tick: caught
    // here for the test's length instead of by the runner's own handler.
    const errors: unknown[] = [];
    const saved = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (err) => errors.push(err));
    try {
      controller.abort();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const listener of saved) process.on('uncaughtException', listener);
    }
    expect(reasons).toEqual(['aborted']);
    expect(errors).toEqual([new Error('caller bug')]);
  });
});

describe('DeadlineTimers (a probe\'s deadlines, one timer reused check after check)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('creates one timer for 100 checks one after another, where startDeadline creates 100', () => {
    const pool = new DeadlineTimers(60_000);
    const controller = new AbortController();
    expect(timersCreatedBy(() => {
      for (let i = 0; i < 100; i++) pool.start(controller.signal, () => undefined).dispose();
    })).toBe(1);
    expect(timersCreatedBy(() => {
      for (let i = 0; i < 100; i++) startDeadline(60_000, controller.signal, () => undefined).dispose();
    })).toBe(100);
    pool.close();
  });

  it('creates a timer per overlapping check and reuses them all afterwards', () => {
    const pool = new DeadlineTimers(60_000);
    const two = (): void => {
      const running = [pool.start(undefined, () => undefined), pool.start(undefined, () => undefined)];
      for (const d of running) d.dispose();
    };
    expect(timersCreatedBy(two)).toBe(2);
    expect(timersCreatedBy(two)).toBe(0);
    pool.close();
  });

  it('keeps the process alive while a check runs, and not while its timer waits idle', () => {
    const pool = new DeadlineTimers(60_000);
    const before = liveTimers();
    const first = pool.start(undefined, () => undefined);
    expect(liveTimers()).toBe(before + 1);
    first.dispose();
    expect(liveTimers()).toBe(before);
    const second = pool.start(undefined, () => undefined);
    expect(liveTimers()).toBe(before + 1);
    second.dispose();
    second.dispose(); // twice: harmless, and the timer is not pooled twice
    expect(timersCreatedBy(() => [pool.start(undefined, () => undefined), pool.start(undefined, () => undefined)].forEach((d) => d.dispose()))).toBe(1);
    pool.close();
    expect(liveTimers()).toBe(before);
  });

  it('gives a reused timer the whole length again, from its new start', () => {
    vi.useFakeTimers();
    const pool = new DeadlineTimers(50);
    const reasons: string[] = [];
    pool.start(undefined, () => undefined).dispose(); // at 0: its timer, now idle, was due at 50
    vi.advanceTimersByTime(40);
    pool.start(undefined, (r) => reasons.push(r)); // reuses it: due at 90
    vi.advanceTimersByTime(49);
    expect(reasons).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reasons).toEqual(['timeout after 50 ms']);
    pool.close();
  });

  it('re-arms a real Node timer that has already fired (a check that timed out) for the next check', async () => {
    const pool = new DeadlineTimers(10);
    const expired = (): Promise<string> => new Promise((resolve) => pool.start(undefined, resolve));
    expect(await expired()).toBe('timeout after 10 ms');
    // (Node gives the re-armed timer a new async id, so a hook would count it; it is the same Timeout.)
    expect(await expired()).toBe('timeout after 10 ms');
    pool.close();
  });

  it('re-arms the very timer that is firing when the next check starts from inside an expiry (a queued check)', async () => {
    const pool = new DeadlineTimers(10);
    const reasons: string[] = [];
    const second = new Promise<void>((resolve) => {
      pool.start(undefined, (r) => {
        reasons.push(`first:${r}`);
        // The first one's timer is idle again by now: the second takes it, inside its callback.
        expect(timersCreatedBy(() => pool.start(undefined, (r2) => (reasons.push(`second:${r2}`), resolve())))).toBe(0);
      });
    });
    await second;
    expect(reasons).toEqual(['first:timeout after 10 ms', 'second:timeout after 10 ms']);
    pool.close();
  });

  it('does nothing when an idle timer runs out, and re-arms it for the next check', () => {
    vi.useFakeTimers();
    const pool = new DeadlineTimers(50);
    const reasons: string[] = [];
    pool.start(undefined, (r) => reasons.push(`done:${r}`)).dispose();
    vi.advanceTimersByTime(200);
    expect(reasons).toEqual([]);
    pool.start(undefined, (r) => reasons.push(`next:${r}`));
    vi.advanceTimersByTime(49);
    expect(reasons).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reasons).toEqual(['next:timeout after 50 ms']);
    // Its expiry gave the timer back: the check after reuses it.
    expect(vi.getTimerCount()).toBe(0);
    pool.start(undefined, () => undefined).dispose();
    expect(vi.getTimerCount()).toBe(1);
    pool.close();
  });

  it('stops keeping timers while checks come further apart than the deadline (the defaults: 15 s and 5 s), and keeps them again once they come closer', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const pool = new DeadlineTimers(50);
    const reasons: string[] = [];
    pool.start(undefined, () => undefined).dispose(); // at 0: kept, due at 50
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(60); // it ran out idle: a wake-up for nothing
    expect(vi.getTimerCount()).toBe(0);
    // From now on each check's timer goes with it: nothing is left to wake the process.
    const sparse = pool.start(undefined, (r) => reasons.push(`sparse:${r}`));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(50);
    expect(reasons).toEqual(['sparse:timeout after 50 ms']);
    sparse.dispose();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    pool.start(undefined, () => undefined).dispose(); // 100 ms after the last one ended: still sparse
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10);
    pool.start(undefined, () => undefined).dispose(); // 10 ms after: close again, its timer is kept
    expect(vi.getTimerCount()).toBe(1);
    const reusing = pool.start(undefined, () => undefined);
    expect(vi.getTimerCount()).toBe(1); // the kept one, not a second
    reusing.dispose();
    pool.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('returns a timer to the pool when the caller aborts, and close() clears the idle ones; later deadlines clear their own', () => {
    vi.useFakeTimers();
    const pool = new DeadlineTimers(50);
    const controller = new AbortController();
    const reasons: string[] = [];
    pool.start(controller.signal, (r) => reasons.push(`aborted:${r}`));
    controller.abort();
    expect(reasons).toEqual(['aborted:aborted']);
    const running = pool.start(undefined, (r) => reasons.push(`running:${r}`));
    pool.start(undefined, () => undefined).dispose();
    expect(vi.getTimerCount()).toBe(2);
    pool.close();
    expect(vi.getTimerCount()).toBe(1); // the idle one is cleared; the running one still ends on time
    vi.advanceTimersByTime(50);
    expect(reasons.at(-1)).toBe('running:timeout after 50 ms');
    running.dispose();
    const late = pool.start(undefined, (r) => reasons.push(`late:${r}`));
    vi.advanceTimersByTime(50);
    expect(reasons.at(-1)).toBe('late:timeout after 50 ms');
    late.dispose();
    pool.start(undefined, () => undefined).dispose();
    expect(vi.getTimerCount()).toBe(0);
  });
});
