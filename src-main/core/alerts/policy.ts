import { randomUUID } from 'node:crypto';
import { CAUSE_TEXT, type FailureCause } from '../../../src-shared/causes.js';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { ServiceStatusValue } from '../../../src-shared/status.js';
import type { Clock } from '../monitor/clock.js';

/** How bad an alert is: a recovery is as bad as the story it ends, so it reaches whoever heard of it. */
export type AlertSeverity = 'warning' | 'error';

/**
 * One alert (CONTRACT §15): what the tray shows as a desktop notification and every channel
 * delivers. `id` is its idempotency id (X-Warden-Alert-Id, the email's Message-ID): a retry
 * carries the same one.
 */
export interface Alert {
  id: string;
  kind: 'problem' | 'failed' | 'recovered' | 'summary' | 'test';
  severity: AlertSeverity;
  /** The service it is about (none for a summary or a test). */
  service?: string;
  /** The status that raised it. */
  status?: ServiceStatusValue;
  /** Why it failed (CONTRACT §12), on a `failed` alert. */
  cause?: FailureCause;
  /** The last restart error, when there is one. */
  reason?: string;
  /** Services that wait for this one (CONTRACT §14: grouped under their root cause). */
  affected?: string[];
  /** A summary's services. */
  services?: string[];
  title: string;
  body: string;
  /** ISO 8601 UTC. */
  at: string;
}

/** Limits: per service and overall, within one sliding window. */
export interface RateLimits {
  windowMs: number;
  perService: number;
  overall: number;
}

/** At most 1 per service and 5 overall per minute (the rest are coalesced into one summary). */
export const DEFAULT_LIMITS: RateLimits = { windowMs: 60_000, perService: 1, overall: 5 };

const PROBLEM: ReadonlySet<ServiceStatusValue> = new Set(['unhealthy', 'restarting', 'restart_failed', 'failed']);

const PROBLEM_TITLE: Partial<Record<ServiceStatusValue, string>> = {
  unhealthy: 'is unhealthy',
  restarting: 'is being restarted',
  restart_failed: 'could not be restarted',
  failed: 'failed',
};

interface Episode {
  failedNotified: boolean;
  /** The worst alert sent in this episode: its recovery has that severity. */
  severity: AlertSeverity;
  /** The last restart failure seen in this episode: shown with the final `failed` alert. */
  lastReason?: string;
  /** While failed, with repeatAfter: the reminder's timer. */
  reminder?: unknown;
}

interface Pending {
  alert: Alert;
  /** When this service may be alerted again on its own. */
  readyAt: number;
}

/**
 * The one notification policy (CONTRACT §15), Electron-free, driving the tray, headless `warden
 * serve` and every channel alike. One failure episode — unhealthy → restarting → restart_failed →
 * failed — is ONE story: an alert when it becomes a problem, another only if it ends in `failed`
 * (with cause and reason; repeated every `repeatAfter` s while it stays failed, if set), and one on
 * recovery. Paused services and those in a maintenance window are silent; a service waiting for a
 * dependency is told under its root cause's alert. Alerts over the rate limits are held and
 * coalesced into one summary, sent as soon as the limits allow.
 */
export class AlertPolicy {
  private readonly episodes = new Map<string, Episode>();
  private readonly lastShown = new Map<string, number>();
  private shownAt: number[] = [];
  private readonly pending = new Map<string, Pending>();
  /** Root cause → the services waiting for it (from their dependency_down events). */
  private readonly waiting = new Map<string, Set<string>>();
  private timer: unknown = null;
  private readonly limits: RateLimits;

