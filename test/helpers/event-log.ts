import type { ServiceStatusEvent } from '../../src-shared/protocol.js';
import type { HealthMonitor, ProbeEvent } from '../../src-main/core/monitor/health-monitor.js';

type Waiter<T> = { pred: (e: T) => boolean; from: number; resolve: (e: T) => void };

/** Everything a monitor says, kept in order, with a way to await what has not happened yet. */
export class Log<T> {
  readonly items: T[] = [];
  private waiters: Waiter<T>[] = [];

  push(item: T): void {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (this.items.length - 1 >= w.from && w.pred(item)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(item);
      }
    }
  }

  /** The first item at index `from` or later that matches: at once if it is there, else when it comes. */
  next(pred: (e: T) => boolean, from = 0): Promise<T> {
    const seen = this.items.slice(from).find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, from, resolve }));
  }

  /** Resolves once `count` items from index `from` on match. */
  async count(pred: (e: T) => boolean, count: number, from = 0): Promise<T[]> {
    for (;;) {
      const matched = this.items.slice(from).filter(pred);
      if (matched.length >= count) return matched.slice(0, count);
      await this.next(pred, this.items.length);
    }
  }
}

/** The status events and probe results of one monitor. */
export class MonitorLog {
  readonly events = new Log<ServiceStatusEvent & { at: number }>();
  readonly probes = new Log<ProbeEvent & { at: number }>();

  constructor(monitor: HealthMonitor) {
    monitor.subscribe((e) => this.events.push({ ...e, at: Date.now() }));
    monitor.onProbe((p) => this.probes.push({ ...p, at: Date.now() }));
  }

  /** The first event of `service` with `status` (from event index `from` on). */
  status(service: string, status: ServiceStatusEvent['status'], from = 0): Promise<ServiceStatusEvent & { at: number }> {
    return this.events.next((e) => e.service === service && e.status === status, from);
  }

  statuses(service: string): string[] {
    return this.events.items.filter((e) => e.service === service).map((e) => e.status);
  }
}
