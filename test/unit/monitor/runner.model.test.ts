import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configSchema, resolveService, type ResolvedService } from '../../../src-shared/config-schema.js';
import type { ServiceAction, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import type { RestartResult, ServiceManager } from '../../../src-main/core/managers/service-manager.js';
import type { Clock } from '../../../src-main/core/monitor/clock.js';
import { ServiceRunner } from '../../../src-main/core/monitor/runner.js';
import type { ProbeResult, ProbeState } from '../../../src-main/core/probes/probe.js';

// Model-based test of the runner (the part that does I/O and keeps time) on a fake clock: random
// commands — time passing, probes and restarts finishing (or hanging), manual actions, settings
// edits, signals, subscribers that act from inside an event — and after each one the runner holds
// at most one timer, one probe and one restart. Stopping it leaves nothing behind.
const RUNS = Math.max(50, Math.round(Number(process.env.WARDEN_PROPERTY_RUNS ?? 10_000) / 20));

/** A clock whose timers fire only when the test moves time; it counts the timers pending. */
class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  maxPending = 0;

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    this.maxPending = Math.max(this.maxPending, this.timers.size);
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Move time forward, firing due timers in order (a fired timer may set a new one). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (let i = 0; i < 10_000; i++) {
      const next = [...this.timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (!next || next[1].at > end) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await settle();
    }
    this.t = end;
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A strategy whose probes and restarts finish when the test says so; it counts what is in flight. */
class HeldManager implements ServiceManager {
  readonly type = 'shell' as const;
  probes: { finish: (r: ProbeResult) => void }[] = [];
  restarts: { finish: (r: RestartResult) => void }[] = [];
  maxProbes = 0;
  maxRestarts = 0;

  checkHealth(_svc: ResolvedService, signal?: AbortSignal): Promise<ProbeResult> {
    return new Promise((resolve) => {
      const entry = {
        finish: (r: ProbeResult) => {
          this.probes = this.probes.filter((p) => p !== entry);
          resolve(r);
        },
      };
      const done = entry.finish;
      this.probes.push(entry);
      this.maxProbes = Math.max(this.maxProbes, this.probes.length);
      signal?.addEventListener('abort', () => done({ state: 'down', reason: 'aborted', latencyMs: 0 }), { once: true });
    });
  }

  restart(_svc: ResolvedService, signal?: AbortSignal): Promise<RestartResult> {
    return new Promise((resolve) => {
      const entry = {
        finish: (r: RestartResult) => {
          this.restarts = this.restarts.filter((p) => p !== entry);
          resolve(r);
        },
      };
      const done = entry.finish;
      this.restarts.push(entry);
      this.maxRestarts = Math.max(this.maxRestarts, this.restarts.length);
      signal?.addEventListener('abort', () => done({ ok: false, reason: 'aborted', output: '', exitCode: null, signal: 'SIGTERM', timedOut: false }), { once: true });
    });
  }

  finishProbe(state: ProbeState): void {
    this.probes[0]?.finish({ state, reason: state, latencyMs: 1 });
  }

  finishRestart(ok: boolean): void {
    this.restarts[0]?.finish(ok ? { ok: true, output: '' } : { ok: false, reason: 'exit code 1', output: '', exitCode: 1, signal: null, timedOut: false });
  }

  async close(): Promise<void> {}
}

const commands = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 60_000 })) }),
    fc.record({ kind: fc.constant('probe' as const), state: fc.constantFrom<ProbeState>('up', 'loading', 'down') }),
    fc.record({ kind: fc.constant('restart' as const), ok: fc.boolean() }),
    fc.record({ kind: fc.constant('act' as const), action: fc.constantFrom<ServiceAction>('restart', 'pause', 'resume', 'reset') }),
    fc.record({ kind: fc.constant('update' as const), interval: fc.constantFrom(0.1, 1, 15), maxRetries: fc.integer({ min: 1, max: 4 }), monitorOnly: fc.boolean() }),
    fc.record({ kind: fc.constant('trigger' as const) }),
  ),
  { maxLength: 40 },
);

function service(interval: number, maxRetries: number, monitorOnly: boolean): ResolvedService {
  const config = configSchema.parse({
    healthCheckInterval: interval,
    serviceBackoffBase: 1,
    startupTimeout: 5,
    services: [{ name: 'svc', healthUrl: 'http://127.0.0.1:1/health', restartCmd: monitorOnly ? null : 'true', serviceMaxRetries: maxRetries }],
  });
  return resolveService(config, config.services[0]!);
}

describe('the runner under random commands (model-based, fake clock)', () => {
  it('never holds more than one timer, one probe and one restart, and stops with none left', async () => {
    await fc.assert(
      fc.asyncProperty(commands, fc.boolean(), async (cmds, actFromEvents) => {
        const clock = new FakeClock();
        const manager = new HeldManager();
        const events: ServiceStatusEvent[] = [];
        const runner: ServiceRunner = new ServiceRunner(
          { svc: service(1, 3, false), manager },
          {
            clock,
            logger: silentLogger(),
            probed: () => undefined,
            emit: (e) => {
              events.push(e);
              // A subscriber that acts from inside an event (the tray does) must not break the runner.
              if (actFromEvents && e.status === 'unhealthy') runner.act('reset');
              if (actFromEvents && e.status === 'healthy') runner.trigger();
            },
          },
        );
        runner.start();
        await settle();
        for (const cmd of cmds) {
          switch (cmd.kind) {
            case 'advance':
              await clock.advance(cmd.ms);
              break;
            case 'probe':
              manager.finishProbe(cmd.state);
              break;
            case 'restart':
              manager.finishRestart(cmd.ok);
              break;
            case 'act':
              runner.act(cmd.action);
              break;
            case 'update':
              runner.update({ svc: service(cmd.interval, cmd.maxRetries, cmd.monitorOnly), manager });
              break;
            case 'trigger':
              runner.trigger();
              break;
          }
          await settle();
          expect(clock.timers.size).toBeLessThanOrEqual(1);
          expect(manager.probes.length).toBeLessThanOrEqual(1);
          expect(manager.restarts.length).toBeLessThanOrEqual(1);
          // The timer the runner holds is the one the machine planned.
          expect(runner.timerPending).toBe(runner.machine.wakeAt !== null);
        }
        expect(clock.maxPending).toBeLessThanOrEqual(1);
        expect(manager.maxProbes).toBeLessThanOrEqual(1);
        expect(manager.maxRestarts).toBeLessThanOrEqual(1);
        for (const e of events) expect(e.attempt).toBeLessThanOrEqual(e.maxAttempts);

        await runner.stop();
        expect(clock.timers.size).toBe(0);
        expect(manager.probes).toEqual([]);
        expect(manager.restarts).toEqual([]);
        expect(runner.timerPending).toBe(false);
        // Nothing starts after a stop, however long we wait.
        const seen = events.length;
        await clock.advance(3_600_000);
        expect(events.length).toBe(seen);
        expect(manager.probes).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });
});
