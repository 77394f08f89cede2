import type { Logger } from 'pino';
import { resolveService, type WardenConfig } from '../../../src-shared/config-schema.js';
import type { ServiceAction, ServiceState, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { ServiceManager } from '../managers/service-manager.js';
import type { ProbeResult } from '../probes/probe.js';
import { systemClock, type Clock } from './clock.js';
import { EventBus, type Listener } from './event-bus.js';
import { ServiceWatcher, type ActionResult } from './service-watcher.js';

export interface HealthMonitorDeps {
  config: WardenConfig;
  /** The current strategy; looked up at each step so a shell↔docker switch applies live. */
  getManager(): ServiceManager;
  logger: Logger;
  clock?: Clock;
}

/** One probe's result, tagged with its service. */
export type ProbeEvent = ProbeResult & { service: string };

/** The design's ServiceHealthMonitor (a2v.2): one independent watcher per configured service. */
export class HealthMonitor {
  private readonly watchers = new Map<string, ServiceWatcher>();
  private readonly bus: EventBus<ServiceStatusEvent>;
  private readonly probeBus: EventBus<ProbeEvent>;
  private readonly clock: Clock;
  private running = false;
  private config: WardenConfig;

  constructor(private readonly deps: HealthMonitorDeps) {
    this.clock = deps.clock ?? systemClock;
    this.bus = new EventBus(deps.logger);
    this.probeBus = new EventBus(deps.logger);
    this.config = deps.config;
    for (const svc of deps.config.services) this.watchers.set(svc.name, this.makeWatcher(svc.name));
  }

  /** Subscribe to every `service_status` event; returns the unsubscribe function. */
  subscribe(listener: Listener<ServiceStatusEvent>): () => void {
    return this.bus.subscribe(listener);
  }

  /** Subscribe to every probe result (metrics, latency); returns the unsubscribe function. */
  onProbe(listener: Listener<ProbeEvent>): () => void {
    return this.probeBus.subscribe(listener);
  }

  start(): void {
    this.running = true;
    for (const w of this.watchers.values()) w.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all([...this.watchers.values()].map((w) => w.stop()));
  }

  /** States in config order. */
  states(): ServiceState[] {
    return [...this.watchers.values()].map((w) => w.state());
  }

  state(name: string): ServiceState | undefined {
    return this.watchers.get(name)?.state();
  }

  has(name: string): boolean {
    return this.watchers.has(name);
  }

  /** A manual action; undefined when no such service. */
  act(name: string, action: ServiceAction): ActionResult | undefined {
    const w = this.watchers.get(name);
    if (!w) return undefined;
    this.deps.logger.info({ service: name, action }, 'manual action');
    switch (action) {
      case 'restart':
        return w.restartNow();
      case 'pause':
        return w.pause();
      case 'resume':
        return w.resume();
      case 'reset':
        return w.reset();
    }
  }

  /** An outside signal (Docker event, closed watch connection, dead pid): probe that service now. */
  trigger(name: string): void {
    this.watchers.get(name)?.trigger();
  }

  /** Probe every service now (e.g. after the machine resumes from sleep). */
  triggerAll(): void {
    for (const w of this.watchers.values()) w.trigger();
  }

  /** Apply a new config live: watchers are added, removed or updated in place (state kept). */
  async applyConfig(config: WardenConfig): Promise<void> {
    this.config = config;
    const wanted = new Set(config.services.map((s) => s.name));
    const removed = [...this.watchers.entries()].filter(([name]) => !wanted.has(name));
    for (const [name] of removed) this.watchers.delete(name);
    await Promise.all(removed.map(([, w]) => w.stop()));

    const next = new Map<string, ServiceWatcher>();
    for (const svc of config.services) {
      const existing = this.watchers.get(svc.name);
      if (existing) existing.update(resolveService(config, svc));
      const w = existing ?? this.makeWatcher(svc.name);
      if (!existing && this.running) w.start();
      next.set(svc.name, w);
    }
    this.watchers.clear();
    for (const [k, v] of next) this.watchers.set(k, v);
  }

  private makeWatcher(name: string): ServiceWatcher {
    const svc = this.config.services.find((s) => s.name === name);
    /* c8 ignore next -- callers only pass configured names */
    if (!svc) throw new Error(`unknown service ${name}`);
    return new ServiceWatcher(resolveService(this.config, svc), {
      clock: this.clock,
      getManager: this.deps.getManager,
      logger: this.deps.logger,
      probed: (service, result) => this.probeBus.publish({ service, ...result }),
      emit: (event) => {
        this.bus.publish(event);
        this.deps.logger.info({ event }, 'service_status');
      },
    });
  }
}
