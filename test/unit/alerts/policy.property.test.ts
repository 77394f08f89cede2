// The alert policy's limits (CONTRACT §15) over random event sequences, with shrinking: never more
// than 1 alert per service and 5 overall in any minute, and the last word on every service is sent.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { ServiceStatusValue } from '../../../src-shared/status.js';
import { systemClock } from '../../../src-main/core/monitor/clock.js';
import { AlertPolicy, DEFAULT_LIMITS, type Alert } from '../../../src-main/core/alerts/policy.js';

const RUNS = Number(process.env.WARDEN_PROPERTY_RUNS ?? 300);
const SERVICES = ['redis', 'rtdetr', 'nemotron', 'a', 'b', 'c', 'd'];
const STATUSES: ServiceStatusValue[] = ['unhealthy', 'restarting', 'restart_failed', 'failed', 'healthy', 'starting', 'paused'];

function ev(service: string, status: ServiceStatusValue): ServiceStatusEvent {
  return { type: 'service_status', service, status, message: status, timestamp: new Date().toISOString(), attempt: 0, maxAttempts: 3, nextRetryAt: null, latencyMs: null, previous: null };
}

const step = fc.record({ service: fc.constantFrom(...SERVICES), status: fc.constantFrom(...STATUSES), waitMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 90_000 })) });

beforeEach(() => vi.useFakeTimers({ now: 0 }));
afterEach(() => vi.useRealTimers());

describe('AlertPolicy rate limits', () => {
  it(`at most 1 per service and 5 overall in any minute, over ${RUNS} random sequences`, () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        vi.setSystemTime(0);
        const sent: { at: number; alert: Alert }[] = [];
        const policy = new AlertPolicy({ clock: systemClock, send: (alert) => sent.push({ at: Date.now(), alert }) });
        for (const s of steps) {
          policy.handle(ev(s.service, s.status));
          vi.advanceTimersByTime(s.waitMs);
        }
        vi.advanceTimersByTime(10 * DEFAULT_LIMITS.windowMs); // whatever is held goes out
        policy.dispose();
        for (const { at } of sent) {
          const window = sent.filter((x) => x.at > at - DEFAULT_LIMITS.windowMs && x.at <= at);
          expect(window.length).toBeLessThanOrEqual(DEFAULT_LIMITS.overall);
          for (const name of SERVICES) {
            const mentions = window.filter((x) => x.alert.service === name || x.alert.services?.includes(name));
            expect(mentions.length, `${name} alerted twice within a minute`).toBeLessThanOrEqual(DEFAULT_LIMITS.perService);
          }
        }
        expect(new Set(sent.map((x) => x.alert.id)).size).toBe(sent.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('a service flapping for 2 minutes (down and up every 5 s) gets at most 3 alerts: one a minute, the latest word each time', () => {
    const sent: Alert[] = [];
    const policy = new AlertPolicy({ clock: systemClock, send: (a) => sent.push(a) });
    for (let t = 0; t < 120_000; t += 5000) {
      policy.handle(ev('rtdetr', (t / 5000) % 2 === 0 ? 'unhealthy' : 'healthy'));
      vi.advanceTimersByTime(5000);
    }
    vi.advanceTimersByTime(120_000);
    policy.dispose();
    expect(sent.length).toBeLessThanOrEqual(3);
    expect(sent.map((a) => a.title)).toEqual(['rtdetr is unhealthy', 'rtdetr recovered', 'rtdetr recovered']);
  });
});
