import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { ServiceStatusValue } from '../../../src-shared/status.js';
import { systemClock } from '../../../src-main/core/monitor/clock.js';
import { AlertPolicy, urgencyOf, type Alert } from '../../../src-main/core/alerts/policy.js';

function ev(service: string, status: ServiceStatusValue, message: string = status, extra: Partial<ServiceStatusEvent> = {}): ServiceStatusEvent {
  return { type: 'service_status', service, status, message, timestamp: new Date().toISOString(), attempt: 0, maxAttempts: 3, nextRetryAt: null, latencyMs: null, previous: null, ...extra };
}

/** What was sent, with the tray's urgency beside each. */
let shown: (Alert & { urgency: 'normal' | 'critical' })[];
let quiet: Set<string>;
let repeatAfter: number;
let policy: AlertPolicy;

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2025-12-26T02:30:00Z') });
  shown = [];
  quiet = new Set();
  repeatAfter = 0;
  policy = new AlertPolicy({ clock: systemClock, send: (a) => shown.push({ ...a, urgency: urgencyOf(a) }), quiet: (s) => quiet.has(s), repeatAfter: () => repeatAfter });
});
afterEach(() => {
  policy.dispose();
  vi.useRealTimers();
});

const minute = 60_000;

describe('one notification story per failure episode', () => {
  it('notifies when a service becomes a problem, not again while it is being restarted, and once on recovery', () => {
    policy.handle(ev('rtdetr', 'unhealthy', 'connection refused'));
    policy.handle(ev('rtdetr', 'restarting', 'Attempting restart (attempt 1/3)'));
    policy.handle(ev('rtdetr', 'restart_failed', 'Restart failed', { reason: 'exit code 1' }));
    policy.handle(ev('rtdetr', 'restarting', 'Attempting restart (attempt 2/3)'));
    policy.handle(ev('rtdetr', 'starting', 'Loading model'));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('rtdetr', 'healthy', 'Service restarted successfully'));
    expect(shown.map((n) => [n.kind, n.title, n.body])).toEqual([
      ['problem', 'rtdetr is unhealthy', 'connection refused'],
      ['recovered', 'rtdetr recovered', 'Service restarted successfully'],
    ]);
  });

  it('notifies a second time only when the episode ends in failed, carrying the last restart error', () => {
    policy.handle(ev('nemotron', 'unhealthy', 'timeout after 5 s'));
    policy.handle(ev('nemotron', 'restart_failed', 'Restart failed', { reason: 'llama-server: model file missing' }));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('nemotron', 'failed', 'Max retries exceeded'));
    policy.handle(ev('nemotron', 'restarting', 'Attempting restart (attempt 1/3)')); // failedRetryInterval round
    policy.handle(ev('nemotron', 'failed', 'Max retries exceeded'));
    expect(shown.map((n) => [n.kind, n.body, n.urgency])).toEqual([
      ['problem', 'timeout after 5 s', 'normal'],
      ['failed', 'Max retries exceeded — last error: llama-server: model file missing', 'critical'],
    ]);
  });

  it('names only the root cause: a dependent waiting for Redis gets no notice of its own, nor a recovery (CONTRACT §14)', () => {
    policy.handle(ev('redis', 'unhealthy', 'Health check failed: connection refused'));
    policy.handle(ev('rtdetr', 'unhealthy', 'Health check failed: connection refused; waiting for redis (not restarted while it is down)', { cause: 'dependency_down' }));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('redis', 'healthy', 'Service restarted successfully'));
    policy.handle(ev('rtdetr', 'healthy', 'Service recovered without restart'));
    expect(shown.map((n) => n.title)).toEqual(['redis is unhealthy', 'redis recovered']);
  });

  it('a failure with a cause says what it means and what to do (CONTRACT §12)', () => {
    policy.handle(ev('nemotron', 'restart_failed', 'Restart attempt 1/3 failed', { reason: 'exit code 1: "failed to fit params to free device memory"', cause: 'cuda_oom' }));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('nemotron', 'failed', 'Max retries exceeded', { cause: 'cuda_oom' }));
    expect(shown.at(-1)?.body).toMatch(/Max retries exceeded — last error: exit code 1: "failed to fit params to free device memory"\nThe model does not fit in free GPU memory\. Free GPU memory/);
  });

  it('a failed status without earlier restart errors is reported on its own', () => {
    policy.handle(ev('redis', 'unhealthy', 'refused'));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('redis', 'failed', 'Max retries exceeded'));
    expect(shown.at(-1)?.body).toBe('Max retries exceeded');
  });

  it('a service first seen as failed gets one critical notice, then the recovery', () => {
    policy.handle(ev('redis', 'failed', 'Max retries exceeded'));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('redis', 'failed', 'Max retries exceeded'));
    policy.handle(ev('redis', 'healthy', 'recovered without restart'));
    expect(shown.map((n) => [n.kind, n.title, n.urgency])).toEqual([
      ['failed', 'redis failed', 'critical'],
      ['recovered', 'redis recovered', 'normal'],
    ]);
  });

  it('a problem event with a reason shows the message and the reason', () => {
    policy.handle(ev('rtdetr', 'restart_failed', 'Restart failed', { reason: 'exit code 2' }));
    expect(shown[0]).toMatchObject({ title: 'rtdetr could not be restarted', body: 'Restart failed: exit code 2' });
  });

  it('healthy, starting and unknown outside an episode say nothing', () => {
    policy.handle(ev('redis', 'unknown'));
    policy.handle(ev('redis', 'starting'));
    policy.handle(ev('redis', 'healthy'));
    expect(shown).toEqual([]);
  });

  it('a new episode after a recovery is a new story', () => {
    policy.handle(ev('redis', 'unhealthy'));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('redis', 'healthy'));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('redis', 'restarting'));
    expect(shown.map((n) => n.title)).toEqual(['redis is unhealthy', 'redis recovered', 'redis is being restarted']);
  });
});

