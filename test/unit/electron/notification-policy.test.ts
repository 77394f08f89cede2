import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { ServiceStatusValue } from '../../../src-shared/status.js';
import { systemClock } from '../../../src-main/core/monitor/clock.js';
import { NotificationPolicy, type Notice } from '../../../src-main/electron/notification-policy.js';

function ev(service: string, status: ServiceStatusValue, message: string = status, extra: Partial<ServiceStatusEvent> = {}): ServiceStatusEvent {
  return { type: 'service_status', service, status, message, timestamp: new Date().toISOString(), attempt: 0, maxAttempts: 3, nextRetryAt: null, latencyMs: null, previous: null, ...extra };
}

let shown: Notice[];
let muted: boolean;
let policy: NotificationPolicy;

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2025-12-26T02:30:00Z') });
  shown = [];
  muted = false;
  policy = new NotificationPolicy({ clock: systemClock, show: (n) => shown.push(n), isMuted: () => muted });
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

describe('paused services and muting', () => {
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

  it('muted: nothing is shown, but episodes are still tracked so unmuting does not replay them', () => {
    muted = true;
    policy.handle(ev('redis', 'unhealthy'));
    policy.handle(ev('redis', 'restarting'));
    muted = false;
    vi.advanceTimersByTime(2 * minute);
    policy.handle(ev('redis', 'restart_failed'));
    expect(shown).toEqual([]);
    policy.handle(ev('redis', 'healthy', 'Service restarted successfully'));
    expect(shown.map((n) => n.kind)).toEqual(['recovered']);
  });

  it('muting while a summary is held drops the summary', () => {
    policy.handle(ev('a', 'unhealthy'));
    policy.handle(ev('a', 'healthy'));
    muted = true;
    vi.advanceTimersByTime(5 * minute);
    expect(shown).toHaveLength(1);
  });

  it('app errors are shown at once, even when muted or over the limits', () => {
    muted = true;
    for (let i = 0; i < 7; i++) policy.error('Warden settings were corrupt', `moved aside ${i}`);
    expect(shown).toHaveLength(7);
    expect(shown[0]).toMatchObject({ kind: 'error', urgency: 'critical' });
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
    const mine: Notice[] = [];
    const p = new NotificationPolicy({ clock: systemClock, show: (n) => mine.push(n), isMuted: () => false, limits: { overall: 1 } });
    p.handle(ev('a', 'unhealthy'));
    p.handle(ev('b', 'unhealthy'));
    expect(mine).toHaveLength(1);
    p.dispose();
  });
});
