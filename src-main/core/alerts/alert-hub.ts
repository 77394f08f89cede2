import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import { load } from '../lazy-modules.js';
import type { AlertsConfig, ChannelConfig } from '../../../src-shared/alerts-schema.js';
import type { AlertsStatus, ChannelStatus } from '../../../src-shared/protocol.js';
import type { ServiceState, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { Clock } from '../monitor/clock.js';
import { EventBus, type Listener } from '../monitor/event-bus.js';
import { channelId, channelTarget, sendOn, wants } from './channels/index.js';
import { AlertOutbox } from './outbox.js';
import { AlertPolicy, type Alert, type RateLimits } from './policy.js';

/** The alerts kept for GET /api/alerts. */
const RECENT = 50;
/** A "Send test" waits this long for the real answer. */
const TEST_TIMEOUT_MS = 20_000;

export interface AlertHubDeps {
  /** The outbox lives in `<dataDir>/outbox`. */
  dataDir: string;
  /** Relative secret files (tokenFile, passwordFile, secretFile) are read from here. */
  baseDir: string;
  logger: Logger;
  clock: Clock;
  monitor: { subscribe(listener: (e: ServiceStatusEvent) => void): () => void; state(name: string): ServiceState | undefined };
  config(): AlertsConfig;
  /** The configured services: a removed one's alert story ends. */
  services(): string[];
  /** The dashboard for click-through when the config names none (this machine's server). */
  defaultDashboardUrl(): string | null;
  /** Tests: the Apprise CLI and the policy's limits. */
  apprise?: string;
  limits?: Partial<RateLimits>;
  host?: string;
}

/**
 * Alerts (CONTRACT §15): the one policy, fed by the monitor, whose alerts go to the tray (onAlert)
 * and, through the durable outbox, to every configured channel that wants their severity.
 */
export class AlertHub {
  private readonly policy: AlertPolicy;
  private readonly outbox: AlertOutbox;
  private readonly bus: EventBus<Alert>;
  /** Built (and undici loaded) for the first alert sent over HTTP. */
  private agent: Agent | null = null;
  private readonly recent: Alert[] = [];
  private readonly results = new Map<string, Pick<ChannelStatus, 'lastDelivery' | 'lastError'>>();
  private unsubscribe: (() => void) | null = null;
  private channelIds = new Set<string>();
  private loading: Promise<void> | null = null;
  private stopped = false;
  /** Apprise URLs already delivered for an alert on a channel: a retry sends only to the others. */
  private readonly appriseDone = new Map<string, Set<number>>();

  constructor(private readonly deps: AlertHubDeps) {
    this.bus = new EventBus(deps.logger, 'alert');
    this.policy = new AlertPolicy({
      clock: deps.clock,
      send: (alert) => this.dispatch(alert),
      quiet: (service) => deps.monitor.state(service)?.maintenanceUntil !== undefined,
      repeatAfter: () => deps.config().repeatAfter,
      limits: deps.limits,
    });
    this.outbox = new AlertOutbox({
      dir: path.join(deps.dataDir, 'outbox'),
      clock: deps.clock,
      logger: deps.logger,
      deliver: (id, alert, signal) => this.deliver(id, alert, signal),
      known: (id) => this.channel(id) !== undefined,
      onResult: (id, alert, error, attempts) => this.note(id, alert, error, attempts),
    });
    this.channelIds = new Set(deps.config().channels.map(channelId));
  }

  /** Every alert the policy makes (the tray shows them); returns the unsubscribe function. */
  onAlert(listener: Listener<Alert>): () => void {
    return this.bus.subscribe(listener);
  }

  /** Deliver what a previous Warden left queued, and start listening to the monitor. */
  async start(): Promise<void> {
    // Listening first: the monitor's first events must not wait for the outbox to be read.
    this.unsubscribe ??= this.deps.monitor.subscribe((e) => this.policy.handle(e));
    this.loading ??= this.outbox.load();
    await this.loading;
  }

  /** The config changed: alerts queued for a channel that is gone are dropped. */
  async apply(): Promise<void> {
    this.policy.forget(new Set(this.deps.services()));
    const now = new Set(this.deps.config().channels.map(channelId));
    for (const id of this.channelIds) {
      if (!now.has(id)) {
        await this.outbox.forget(id);
        this.results.delete(id);
      }
    }
    this.channelIds = now;
  }

  /** GET /api/alerts: per channel, where it delivers, its last delivery and error, and what waits. */
  status(): AlertsStatus {
    const cfg = this.deps.config();
    return {
      channels: cfg.channels.map((c) => {
        const id = channelId(c);
        return {
          id,
          type: c.type,
          name: c.name ?? null,
          target: channelTarget(c),
          minSeverity: c.minSeverity ?? cfg.minSeverity,
          queued: this.outbox.queued(id),
          ...(this.results.get(id) ?? { lastDelivery: null, lastError: null }),
        };
      }),
      recent: [...this.recent].reverse(),
      minSeverity: cfg.minSeverity,
      repeatAfter: cfg.repeatAfter,
    };
  }

  /** POST /api/alerts/test: a test alert to one channel (or all), sent now; the real outcome of each. */
  async test(id?: string): Promise<{ channel: string; ok: boolean; error?: string }[]> {
    const channels = this.deps.config().channels.filter((c) => id === undefined || channelId(c) === id);
    const alert: Alert = {
      id: randomUUID(),
      kind: 'test',
      severity: 'warning',
      title: 'Warden test alert',
      body: 'This is a test from Warden: alerts reach you here.',
      at: new Date(this.deps.clock.now()).toISOString(),
    };
    return Promise.all(
      channels.map(async (c) => {
        const cid = channelId(c);
        const signal = AbortSignal.timeout(TEST_TIMEOUT_MS);
        try {
          await sendOn(c, alert, this.context(signal));
          this.note(cid, alert, null, 1);
          return { channel: cid, ok: true };
        } catch (err) {
          const error = signal.aborted ? `no answer within ${TEST_TIMEOUT_MS / 1000} s` : (err as Error).message;
          this.note(cid, alert, error, 1);
          return { channel: cid, ok: false, error };
        }
      }),
    );
  }

  /** Stop listening; deliveries in flight stay queued for the next start. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    // What the rate limit still held is queued, not lost: the next start delivers it.
    const held = this.policy.drain();
    this.policy.dispose();
    await this.loading?.catch(() => undefined); // reading the outbox ends before it closes
    await Promise.all(held.map((a) => this.queue(a)));
    await this.outbox.close();
    await this.agent?.close();
  }

  private dispatch(alert: Alert): void {
    this.recent.push(alert);
    if (this.recent.length > RECENT) this.recent.shift();
    this.bus.publish(alert);
    void this.queue(alert);
  }

  /** Into the outbox for every channel that wants it. */
  private async queue(alert: Alert): Promise<void> {
    const cfg = this.deps.config();
    const ids = cfg.channels.filter((c) => wants(c, cfg.minSeverity, alert)).map(channelId);
    if (ids.length > 0) await this.outbox.enqueue(alert, ids);
  }

  private channel(id: string): ChannelConfig | undefined {
    return this.deps.config().channels.find((c) => channelId(c) === id);
  }

  private async deliver(id: string, alert: Alert, signal: AbortSignal): Promise<void> {
    const c = this.channel(id);
    if (!c) throw new Error('channel removed');
    const key = `${alert.id} ${id}`;
    const done = this.appriseDone.get(key) ?? new Set<number>();
    this.appriseDone.set(key, done);
    try {
      await sendOn(c, alert, { ...this.context(signal), delivered: done });
      this.appriseDone.delete(key);
    } catch (err) {
      if (this.appriseDone.size > 1000) this.appriseDone.delete(this.appriseDone.keys().next().value!);
      throw err;
    }
  }

  private context(signal: AbortSignal) {
    return {
      origin: { host: this.deps.host ?? os.hostname(), dashboardUrl: this.deps.config().dashboardUrl ?? this.deps.defaultDashboardUrl() },
      dispatcher: (this.agent ??= new (load.undici().Agent)({ keepAliveTimeout: 4000 })),
      baseDir: this.deps.baseDir,
      signal,
      ...(this.deps.apprise ? { apprise: this.deps.apprise } : {}),
    };
  }

  private note(id: string, alert: Alert, error: string | null, attempts: number): void {
    const at = new Date(this.deps.clock.now()).toISOString();
    const was = this.results.get(id) ?? { lastDelivery: null, lastError: null };
    this.results.set(id, error === null ? { ...was, lastDelivery: { at, alertId: alert.id, title: alert.title } } : { ...was, lastError: { at, alertId: alert.id, message: error, attempts } });
  }
}
