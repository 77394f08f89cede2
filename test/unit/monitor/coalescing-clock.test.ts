import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src-main/core/monitor/clock.js';
import { CoalescingClock } from '../../../src-main/core/monitor/coalescing-clock.js';

/** A clock the test moves; counts the timers set on it (what would wake the event loop). */
class ManualClock implements Clock {
  time = 0;
  armed = 0;
  /** When the timer running now fired, and how many have fired. */
  firedAt = -1;
  fired = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.time + ms, fn });
    this.armed++;
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Runs every timer due by `to`, in time order, the clock set to each one's time (the first `early` ms before it). */
  advance(to: number, early = 0): void {
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= to).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = Math.max(this.time, due[1].at - early);
      early = 0; // only the first one fires early
      this.firedAt = this.time;
      this.fired++;
      due[1].fn();
    }
    this.time = Math.max(this.time, to); // callbacks may have taken the time past it
  }
}

describe('CoalescingClock', () => {
  it('runs timers due in the same slot on one timer underneath, at the end of the slot', () => {
    const base = new ManualClock();
    const clock = new CoalescingClock(base, 20);
    const ran: [string, number][] = [];
    base.time = 1003;
    for (const [name, ms] of [['a', 1000], ['b', 1005], ['c', 1017], ['d', 1030]] as const) clock.setTimeout(() => ran.push([name, base.now()]), ms);
    expect(base.armed).toBe(2); // slots 2020 and 2040
    base.advance(3000);
    expect(ran).toEqual([['a', 2020], ['b', 2020], ['c', 2020], ['d', 2040]]);
  });

  it('never runs a timer early, even when the timer underneath fires early', () => {
    const base = new ManualClock();
    const clock = new CoalescingClock(base, 20);
    let ranAt = -1;
    clock.setTimeout(() => (ranAt = base.now()), 15);
    base.advance(100, 1); // fires 1 ms before its time: re-armed for the rest
    expect(ranAt).toBe(20);
  });

  it('clears one timer without the others of its slot, and the slot timer with its last one', () => {
    const base = new ManualClock();
    const clock = new CoalescingClock(base, 20);
    const ran: string[] = [];
    const a = clock.setTimeout(() => ran.push('a'), 5);
    const b = clock.setTimeout(() => ran.push('b'), 6);
    clock.clearTimeout(a);
    clock.clearTimeout(a); // twice is harmless
    clock.clearTimeout(null);
    expect(base.pending).toBe(1);
    clock.clearTimeout(b);
    expect(base.pending).toBe(0);
    const c = clock.setTimeout(() => ran.push('c'), 5);
    base.advance(100);
    clock.clearTimeout(c); // after it ran: nothing
    expect(ran).toEqual(['c']);
  });

  it('lets a timer clear a later one of its slot and set new ones, and runs the others when one throws', () => {
    const base = new ManualClock();
    const clock = new CoalescingClock(base, 20);
    const ran: string[] = [];
    let second: unknown = null;
    clock.setTimeout(() => {
      ran.push('first');
      clock.clearTimeout(second);
      clock.setTimeout(() => ran.push('again'), 0);
      throw new Error('boom');
    }, 1);
    second = clock.setTimeout(() => ran.push('second'), 2);
    clock.setTimeout(() => ran.push('third'), 3);
    expect(() => base.advance(20)).toThrow('boom');
    expect(ran).toEqual(['first', 'third']);
    base.advance(40);
    expect(ran).toEqual(['first', 'third', 'again']);
  });

  it('gives every callback of a slot the slot time, so timers set from it stay together however long the callbacks take', () => {
    const base = new ManualClock();
    const clock = new CoalescingClock(base, 10);
    const seen: number[] = [];
    // 50 services probed every second, each probe taking 0.4 ms of the loop: without one time for the
    // slot, the later ones would be due past the slot edge and drift into slots of their own.
    const probe = () => {
      seen.push(clock.now());
      base.time += 0.4;
      clock.setTimeout(probe, 1000);
    };
    base.time = 3;
    for (let i = 0; i < 50; i++) clock.setTimeout(probe, 0);
    base.advance(20_500);
    expect(seen).toHaveLength(50 * 21);
    expect(new Set(seen)).toEqual(new Set(Array.from({ length: 21 }, (_, k) => 10 + 1000 * k)));
    expect(base.armed).toBe(22); // one timer underneath per second (and the next one's), not one per service
  });

  it('never tells a time earlier than one it told before by less than a slot; a larger step back is followed', () => {
    const base = new ManualClock();
    const clock = new CoalescingClock(base, 10);
    let inside = -1;
    clock.setTimeout(() => (inside = clock.now()), 5); // slot 10
    base.time = 14; // an I/O callback reads the time before the late slot fires
    expect(clock.now()).toBe(14);
    base.advance(14);
    expect(inside).toBe(14);
    base.time = 12; // within a slot of it: the time already told
    expect(clock.now()).toBe(14);
    base.time = 2; // the wall clock stepped back a long way: followed, and timers still run
    expect(clock.now()).toBe(2);
    let ranAt = -1;
    clock.setTimeout(() => (ranAt = base.now()), 5);
    base.advance(30);
    expect(ranAt).toBe(10);
  });

  it('gives the callbacks of a slot that fired late the time it fired, not a stale one', () => {
    const base = new ManualClock();
    const clock = new CoalescingClock(base, 10);
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 5);
    clock.setTimeout(() => seen.push(clock.now()), 7);
    base.time = 5000; // the loop stalled, or the machine slept
    base.advance(5000);
    expect(seen).toEqual([5000, 5000]);
  });

  it('property: every timer not cleared runs once, no sooner than due and within a slot after (unless the loop was busy past it); one time per slot; the time told never goes back', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), ms: fc.integer({ min: 0, max: 200 }), work: fc.integer({ min: 0, max: 30 }), again: fc.option(fc.integer({ min: 0, max: 200 })) }),
      fc.record({ kind: fc.constant('clear' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('advance' as const), by: fc.integer({ min: 0, max: 80 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.array(op, { maxLength: 60 }), (slot, ops) => {
        const base = new ManualClock();
        const clock = new CoalescingClock(base, slot);
        const told: number[] = [];
        const now = () => {
          const t = clock.now();
          told.push(t);
          return t;
        };
        const timers: { due: number; handle: unknown; runs: number[]; /** the latest time told before each run */ late: number[]; fired: number[]; cleared: boolean }[] = [];
        let batch: { fire: number; time: number } | null = null;
        /** A timer whose callback takes `work` ms of the loop and may set another one. */
        const set = (ms: number, work: number, again: number | null) => {
          const t = { due: now() + ms, handle: null as unknown, runs: [] as number[], late: [] as number[], fired: [] as number[], cleared: false };
          t.handle = clock.setTimeout(() => {
            t.late.push(told.at(-1) ?? -Infinity);
            t.fired.push(base.firedAt);
            const time = now();
            t.runs.push(time);
            // Every callback of one slot sees one time.
            if (batch?.fire === base.fired) expect(time).toBe(batch.time);
            batch = { fire: base.fired, time };
            base.time += work;
            if (again !== null) set(again, 0, null);
          }, ms);
          timers.push(t);
        };
        for (const o of ops) {
          if (o.kind === 'set') set(o.ms, o.work, o.again);
          else if (o.kind === 'clear' && timers.length > 0) {
            const t = timers[o.pick % timers.length]!;
            if (t.runs.length === 0) t.cleared = true;
            clock.clearTimeout(t.handle);
          } else if (o.kind === 'advance') base.advance(base.now() + o.by);
        }
        base.advance(base.now() + 10_000);
        for (const t of timers) {
          if (t.cleared) expect(t.runs).toEqual([]);
          else {
            expect(t.runs).toHaveLength(1);
            expect(t.runs[0]).toBeGreaterThanOrEqual(t.due);
            // Within a slot after; else the loop was busy past it: the time the slot fired, or one told before.
            if (t.runs[0]! >= t.due + slot) expect([t.late[0], t.fired[0]]).toContain(t.runs[0]);
          }
        }
        for (let i = 1; i < told.length; i++) expect(told[i]).toBeGreaterThanOrEqual(told[i - 1]!);
        expect(base.pending).toBe(0);
      }),
      { numRuns: Number(process.env.WARDEN_PROPERTY_RUNS ?? 300) },
    );
  });
});
