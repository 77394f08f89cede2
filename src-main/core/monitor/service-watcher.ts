import type { Logger } from 'pino';
import type { ResolvedService } from '../../../src-shared/config-schema.js';
import type { ServiceState, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { ServiceStatusValue } from '../../../src-shared/status.js';
import { backoffMs } from '../../../src-shared/backoff.js';
import type { ProbeResult } from '../probes/probe.js';
import type { RestartResult, ServiceManager } from '../managers/service-manager.js';
import type { Clock } from './clock.js';

/** Readiness is polled this often after a restart (CONTRACT §3: at least every 0.5 s). */
export const READINESS_POLL_MS = 250;
const LATENCY_HISTORY = 60;
/** Node runs a timer longer than 2^31-1 ms after 1 ms: longer waits are cut to this (≈ 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface WatcherDeps {
  clock: Clock;
  getManager(): ServiceManager;
  emit(event: ServiceStatusEvent): void;
  /** Every probe result (metrics, latency charts); never changes state. */
  probed(service: string, result: ProbeResult): void;
  logger: Logger;
}

/** Outcome of a manual action. */
export type ActionResult = { ok: true; message: string } | { ok: false; error: 'busy' | 'monitor_only'; message: string };

type SleepKind = 'interval' | 'backoff' | 'readiness';

/**
 * One service's own loop: probe every interval and, on failure, the recovery flow of CONTRACT §3
 * (backoff → fresh probe → restart → readiness → …). One watcher never waits on another, and at most
 * one restart per service is in flight.
 */
export class ServiceWatcher {
  private status: ServiceStatusValue = 'unknown';
  private message = 'Not checked yet';
  private updatedAt: number;
  private since: number;
  private attempt = 0;
  private nextRetryAt: number | null = null;
  private lastCheckAt: number | null = null;
  private latencyMs: number | null = null;
  private readonly latencies: number[] = [];
  private restarts = 0;
  private lastFailure: ServiceState['lastFailure'] = null;

  private paused = false;
  private loadingSince: number | null = null;
  private healthySince: number | null = null;
  private failedRetryAt: number | null = null;
  private restartInFlight = false;
  private pendingRestart = false;