describe('paused services and maintenance', () => {
  it('a paused service is silent: pausing ends its episode without a recovery notice', () => {
    policy.handle(ev('rtdetr', 'unhealthy'));
    policy.handle(ev('rtdetr', 'paused', 'Paused'));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('rtdetr', 'healthy'));
    expect(shown.map((n) => n.kind)).toEqual(['problem']);
  });

  it('a notice held by the rate limit is dropped when its service is paused', () => {
    policy.handle(ev('rtdetr', 'unhealthy'));
    policy.handle(ev('rtdetr', 'healthy')); // held: one per service per minute
    policy.handle(ev('rtdetr', 'paused'));
    vi.advanceTimersByTime(5 * minute);
    expect(shown.map((n) => n.kind)).toEqual(['problem']);
  });

  it('a service in a maintenance window is silent, also for a manual restart in it (CONTRACT §14)', () => {
    quiet.add('rtdetr');
    policy.handle(ev('rtdetr', 'restarting', 'Attempting restart (attempt 1/3)'));
    policy.handle(ev('rtdetr', 'restart_failed', 'Restart failed', { reason: 'exit code 1' }));
    policy.handle(ev('rtdetr', 'healthy', 'Service restarted successfully'));
    expect(shown).toEqual([]);
    quiet.delete('rtdetr');
    policy.handle(ev('rtdetr', 'unhealthy', 'refused'));
    expect(shown.map((a) => a.title)).toEqual(['rtdetr is unhealthy']);
  });
});

describe('rate limits', () => {
  it('at most one notice per service per minute: a flapping service gets the rest as one later notice', () => {
    policy.handle(ev('rtdetr', 'unhealthy'));
    policy.handle(ev('rtdetr', 'healthy'));
    policy.handle(ev('rtdetr', 'unhealthy'));
    policy.handle(ev('rtdetr', 'healthy', 'recovered without restart'));
    expect(shown).toHaveLength(1);
    vi.advanceTimersByTime(minute - 1);
    expect(shown).toHaveLength(1);
    vi.advanceTimersByTime(1);
    // Only the latest word on rtdetr is kept.
    expect(shown.map((n) => [n.kind, n.body])).toEqual([
      ['problem', 'unhealthy'],
      ['recovered', 'recovered without restart'],
    ]);
  });

  it('at most five per minute overall: the excess is coalesced into one summary', () => {
    const names = ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'];
    for (const n of names) policy.handle(ev(n, 'unhealthy'));
    expect(shown.map((n) => n.service)).toEqual(['s1', 's2', 's3', 's4', 's5']);
    vi.advanceTimersByTime(minute);
    expect(shown).toHaveLength(6);
    expect(shown[5]).toMatchObject({ kind: 'summary', title: 'Warden: 3 services changed', body: 's6 is unhealthy\ns7 is unhealthy\ns8 is unhealthy', urgency: 'normal' });
    // The summary counts toward the limit, and each service in it toward its own.
    policy.handle(ev('s6', 'failed', 'Max retries exceeded'));
    expect(shown).toHaveLength(6);
    vi.advanceTimersByTime(minute);
    expect(shown.at(-1)).toMatchObject({ kind: 'failed', service: 's6' });
  });

  it('a summary holding a failure is critical', () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) policy.handle(ev(n, 'unhealthy'));
    policy.handle(ev('f', 'failed'));
    policy.handle(ev('g', 'unhealthy'));
    vi.advanceTimersByTime(minute);
    expect(shown.at(-1)).toMatchObject({ kind: 'summary', urgency: 'critical' });
  });

  it('the window slides: a slot frees up a minute after the oldest notice', () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) {
      policy.handle(ev(n, 'unhealthy'));
      vi.advanceTimersByTime(10_000);
    }
    policy.handle(ev('f', 'unhealthy')); // t = 50 s: held until a's slot frees at t = 60 s
    expect(shown).toHaveLength(5);
    vi.advanceTimersByTime(10_000);
    expect(shown.at(-1)).toMatchObject({ kind: 'problem', service: 'f' });
  });

  it('dispose cancels a held summary', () => {
    policy.handle(ev('a', 'unhealthy'));
    policy.handle(ev('a', 'healthy'));
    policy.dispose();
    vi.advanceTimersByTime(5 * minute);
    expect(shown).toHaveLength(1);
  });

  it('limits are configurable', () => {
    const mine: Alert[] = [];
    const p = new AlertPolicy({ clock: systemClock, send: (a) => mine.push(a), limits: { overall: 1 } });
    p.handle(ev('a', 'unhealthy'));
    p.handle(ev('b', 'unhealthy'));
    expect(mine).toHaveLength(1);
    p.dispose();
  });
});

