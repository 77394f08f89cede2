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
 * `slotMs` after. While a slot's callbacks run, now() is the slot's time for all of them, as
 * libuv caches its loop time for one iteration: a timer set from one of them counts from there,
 * so services probed together are due together again, however long the probes before them took.
 * now() never goes back (Date.now() can). 200 services checked every second then wake the event
 * loop about once a second instead of 200 times, their requests written in one go and their
 * answers read in one go. Those wake-ups were most of what a check cost beyond its request
 * (issue 16, bench/footprint.ts).
 */
export class CoalescingClock implements Clock {
  private readonly slots = new Map<number, Slot>();
  /** The time every callback of the slot being run sees, or null outside one. */
  private batchNow: number | null = null;
  /** The latest time told: now() never goes back. */
  private told = -Infinity;

  constructor(
    private readonly base: Clock,
    private readonly slotMs: number,
  ) {}

  now(): number {
    if (this.batchNow !== null) return this.batchNow;
    const now = this.base.now();
    if (now > this.told) this.told = now;
    return this.told;
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
    if (this.base.now() < slot.at) return this.arm(slot);
    this.slots.delete(slot.at);
    // Every callback of the slot sees the slot's time (or a later one already told): a service
    // probed at it is due again exactly one interval later, on the grid, in the same slot as the
    // others probed with it. With the time each callback ran at instead, the time the callbacks
    // before it took pushed some of them past a slot edge, and services due together drifted
    // apart, one slot at a time, into as many wake-ups a second as there are slots.
    this.batchNow = Math.max(slot.at, this.told);
    this.told = this.batchNow;
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
    this.batchNow = null;
    if (failure) throw failure.err;
  }
}
