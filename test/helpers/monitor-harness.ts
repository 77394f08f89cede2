import { vi } from 'vitest';
import { configSchema, resolveService, type WardenConfig } from '../../src-shared/config-schema.js';
import type { ServiceStatusEvent } from '../../src-shared/protocol.js';
import { silentLogger } from '../../src-main/core/log/logger.js';
import { HealthMonitor, type ServiceRuntime } from '../../src-main/core/monitor/health-monitor.js';
import { systemClock } from '../../src-main/core/monitor/clock.js';
import type { ServiceManager } from '../../src-main/core/managers/service-manager.js';
import { ScriptedManager } from './scripted-manager.js';

/** Build a config from partial input (services default to one scripted service "svc"). */
export function testConfig(input: Record<string, unknown> = {}): WardenConfig {
  return configSchema.parse({
    services: [{ name: 'svc', healthUrl: 'http://127.0.0.1:1/health', restartCmd: 'true' }],
    ...input,
  });
}

/** Every service of a config, run by one strategy. */
export function runtimesOf(config: WardenConfig, manager: ServiceManager): ServiceRuntime[] {
  return config.services.map((s) => ({ svc: resolveService(config, s), manager }));
}

/** A monitor on fake timers starting at t = 0, with a scripted manager and an event log. */
export function harness(config: WardenConfig = testConfig()) {
  vi.useFakeTimers({ now: 0 });
  const manager = new ScriptedManager();
  const monitor = new HealthMonitor({ services: runtimesOf(config, manager), logger: silentLogger(), clock: systemClock });
  const events: (ServiceStatusEvent & { at: number })[] = [];
  monitor.subscribe((e) => {
    events.push({ ...e, at: Date.now() });
  });
  return {
    manager,
    monitor,
    events,
    /** Events as "t:status" strings, the schedule at a glance. */
    timeline: (service?: string) => events.filter((e) => !service || e.service === service).map((e) => `${e.at}:${e.status}`),
    advance: (ms: number) => vi.advanceTimersByTimeAsync(ms),
    /** Apply a new config live, as Warden does after a settings save. */
    apply: (next: WardenConfig) => monitor.apply(runtimesOf(next, manager)),
    async dispose() {
      await monitor.stop();
      vi.useRealTimers();
    },
  };
}