describe('what an alert carries (CONTRACT §15)', () => {
  it('an id of its own, the time, severity by story (a recovery as bad as what it ends), cause and reason on failed', () => {
    policy.handle(ev('nemotron', 'unhealthy', 'refused'));
    policy.handle(ev('nemotron', 'restart_failed', 'Restart failed', { reason: 'exit code 1', cause: 'cuda_oom' }));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('nemotron', 'failed', 'Max retries exceeded', { cause: 'cuda_oom' }));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('nemotron', 'healthy', 'Service restarted successfully'));
    expect(shown.map((a) => [a.kind, a.severity, a.status, a.cause, a.reason])).toEqual([
      ['problem', 'warning', 'unhealthy', undefined, undefined],
      ['failed', 'error', 'failed', 'cuda_oom', 'exit code 1'],
      ['recovered', 'error', 'healthy', undefined, undefined],
    ]);
    expect(new Set(shown.map((a) => a.id)).size).toBe(3);
    expect(shown[0]!.at).toBe('2025-12-26T02:30:00.000Z');
    policy.handle(ev('redis', 'unhealthy'));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('redis', 'healthy'));
    expect(shown.at(-1)).toMatchObject({ kind: 'recovered', severity: 'warning' });
  });

  it('groups dependents under their root cause: its failed and recovered alerts name who waits for it (CONTRACT §14)', () => {
    policy.handle(ev('redis', 'unhealthy', 'refused'));
    policy.handle(ev('rtdetr', 'unhealthy', 'refused; waiting for redis', { cause: 'dependency_down', waitingFor: 'redis' }));
    policy.handle(ev('nemotron', 'unhealthy', 'refused; waiting for redis', { cause: 'dependency_down', waitingFor: 'redis' }));
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('redis', 'failed', 'Max retries exceeded'));
    policy.handle(ev('rtdetr', 'healthy')); // it came back on its own meanwhile: no longer waiting
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('redis', 'healthy', 'Service restarted successfully'));
    expect(shown.map((a) => [a.title, a.affected])).toEqual([
      ['redis is unhealthy', undefined],
      ['redis failed', ['nemotron', 'rtdetr']],
      ['redis recovered', ['nemotron']],
    ]);
  });

  it('repeatAfter: a reminder while it stays failed, every repeatAfter s, until it recovers', () => {
    repeatAfter = 600;
    policy.handle(ev('nemotron', 'failed', 'Max retries exceeded'));
    vi.advanceTimersByTime(25 * minute);
    policy.handle(ev('nemotron', 'healthy'));
    vi.advanceTimersByTime(60 * minute);
    expect(shown.map((a) => [a.title, a.severity])).toEqual([
      ['nemotron failed', 'error'],
      ['nemotron is still failed', 'error'],
      ['nemotron is still failed', 'error'],
      ['nemotron recovered', 'error'],
    ]);
    expect(shown[1]!.body).toBe('Still failed after 600 s');
  });

  it('a reminder stops when the service is paused, and dispose stops them all', () => {
    repeatAfter = 60;
    policy.handle(ev('a', 'failed'));
    policy.handle(ev('b', 'failed'));
    policy.handle(ev('a', 'paused'));
    policy.dispose();
    vi.advanceTimersByTime(10 * minute);
    expect(shown.map((x) => x.title)).toEqual(['a failed', 'b failed']);
  });
});

describe('forget and drain', () => {
  it('a removed service is forgotten: no reminder of it, and a new one of that name starts a new story', () => {
    repeatAfter = 60;
    policy.handle(ev('old', 'failed'));
    policy.forget(new Set(['other']));
    vi.advanceTimersByTime(10 * minute);
    policy.handle(ev('old', 'unhealthy'));
    expect(shown.map((a) => a.title)).toEqual(['old failed', 'old is unhealthy']);
  });

  it('drain hands over what the rate limit holds (one alert, or a summary of several) and holds nothing after', () => {
    policy.handle(ev('a', 'unhealthy'));
    policy.handle(ev('a', 'healthy')); // held
    expect(policy.drain().map((x) => x.title)).toEqual(['a recovered']);
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('b', 'unhealthy'));
    policy.handle(ev('c', 'unhealthy'));
    policy.handle(ev('b', 'healthy'));
    policy.handle(ev('c', 'healthy'));
    expect(policy.drain().map((x) => [x.kind, x.services])).toEqual([['summary', ['b', 'c']]]);
    expect(policy.drain()).toEqual([]);
    vi.advanceTimersByTime(5 * minute);
    expect(shown.map((x) => x.title)).toEqual(['a is unhealthy', 'b is unhealthy', 'c is unhealthy']);
  });
});
