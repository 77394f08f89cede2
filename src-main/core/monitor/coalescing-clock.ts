import type { Clock } from './clock.js';

interface Pending {
  fn: (() => void) | null;
  slot: Slot;
}

interface Slot {
  at: number;
  timer: unknown;
  pending: Pending[];
  /** Pending entries not yet cleared. */
  live: number;
}

/**
 * A clock whose timers fire on a grid of `slotMs`: every timer due in the same slot shares one
 * timer of the clock underneath and they run together, never before they are due and at most
 * `slotMs` after (unless the loop was busy longer). While a slot's callbacks run, now() is one
 * time for all of them: the slot's own when it fired within a slot of it, else the time it fired.
 * A timer set from one of them counts from there, so services probed together are due together
 * again, however long the probes before them took. That one time may be up to a slot behind the
 * wall clock, so now() also never goes back by less than a slot (a time told outside a slot, then
 * a slot's); a larger step back is the wall clock's own and is followed, as Date.now() is.
 * 200 services checked every second then wake the event loop about once a second instead of 200
 * times, their requests written in one go and their answers read in one go. Those wake-ups were
 * most of what a check cost beyond its request (issue 16, bench/footprint.ts).
 */
export class CoalescingClock implements Clock {
  private readonly slots = new Map<number, Slot>();
  /** The time every callback of the slot being run sees, or null outside one. */
  private batchNow: number | null = null;
  /** The latest time told. */
  private told = -Infinity;

  constructor(
    private readonly base: Clock,
    private readonly slotMs: number,
  ) {}

  now(): number {
    return this.batchNow ?? this.tell(this.base.now());
  }

  /** `t`, or the time told last when that is ahead of it by less than a slot (see the class comment). */
  private tell(t: number): number {
    if (t < this.told && this.told - t < this.slotMs) return this.told;
    this.told = t;
    return t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const at = Math.ceil((this.now() + Math.max(0, ms)) / this.slotMs) * this.slotMs;
    let slot = this.slots.get(at);
    if (!slot) {
      slot = { at, timer: null, pending: [], live: 0 };
      this.slots.set(at, slot);
      this.arm(slot);
    }
    const pending: Pending = { fn, slot };
    slot.pending.push(pending);
    slot.live++;
    return pending;
  }

  clearTimeout(handle: unknown): void {
    const pending = handle as Pending | null | undefined;
    if (!pending?.fn) return;
    pending.fn = null;
    const slot = pending.slot;
    // The last one of a slot that has not fired: its timer goes too.
    if (--slot.live === 0 && this.slots.get(slot.at) === slot) {
      this.base.clearTimeout(slot.timer);
      this.slots.delete(slot.at);
    }
  }

  private arm(slot: Slot): void {
    slot.timer = this.base.setTimeout(() => this.fire(slot), Math.max(0, slot.at - this.base.now()));
  }

  private fire(slot: Slot): void {
    // Node may fire a timer up to a millisecond early by the wall clock (its loop time is cached
    // at the start of an iteration): wait out the rest, so nothing runs before it is due.
    const t = this.base.now();
    if (t < slot.at) return this.arm(slot);
    this.slots.delete(slot.at);
    // One time for every callback of the slot: a service probed at it is due again exactly one
    // interval later, on the grid, in the same slot as the others probed with it. With the time
    // each callback ran at instead, the callbacks before it pushed some past a slot edge, and
    // services due together drifted apart, a slot at a time, into a wake-up each. A slot that
    // fired late (a stalled loop, a suspended laptop) takes the time it fired: never a stale one.
    const outer = this.batchNow;
    this.batchNow = this.tell(t - slot.at < this.slotMs ? slot.at : t);
    let failure: { err: unknown } | null = null;
    // A callback may clear one due after it (skipped) or set new ones (they go to a later slot).
    for (const pending of slot.pending) {
      const fn = pending.fn;
      if (!fn) continue;
      pending.fn = null;
      slot.live--;
      try {
        fn();
      } catch (err) {
        // One timer's bug must not cancel the others due with it; it still surfaces, as it would have.
        failure ??= { err };
      }
    }
    this.batchNow = outer; // null, unless a clock underneath fired this from inside another slot (tests)
    if (failure) throw failure.err;
  }
}