  private stopped = false;
  private readonly abort = new AbortController();
  private wake: { kind: SleepKind; fn: () => void } | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private svc: ResolvedService,
    private readonly deps: WatcherDeps,
  ) {
    this.updatedAt = this.since = deps.clock.now();
  }

  get name(): string {
    return this.svc.name;
  }

  /** Start the loop (first probe at once). */
  start(): void {
    this.loop ??= this.run();
  }

  /** Stop the loop; an in-flight probe or restart is aborted (its process group killed). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.fn();
    await this.loop;
  }

  /** New settings take effect from the next step; a changed interval applies at once. */
  update(svc: ResolvedService): void {
    this.svc = svc;
    if (this.wake?.kind === 'interval') this.wake.fn();
  }

  /** Something outside (a Docker event, a closed watch connection) says: look now. Never cuts a backoff short. */
  trigger(): void {
    if (this.wake?.kind === 'interval') this.wake.fn();
  }

  /** Restart now, skipping the backoff, with a fresh budget (also resumes a paused service). */
  restartNow(): ActionResult {
    if (this.svc.restartCmd === null) return { ok: false, error: 'monitor_only', message: `${this.name} is monitor only (restartCmd is null)` };
    if (this.restartInFlight || this.pendingRestart) return { ok: false, error: 'busy', message: `a restart of ${this.name} is already in progress` };
    this.paused = false;
    this.pendingRestart = true;
    this.wake?.fn();
    return { ok: true, message: 'restart requested' };
  }

  /** Maintenance: keep probing, never restart, no notifications. */
  pause(): ActionResult {
    if (!this.paused) {
      this.paused = true;
      this.nextRetryAt = this.failedRetryAt = null;
      this.setStatus('paused', 'Paused: checked but never restarted');
      this.wake?.fn();
    }
    return { ok: true, message: 'paused' };
  }

  /** Leave maintenance with a fresh budget; probe at once. */
  resume(): ActionResult {
    if (this.paused) {
      this.paused = false;
      this.attempt = 0;
      this.wake?.fn();
    }
    return { ok: true, message: 'resumed' };
  }

  /** Clear the attempt counter; a `failed` service re-enters the recovery flow at once. */
  reset(): ActionResult {
    this.attempt = 0;
    if (this.status === 'failed') {
      this.failedRetryAt = this.deps.clock.now();
      this.wake?.fn();
    }
    return { ok: true, message: 'reset' };
  }

  /** The current state, as served by the API and the snapshot. */
  state(): ServiceState {
    return {
      service: this.name,
      status: this.status,
      message: this.message,
      timestamp: iso(this.updatedAt),
      attempt: this.attempt,
      maxAttempts: this.svc.serviceMaxRetries,
      nextRetryAt: isoOrNull(this.nextRetryAt),
      lastCheckAt: isoOrNull(this.lastCheckAt),
      latencyMs: this.latencyMs,
      restarts: this.restarts,
      since: iso(this.since),
      lastFailure: this.lastFailure,
      monitorOnly: this.svc.restartCmd === null,
      recentLatencies: [...this.latencies],
    };
  }

  // ---------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.tick();
      } catch (err) {
        // A bug or a throwing dependency must never end the loop.
        this.deps.logger.error({ err, service: this.name }, 'watcher step failed');
      }
      if (this.stopped) break;
      if (this.pendingRestart) continue;
      await this.sleep('interval', this.intervalDelay());
    }
  }

  private intervalDelay(): number {
    const interval = this.svc.healthCheckInterval * 1000;
    if (this.failedRetryAt === null) return interval;
    return Math.max(0, Math.min(interval, this.failedRetryAt - this.deps.clock.now()));
  }

  private async tick(): Promise<void> {
    if (this.pendingRestart) {
      this.pendingRestart = false;
      this.attempt = 0;
      this.failedRetryAt = null;
      await this.recover('manual restart', true);
      return;
    }
    const r = await this.check();
    if (this.stopped || this.pendingRestart) return;
    if (this.paused) {
      this.message = `Paused: checked but never restarted (last check: ${r.state}, ${r.reason})`;
      return;
    }
    if (r.state === 'down') this.loadingSince = null; // a loading episode ends when it stops answering
    if (r.state === 'up') return this.onUp(r);
    if (this.respectStop(r)) return;
    if (r.state === 'loading') {
      if (this.withinStartup()) return this.onLoading(r);
      return this.onDown({ ...r, state: 'down', reason: `still loading after ${this.svc.startupTimeout} s (${r.reason})` });
    }
    return this.onDown(r);
  }

  /** Respect intent: a service stopped on purpose is reported as paused, never restarted; it comes back on its own start. */
  private respectStop(r: ProbeResult): boolean {
    if (!r.stoppedOnPurpose || this.svc.restartWhenStopped) return false;
    this.nextRetryAt = this.failedRetryAt = null;
    this.setStatus('paused', `Stopped on purpose: ${r.reason}; not restarted (set restartWhenStopped to change)`);
    return true;
  }

  private withinStartup(): boolean {
    return this.loadingSince === null || this.deps.clock.now() - this.loadingSince < this.svc.startupTimeout * 1000;
  }

  private onUp(r: ProbeResult, message?: string): void {
    const now = this.deps.clock.now();
    const prev = this.status;
    this.loadingSince = this.nextRetryAt = this.failedRetryAt = null;
    // The budget comes back only after a stretch of health, so a flapping service is not
    // restarted without limit.
    if (prev === 'healthy' && this.attempt > 0 && this.healthySince !== null && now - this.healthySince >= this.svc.resetAfter * 1000) {
      this.attempt = 0;
    }
    this.setStatus('healthy', message ?? upMessage(prev, r));
  }

  private onLoading(r: ProbeResult): void {
    this.loadingSince ??= this.deps.clock.now();
    this.setStatus('starting', `Service is starting (${r.reason}); not restarted for up to ${this.svc.startupTimeout} s`);
  }

  private async onDown(r: ProbeResult): Promise<void> {
    if (this.svc.restartCmd === null) {
      this.setStatus('unhealthy', `Health check failed: ${r.reason} (monitor only: not restarted)`);
      return;
    }
    if (this.status === 'failed') {
      const due = this.failedRetryAt !== null && this.deps.clock.now() >= this.failedRetryAt;
      if (!due) return;
      this.attempt = 0;
      this.failedRetryAt = null;
    }
    await this.recover(r.reason, false);
  }

  /** The recovery flow of CONTRACT §3, steps 1–6. */
  private async recover(reason: string, immediate: boolean): Promise<void> {
    const max = () => this.svc.serviceMaxRetries;
    if (!immediate) {
      if (this.attempt >= max()) return this.giveUp();
      this.nextRetryAt = this.deps.clock.now() + backoffMs(this.svc.serviceBackoffBase, this.attempt + 1);
      this.setStatus('unhealthy', `Health check failed: ${reason}`);
    }
    let skipWait = immediate;
    for (;;) {
      if (!skipWait) {
        await this.sleep('backoff', (this.nextRetryAt ?? 0) - this.deps.clock.now());
        if (this.stopped || this.paused) return;
        if (this.pendingRestart) {
          this.pendingRestart = false;
          this.attempt = 0;
        } else {
          // A fresh look before acting: the service may have come back on its own.
          const fresh = await this.check();
          if (this.stopped || this.paused) return;
          if (fresh.state === 'down') this.loadingSince = null;
          if (fresh.state === 'up') return this.onUp(fresh, 'Service recovered without restart');
          if (this.respectStop(fresh)) return;
          if (fresh.state === 'loading' && this.withinStartup()) return this.onLoading(fresh);
        }
      }
      skipWait = false;
      if (this.pendingRestart) {
        // A manual restart asked for while we were looking: this restart is it, with a fresh budget.
        this.pendingRestart = false;
        this.attempt = 0;
      }

      const n = ++this.attempt;
      this.nextRetryAt = null;
      this.restartInFlight = true;
      let failure: { reason: string; output: string } | null;
      try {
        this.setStatus('restarting', `Attempting restart (attempt ${n}/${max()})`, { force: true });
        failure = await this.restartAndWait();
      } finally {
        this.restartInFlight = false;
      }
      if (this.stopped || this.paused) return;
      if (failure === null) return;

      const now = this.deps.clock.now();
      this.lastFailure = { ...failure, at: iso(now) };
      const last = n >= max();
      this.nextRetryAt = last ? null : now + backoffMs(this.svc.serviceBackoffBase, n + 1);
      this.setStatus('restart_failed', `Restart attempt ${n}/${max()} failed: ${failure.reason}`, { force: true, failure });
      if (last) return this.giveUp();
      if (this.pendingRestart) {
        this.pendingRestart = false;
        this.attempt = 0;
        skipWait = true;
      }
    }
  }

  /** Run the strategy's restart and poll readiness; null on success, else why it failed. */
  private async restartAndWait(): Promise<{ reason: string; output: string } | null> {
    let result: RestartResult;
    try {
      result = await this.deps.getManager().restart(this.svc, this.abort.signal);
    } catch (err) {
      result = { ok: false, reason: errorText(err), output: '', exitCode: null, signal: null, timedOut: false };
    }
    if (this.stopped) return null;
    this.restarts += 1;
    this.loadingSince = null;
    if (!result.ok) return { reason: result.reason, output: result.output };

    // Readiness: poll briskly until up or startupTimeout, so recovery adds almost nothing to the
    // service's own start time.
    const deadline = this.deps.clock.now() + this.svc.startupTimeout * 1000;
    for (;;) {
      const r = await this.check();
      if (this.stopped || this.paused) return null;
      if (r.state === 'up') {
        this.onUp(r, 'Service restarted successfully');
        return null;
      }
      if (r.state === 'loading') this.loadingSince ??= this.deps.clock.now();
      const left = deadline - this.deps.clock.now();
      if (left <= 0) return { reason: `not healthy within ${this.svc.startupTimeout} s of restart (${r.reason})`, output: result.output };
      await this.sleep('readiness', Math.min(READINESS_POLL_MS, left));
      if (this.stopped || this.paused) return null;
    }
  }

  private giveUp(): void {
    const retry = this.svc.failedRetryInterval;
    this.failedRetryAt = retry > 0 ? this.deps.clock.now() + retry * 1000 : null;
    this.nextRetryAt = this.failedRetryAt;
    this.setStatus('failed', 'Max retries exceeded');
  }

  private async check(): Promise<ProbeResult> {
    let r: ProbeResult;
    try {
      r = await this.deps.getManager().checkHealth(this.svc, this.abort.signal);
    } catch (err) {
      r = { state: 'down', reason: errorText(err), latencyMs: 0 };
    }
    this.lastCheckAt = this.deps.clock.now();
    this.latencyMs = r.latencyMs;
    this.latencies.push(r.latencyMs);
    if (this.latencies.length > LATENCY_HISTORY) this.latencies.shift();
    this.deps.probed(this.name, r);
    return r;
  }

  private sleep(kind: SleepKind, ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.wake = null;
        resolve();
      };
      const handle = this.deps.clock.setTimeout(done, Math.min(MAX_TIMER_MS, Math.max(0, ms)));
      this.wake = {
        kind,
        fn: () => {
          this.deps.clock.clearTimeout(handle);
          done();
        },
      };
    });
  }

  private setStatus(status: ServiceStatusValue, message: string, opts: { force?: boolean; failure?: { reason: string; output: string } } = {}): void {
    const now = this.deps.clock.now();
    const previous = this.status;
    this.message = message;
    this.updatedAt = now;
    if (status !== previous) {
      this.status = status;
      this.since = now;
      this.healthySince = status === 'healthy' ? now : null;
    } else if (!opts.force) {
      return; // No event for a probe that changes nothing.
    }
    const event: ServiceStatusEvent = {
      type: 'service_status',
      service: this.name,
      status,
      message,
      timestamp: iso(now),
      attempt: this.attempt,
      maxAttempts: this.svc.serviceMaxRetries,
      nextRetryAt: isoOrNull(this.nextRetryAt),
      latencyMs: this.latencyMs,
      previous,
      ...(opts.failure ? { reason: opts.failure.reason, output: opts.failure.output } : {}),
    };
    this.deps.emit(event);
  }
}

function upMessage(prev: ServiceStatusValue, r: ProbeResult): string {
  switch (prev) {
    case 'starting':
      return 'Service finished starting';
    case 'failed':
      return 'Service recovered';
    case 'unhealthy':
      return 'Service recovered without restart';
    default:
      return `Service responding normally (${r.reason})`;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
