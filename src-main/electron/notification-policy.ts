import { CAUSE_TEXT } from '../../src-shared/causes.js';
import type { ServiceStatusEvent } from '../../src-shared/protocol.js';
import type { ServiceStatusValue } from '../../src-shared/status.js';
import type { Clock } from '../core/monitor/clock.js';

/** One desktop notification to show. */
export interface Notice {
  kind: 'problem' | 'failed' | 'recovered' | 'summary' | 'error';
  /** The service it is about (none for a summary or an app error). */
  service?: string;
  title: string;
  body: string;
  urgency: 'normal' | 'critical';
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
  /** The last restart failure seen in this episode: shown with the final `failed` notice. */
  lastReason?: string;
}

interface Pending {
  notice: Notice;
  /** When this service may be shown again on its own. */
  readyAt: number;
}

/**
 * Decides which status events become desktop notifications (Electron-free, so every rule is
 * unit-tested with a fake clock). One failure episode — unhealthy → restarting → restart_failed
 * → failed — is ONE story: a notice when it becomes a problem, another only if it ends in
 * `failed`, and one on recovery. Paused services are silent; muting drops notices but keeps
 * tracking episodes, so unmuting mid-episode does not replay it. Notices over the rate limits are
 * held and coalesced into one summary, shown as soon as the limits allow.
 */
export class NotificationPolicy {
  private readonly episodes = new Map<string, Episode>();
  private readonly lastShown = new Map<string, number>();
  private shownAt: number[] = [];
  private readonly pending = new Map<string, Pending>();
  private timer: unknown = null;
  private readonly limits: RateLimits;

  constructor(
    private readonly deps: {
      clock: Clock;
      show(notice: Notice): void;
      /** True while notifications are muted (config `notifications: false`). */
      isMuted(): boolean;
      limits?: Partial<RateLimits>;
    },
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...deps.limits };
  }

  /** Feed one status event. */
  handle(event: ServiceStatusEvent): void {
    const notice = this.decide(event);
    if (notice) this.offer(notice);
  }

  /** An app-level error (e.g. a corrupt settings file): shown at once, never rate-limited or muted. */
  error(title: string, body: string): void {
    this.deps.show({ kind: 'error', title, body, urgency: 'critical' });
  }

  /** Stop the summary timer. */
  dispose(): void {
    this.cancelTimer();
    this.pending.clear();
  }

  private decide(event: ServiceStatusEvent): Notice | null {
    const name = event.service;
    const episode = this.episodes.get(name);
    if (event.status === 'paused') {
      // Maintenance: the story ends silently, and anything still held for it is dropped.
      this.episodes.delete(name);
      this.pending.delete(name);
      return null;
    }
    if (event.status === 'healthy') {
      if (!episode) return null;
      this.episodes.delete(name);
      return { kind: 'recovered', service: name, title: `${name} recovered`, body: event.message, urgency: 'normal' };
    }
    if (!PROBLEM.has(event.status)) return null; // unknown, starting: part of whatever story is running
    // Down because a service it needs is down (CONTRACT §14): the notice is that one's, not this one's.
    if (event.cause === 'dependency_down' && !episode) return null;
    const reason = event.reason ?? (event.status === 'restart_failed' ? event.message : undefined);
    // What a failure means and what to do, in words (CONTRACT §12).
    const cause = event.status === 'failed' && event.cause ? `\n${CAUSE_TEXT[event.cause].title}. ${CAUSE_TEXT[event.cause].action}` : '';
    if (!episode) {
      const failed = event.status === 'failed';
      this.episodes.set(name, { failedNotified: failed, lastReason: reason });
      return {
        kind: failed ? 'failed' : 'problem',
        service: name,
        title: `${name} ${PROBLEM_TITLE[event.status]}`,
        body: `${reason && reason !== event.message ? `${event.message}: ${reason}` : event.message}${cause}`,
        urgency: failed ? 'critical' : 'normal',
      };
    }
    if (reason) episode.lastReason = reason;
    if (event.status !== 'failed' || episode.failedNotified) return null;
    episode.failedNotified = true;
    const last = episode.lastReason ? ` — last error: ${episode.lastReason}` : '';
    return { kind: 'failed', service: name, title: `${name} failed`, body: `${event.message}${last}${cause}`, urgency: 'critical' };
  }

  private offer(notice: Notice): void {
    if (this.deps.isMuted()) return;
    const now = this.deps.clock.now();
    const name = notice.service as string;
    const serviceReady = this.serviceReadyAt(name);
    if (!this.pending.has(name) && serviceReady <= now && this.overallReadyAt(now) <= now) {
      this.record([name], now);
      this.deps.show(notice);
      return;
    }
    // Coalesce: only the latest word on each service is kept.
    this.pending.set(name, { notice, readyAt: Math.max(serviceReady, this.pending.get(name)?.readyAt ?? 0) });
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
    const held = [...this.pending.values()];
    this.pending.clear();
    if (held.length === 0 || this.deps.isMuted()) return;
    const now = this.deps.clock.now();
    this.record(
      held.map((p) => p.notice.service as string),
      now,
    );
    if (held.length === 1) {
      this.deps.show((held[0] as Pending).notice);
      return;
    }
    this.deps.show({
      kind: 'summary',
      title: `Warden: ${held.length} services changed`,
      body: held.map((p) => p.notice.title).join('\n'),
      urgency: held.some((p) => p.notice.urgency === 'critical') ? 'critical' : 'normal',
    });
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