  constructor(
    private readonly deps: {
      clock: Clock;
      send(alert: Alert): void;
      /** True while a maintenance window covers the service: its events say nothing (CONTRACT §14). */
      quiet?(service: string): boolean;
      /** Seconds between reminders while a service stays failed; 0: none (config alerts.repeatAfter). */
      repeatAfter?(): number;
      limits?: Partial<RateLimits>;
    },
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...deps.limits };
  }

  /** Feed one status event. */
  handle(event: ServiceStatusEvent): void {
    const alert = this.decide(event);
    if (alert) this.offer(alert);
  }

  /** Services no longer configured: their stories end silently (no reminder of a removed service). */
  forget(keep: ReadonlySet<string>): void {
    for (const [name, episode] of this.episodes) {
      if (keep.has(name)) continue;
      this.stopReminder(episode);
      this.episodes.delete(name);
      this.pending.delete(name);
    }
    for (const [root, set] of this.waiting) {
      for (const s of set) if (!keep.has(s)) set.delete(s);
      if (!keep.has(root)) this.waiting.delete(root);
    }
  }

  /**
   * What the rate limit still holds, as the alert that would have gone out (one, or a summary),
   * and nothing held any more: at stop it is queued for delivery instead of being lost.
   */
  drain(): Alert[] {
    this.cancelTimer();
    const held = [...this.pending.values()];
    this.pending.clear();
    if (held.length === 0) return [];
    const out: Alert[] = [];
    this.sendHeld(held, this.deps.clock.now(), (a) => out.push(a));
    return out;
  }

  /** Stop the timers (summary, reminders). */
  dispose(): void {
    this.cancelTimer();
    this.pending.clear();
    for (const e of this.episodes.values()) this.stopReminder(e);
  }

  private decide(event: ServiceStatusEvent): Alert | null {
    const name = event.service;
    const episode = this.episodes.get(name);
    this.trackWaiting(event);
    if (event.status === 'paused' || this.deps.quiet?.(name)) {
      // Maintenance, or paused by a person: the story ends silently, and anything held for it is dropped.
      if (episode) this.stopReminder(episode);
      this.episodes.delete(name);
      this.pending.delete(name);
      return null;
    }
    if (event.status === 'healthy') {
      if (!episode) return null;
      this.stopReminder(episode);
      this.episodes.delete(name);
      return this.alert({ kind: 'recovered', severity: episode.severity, service: name, status: 'healthy', title: `${name} recovered`, body: event.message, ...this.affected(name) });
    }
    if (!PROBLEM.has(event.status)) return null; // unknown, starting: part of whatever story is running
    // Down because a service it needs is down (CONTRACT §14): the alert is that one's, not this one's.
    if (event.cause === 'dependency_down' && !episode) return null;
    const reason = event.reason ?? (event.status === 'restart_failed' ? event.message : undefined);
    const failed = event.status === 'failed';
    // What a failure means and what to do, in words (CONTRACT §12).
    const causeText = failed && event.cause ? `\n${CAUSE_TEXT[event.cause].title}. ${CAUSE_TEXT[event.cause].action}` : '';
    const cause = failed && event.cause ? { cause: event.cause } : {};
    if (!episode) {
      const fresh: Episode = { failedNotified: failed, severity: failed ? 'error' : 'warning', lastReason: reason };
      this.episodes.set(name, fresh);
      if (failed) this.remind(name, fresh);
      return this.alert({
        kind: failed ? 'failed' : 'problem',
        severity: fresh.severity,
        service: name,
        status: event.status,
        ...cause,
        ...(reason ? { reason } : {}),
        title: `${name} ${PROBLEM_TITLE[event.status]}`,
        body: `${reason && reason !== event.message ? `${event.message}: ${reason}` : event.message}${causeText}`,
        ...this.affected(name),
      });
    }
    if (reason) episode.lastReason = reason;
    if (!failed || episode.failedNotified) return null;
    episode.failedNotified = true;
    episode.severity = 'error';
    this.remind(name, episode);
    const last = episode.lastReason ? ` — last error: ${episode.lastReason}` : '';
    return this.alert({
      kind: 'failed',
      severity: 'error',
      service: name,
      status: 'failed',
      ...cause,
      ...(episode.lastReason ? { reason: episode.lastReason } : {}),
      title: `${name} failed`,
      body: `${event.message}${last}${causeText}`,
      ...this.affected(name),
    });
  }

  private alert(fields: Omit<Alert, 'id' | 'at'>): Alert {
    return { id: randomUUID(), at: new Date(this.deps.clock.now()).toISOString(), ...fields };
  }

  /** Who waits for whom: a dependent's dependency_down event names its root cause (`waitingFor`). */
  private trackWaiting(event: ServiceStatusEvent): void {
    for (const set of this.waiting.values()) set.delete(event.service);
    if (event.cause === 'dependency_down' && event.waitingFor) {
      const set = this.waiting.get(event.waitingFor) ?? new Set<string>();
      set.add(event.service);
      this.waiting.set(event.waitingFor, set);
    }
  }

  /** The dependents grouped under a root cause's alert, with a line that names them. */
  private affected(name: string): Pick<Alert, 'affected'> {
    const set = this.waiting.get(name);
    return set && set.size > 0 ? { affected: [...set].sort() } : {};
  }

  /** While failed, with repeatAfter > 0: the same story again every repeatAfter s, until it ends. */
  private remind(name: string, episode: Episode): void {
    const every = this.deps.repeatAfter?.() ?? 0;
    if (every <= 0) return;
    this.stopReminder(episode);
    episode.reminder = this.deps.clock.setTimeout(() => {
      if (this.episodes.get(name) !== episode) return;
      this.offer(this.alert({ kind: 'failed', severity: 'error', service: name, status: 'failed', ...(episode.lastReason ? { reason: episode.lastReason } : {}), title: `${name} is still failed`, body: `Still failed after ${every} s${episode.lastReason ? ` — last error: ${episode.lastReason}` : ''}`, ...this.affected(name) }));
      this.remind(name, episode);
    }, every * 1000);
  }

  private stopReminder(episode: Episode): void {
    if (episode.reminder !== undefined) this.deps.clock.clearTimeout(episode.reminder);
    episode.reminder = undefined;
  }

  private offer(alert: Alert): void {
    const now = this.deps.clock.now();
    const name = alert.service as string;
    const serviceReady = this.serviceReadyAt(name);
    if (!this.pending.has(name) && serviceReady <= now && this.overallReadyAt(now) <= now) {
      this.record([name], now);
      this.deps.send(alert);
      return;
    }
    // Coalesce: only the latest word on each service is kept.
    this.pending.set(name, { alert, readyAt: Math.max(serviceReady, this.pending.get(name)?.readyAt ?? 0) });
    this.schedule(now);
  }

  private serviceReadyAt(name: string): number {
    const last = this.lastShown.get(name);
    return last === undefined ? 0 : last + this.limits.windowMs;
  }

  private overallReadyAt(now: number): number {
    this.shownAt = this.shownAt.filter((t) => t > now - this.limits.windowMs);
    if (this.shownAt.length < this.limits.overall) return now;
    return (this.shownAt[this.shownAt.length - this.limits.overall] as number) + this.limits.windowMs;
  }

  private record(services: string[], now: number): void {
    this.shownAt.push(now);
    for (const s of services) this.lastShown.set(s, now);
  }

  /** The summary goes out once the overall limit allows and at least one held service is due. */
  private schedule(now: number): void {
    this.cancelTimer();
    const firstDue = Math.min(...[...this.pending.values()].map((p) => p.readyAt));
    const at = Math.max(firstDue, this.overallReadyAt(now));
    this.timer = this.deps.clock.setTimeout(() => this.flush(), Math.max(0, at - now));
  }

  private flush(): void {
    this.timer = null;
    const now = this.deps.clock.now();
    // Only those whose own minute is over: the others wait for the next summary.
    const held = [...this.pending.values()].filter((p) => p.readyAt <= now);
    for (const p of held) this.pending.delete(p.alert.service as string);
    if (held.length > 0) this.sendHeld(held, now, this.deps.send);
    if (this.pending.size > 0) this.schedule(now);
  }

  private sendHeld(held: Pending[], now: number, send: (alert: Alert) => void): void {
    this.record(
      held.map((p) => p.alert.service as string),
      now,
    );
    if (held.length === 1) {
      send((held[0] as Pending).alert);
      return;
    }
    send(
      this.alert({
        kind: 'summary',
        severity: held.some((p) => p.alert.severity === 'error') ? 'error' : 'warning',
        services: held.map((p) => p.alert.service as string),
        title: `Warden: ${held.length} services changed`,
        body: held.map((p) => p.alert.title).join('\n'),
      }),
    );
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}

/** A desktop notification's urgency for an alert. */
export function urgencyOf(alert: Alert): 'normal' | 'critical' {
  // Good news never needs to break through "do not disturb".
  return alert.severity === 'error' && alert.kind !== 'recovered' ? 'critical' : 'normal';
}
