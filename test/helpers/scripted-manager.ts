import type { ResolvedService } from '../../src-shared/config-schema.js';
import type { RestartOptions, RestartResult, ServiceManager } from '../../src-main/core/managers/service-manager.js';
import type { ProbeResult, ProbeState } from '../../src-main/core/probes/probe.js';

/**
 * A strategy whose answers a unit test scripts, so the monitor's schedule can be checked exactly
 * under fake timers. Integration tests use the real managers against real processes.
 */
export class ScriptedManager implements ServiceManager {
  readonly type = 'shell' as const;
  /** What each service's probe answers now (default: up). */
  health = new Map<string, ProbeState | (() => ProbeState)>();
  /** What a restart does (default: succeeds and the service is up afterwards). */
  onRestart = new Map<string, (svc: ResolvedService, signal?: AbortSignal) => Promise<RestartResult>>();
  /** How long each probe of a service takes (fake-timer milliseconds; default 0). */
  probeDelay = new Map<string, number>();
  readonly probes: { service: string; at: number }[] = [];
  readonly restarts: { service: string; at: number; manual: boolean }[] = [];

  set(name: string, state: ProbeState | (() => ProbeState)): void {
    this.health.set(name, state);
  }

  /** Latency is the (fake) time the probe took. */
  async checkHealth(svc: ResolvedService, signal?: AbortSignal): Promise<ProbeResult> {
    const started = Date.now();
    this.probes.push({ service: svc.name, at: started });
    const delay = this.probeDelay.get(svc.name);
    // Like the real probes, an abort ends the wait at once.
    if (delay) await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    if (signal?.aborted) return { state: 'down', reason: 'aborted', latencyMs: Date.now() - started };
    const h = this.health.get(svc.name) ?? 'up';
    const state = typeof h === 'function' ? h() : h;
    const latencyMs = Date.now() - started;
    if (state === 'up') return { state, reason: 'HTTP 200', latencyMs };
    if (state === 'loading') return { state, reason: 'Loading model', latencyMs };
    return { state, reason: 'connection refused', latencyMs };
  }

  async restart(svc: ResolvedService, signal?: AbortSignal, opts: RestartOptions = {}): Promise<RestartResult> {
    this.restarts.push({ service: svc.name, at: Date.now(), manual: opts.manual === true });
    const custom = this.onRestart.get(svc.name);
    if (custom) return custom(svc, signal);
    this.health.set(svc.name, 'up');
    return { ok: true, output: 'started' };
  }

  /** Restarts of this service fail with exit code 1. */
  failRestarts(name: string): void {
    this.onRestart.set(name, async () => ({ ok: false, reason: 'exit code 1', output: 'boom: no GPU', exitCode: 1, signal: null, timedOut: false }));
  }

  probeTimes(name: string): number[] {
    return this.probes.filter((p) => p.service === name).map((p) => p.at);
  }

  restartTimes(name: string): number[] {
    return this.restarts.filter((p) => p.service === name).map((p) => p.at);
  }

  async close(): Promise<void> {}
}
