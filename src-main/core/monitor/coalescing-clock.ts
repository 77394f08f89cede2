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
 * `slotMs` after. 200 services checked every second then wake the event loop a few times a second
 * instead of 200 times — their requests written in one go, their answers read in one go — which
 * was most of what a check cost beyond its request (issue 16, bench/footprint.ts).
 */
export class CoalescingClock implements Clock {
  private readonly slots = new Map<number, Slot>();

  constructor(
    private readonly base: Clock,
    private readonly slotMs: number,
  ) {}

  now(): number {
    return this.base.now();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const at = Math.ceil((this.base.now() + Math.max(0, ms)) / this.slotMs) * this.slotMs;
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
    if (failure) throw failure.err;
  }
}
