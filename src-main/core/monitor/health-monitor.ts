import type { Logger } from 'pino';
import type { ResolvedService } from '../../../src-shared/config-schema.js';
import type { ServiceAction, ServiceState, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { GpuLocks } from '../gpu/gpu-locks.js';
import type { GpuMonitor } from '../gpu/gpu-monitor.js';
import type { InflightRestart } from '../managers/inflight-restarts.js';
import type { ProbeResult } from '../probes/probe.js';
import { systemClock, type Clock } from './clock.js';
import { CoalescingClock } from './coalescing-clock.js';

import { EventBus, type Listener } from './event-bus.js';
import type { ActionResult } from './machine.js';
import { ServiceRunner, type ServiceRuntime } from './runner.js';

/**
 * The monitor's timers fire on a 10 ms grid (CoalescingClock): services due together are probed in
 * one wake-up of the event loop. A check may start up to 10 ms after it is due, never before.
 */
export const MONITOR_TIMER_SLOT_MS = 10;

export type { ServiceRuntime } from './runner.js';
export type { ActionResult } from './machine.js';

export interface HealthMonitorDeps {
  /** The services to watch, each with the strategy that acts on it (resolved once per config apply). */
  services: ServiceRuntime[];
  logger: Logger;
  clock?: Clock;
  /** Each service's own log, read to tell why a restart failed (default: none). */
  logFileOf?: (svc: ResolvedService) => string | null;
  /** GPU telemetry: GPU services restart through the release gate (CONTRACT §11). */
  gpu?: GpuMonitor;
}

/** One probe's result, tagged with its service. */
export type ProbeEvent = ProbeResult & { service: string };

/** The design's ServiceHealthMonitor (a2v.2): one independent state machine per configured service. */
export class HealthMonitor {
  private runners = new Map<string, ServiceRunner>();
  /** Removed services whose restart in flight is allowed to finish (§9.4), by name. */
  private readonly retiring = new Map<string, { runner: ServiceRunner; done: Promise<void> }>();
  private readonly bus: EventBus<ServiceStatusEvent>;
  private readonly probeBus: EventBus<ProbeEvent>;
  private readonly clock: Clock;
  /** One load per GPU at a time, across all services (CONTRACT §11). */
  private readonly gpuLocks = new GpuLocks();
  private phase: 'new' | 'running' | 'stopped' = 'new';

  constructor(private readonly deps: HealthMonitorDeps) {
    this.clock = deps.clock ?? new CoalescingClock(systemClock, MONITOR_TIMER_SLOT_MS);
    this.bus = new EventBus(deps.logger, 'service_status');
    this.probeBus = new EventBus(deps.logger, 'probe');
    for (const rt of deps.services) this.runners.set(rt.svc.name, this.makeRunner(rt));
  }

  /** Subscribe to every `service_status` event; returns the unsubscribe function. */
  subscribe(listener: Listener<ServiceStatusEvent>): () => void {
    return this.bus.subscribe(listener);
  }

  /** Subscribe to every probe result (metrics, latency); returns the unsubscribe function. */
  onProbe(listener: Listener<ProbeEvent>): () => void {
    return this.probeBus.subscribe(listener);
  }

  /** Start every service; one named in `adoptions` first follows the restart a previous Warden left running. */
  start(adoptions: ReadonlyMap<string, InflightRestart> = new Map()): void {
    if (this.phase !== 'new') return;
    this.phase = 'running';
    this.syncDependencies();
    for (const [name, r] of this.runners) {
      const entry = adoptions.get(name);
      if (entry) r.adopt(entry);
      else r.start();
    }
  }

  /** Stop every service: probes and restarts in flight are aborted (process groups killed). */
  async stop(): Promise<void> {
    this.phase = 'stopped';
    const all = [...this.runners.values(), ...[...this.retiring.values()].map((r) => r.runner)];
    await Promise.all(all.map((r) => r.stop()));
  }

  /** States in config order. */
  states(): ServiceState[] {
    return [...this.runners.values()].map((r) => r.view());
  }

  state(name: string): ServiceState | undefined {
    return this.runners.get(name)?.view();
  }

  has(name: string): boolean {
    return this.runners.has(name);
  }

  /** The runner of a service (tests and diagnostics). */
  runner(name: string): ServiceRunner | undefined {
    return this.runners.get(name);
  }

  /** A manual action; undefined when no such service. */
  act(name: string, action: ServiceAction): ActionResult | undefined {
    const r = this.runners.get(name);
    if (!r) return undefined;
    this.deps.logger.info({ service: name, action }, 'manual action');
    return r.act(action);
  }

  /** An outside signal (Docker event, closed watch connection, dead pid): probe that service now. */
  trigger(name: string): void {
    this.runners.get(name)?.trigger();
  }

  /** A maintenance window covers this service until `until` (null: none does any more). */
  setMaintenance(name: string, until: number | null, reason: string | null): void {
    this.runners.get(name)?.setMaintenance(until, reason);
  }

  /** Names of the services, in config order. */
  names(): string[] {
    return [...this.runners.keys()];
  }

  /** Probe every service now (e.g. after the machine resumes from sleep). */
  triggerAll(): void {
    for (const r of this.runners.values()) r.trigger();
  }

  /**
   * Apply a new set of services in one synchronous step (§9.4): new ones start, kept ones take
   * their new settings (state kept), removed ones are retired — nothing new starts for them, and a
   * restart they have in flight finishes (a re-added service of that name waits for it).
   */
  apply(services: ServiceRuntime[]): void {
    const next = new Map<string, ServiceRunner>();
    for (const rt of services) {
      const name = rt.svc.name;
      const existing = this.runners.get(name);
      if (existing) {
        existing.update(rt);
        next.set(name, existing);
        continue;
      }
      const runner = this.makeRunner(rt);
      next.set(name, runner);
      if (this.phase === 'running') runner.start();
    }
    for (const [name, runner] of this.runners) {
      if (next.has(name)) continue;
      // An earlier runner of this name may still be finishing a restart too: wait for both.
      const earlier = this.retiring.get(name)?.done;
      const done = Promise.all([earlier, runner.retire()]).then(() => {
        if (this.retiring.get(name)?.runner === runner) this.retiring.delete(name);
      });
      this.retiring.set(name, { runner, done });
    }
    this.runners = next;
    this.syncDependencies();
  }

  /**
   * Tell each service whether something it needs is down (CONTRACT §14), by the root cause: what it
   * needs directly or through its dependencies (a detector that needs Redis, for an LLM that needs
   * the detector), and of those the one that is down itself rather than waiting for another.
   * Anything but healthy counts as down (unknown before its first probe, loading, paused).
   */
  private syncDependencies(): void {
    for (const r of this.runners.values()) {
      if (r.dependsOn.length === 0 && r.machine.waitingFor === null) continue;
      r.setDependency(this.rootCause(r.dependsOn, new Set()));
    }
  }

  private rootCause(needs: readonly string[], seen: Set<string>): string | null {
    for (const name of needs) {
      const d = this.runners.get(name);
      if (!d || seen.has(name)) continue;
      seen.add(name);
      // From statuses only, so the name never depends on config order or on a waitingFor not yet updated.
      if (d.machine.status !== 'healthy') return this.rootCause(d.dependsOn, seen) ?? name;
      const deeper = this.rootCause(d.dependsOn, seen);
      if (deeper !== null) return deeper;
    }
    return null;
  }

  private makeRunner(rt: ServiceRuntime): ServiceRunner {
    const name = rt.svc.name;
    return new ServiceRunner(rt, {
      clock: this.clock,
      logger: this.deps.logger,
      probed: (service, result) => this.probeBus.publish({ service, ...result }),
      emit: (event) => {
        this.bus.publish(event);
        this.deps.logger.info({ event }, 'service_status');
        this.syncDependencies();
        // Down on its own account as far as it knows: look at what it needs now, so a dependency
        // that is down too is known before this one's backoff ends (not at its next interval).
        if (event.status === 'unhealthy' && event.cause !== 'dependency_down') for (const dep of this.runners.get(name)?.dependsOn ?? []) this.trigger(dep);
      },
      restartGate: () => this.retiring.get(name)?.done ?? Promise.resolve(),
      logFileOf: this.deps.logFileOf,
      gpu: this.deps.gpu,
      gpuLocks: this.gpuLocks,
    });
  }
}
