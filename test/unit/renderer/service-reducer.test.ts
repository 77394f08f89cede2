import { describe, expect, it } from 'vitest';
import { applyEvent, hasProblem, initialServicesState, isProblem, messageType, normaliseState, servicesReducer } from '../../../src-renderer/state/service-reducer.js';
import { STATUSES } from '../../../src-shared/status.js';
import { byName, event, state } from './fixtures.js';

describe('service reducer', () => {
  it('a snapshot replaces every service, keeping the server order', () => {
    const before = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('old')] });
    const after = servicesReducer(before, { type: 'snapshot', services: [state('b'), state('a')] });
    expect(Object.keys(after.services)).toEqual(['b', 'a']);
  });

  it('a snapshot entry without a service name is skipped', () => {
    const s = servicesReducer(initialServicesState, { type: 'snapshot', services: [null, { status: 'healthy' }, state('a')] });
    expect(Object.keys(s.services)).toEqual(['a']);
  });

  it('an event merges its fields into the named service and starts a new "since" on a status change', () => {
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('rtdetr', { restarts: 2, recentLatencies: [1, 2] })] });
    const s1 = servicesReducer(s0, {
      type: 'event',
      event: event('rtdetr', { status: 'restarting', message: 'Attempting restart (attempt 2/3)', attempt: 2, nextRetryAt: null }),
    });
    expect(s1.services.rtdetr).toMatchObject({ status: 'restarting', message: 'Attempting restart (attempt 2/3)', attempt: 2, restarts: 2, since: '2025-12-26T02:30:00.000Z', recentLatencies: [1, 2] });
    expect(s1.revision).toBe(s0.revision + 1);
  });

  it('an event with the same status keeps "since"', () => {
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('a', { status: 'failed', since: '2025-12-26T01:00:00.000Z' })] });
    const s1 = servicesReducer(s0, { type: 'event', event: event('a', { status: 'failed', message: 'still failed' }) });
    expect(s1.services.a?.since).toBe('2025-12-26T01:00:00.000Z');
  });

  it('an event carrying a restart failure becomes the last failure, with its output', () => {
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('a')] });
    const s1 = servicesReducer(s0, { type: 'event', event: event('a', { status: 'restart_failed', reason: 'exit code 1', output: 'boom' }) });
    expect(s1.services.a?.lastFailure).toEqual({ reason: 'exit code 1', output: 'boom', at: '2025-12-26T02:30:00.000Z', cause: 'exit' });
    const s2 = servicesReducer(s1, { type: 'event', event: { ...event('a', { status: 'restart_failed' }), reason: 'timed out', output: undefined } });
    expect(s2.services.a?.lastFailure).toEqual({ reason: 'timed out', output: '', at: '2025-12-26T02:30:00.000Z', cause: 'exit' });
  });

  it('an event for an unknown service adds it', () => {
    const s = servicesReducer(initialServicesState, { type: 'event', event: event('newcomer', { status: 'starting' }) });
    expect(s.services.newcomer).toMatchObject({ service: 'newcomer', status: 'starting', restarts: 0, since: '2025-12-26T02:30:00.000Z', lastFailure: null });
  });

  it('an unknown status is shown as unknown instead of breaking the page', () => {
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [{ ...state('a'), status: 'exploded' }] });
    expect(s0.services.a?.status).toBe('unknown');
    const s1 = servicesReducer(s0, { type: 'event', event: { ...event('a'), status: 'monitor_only' } });
    expect(s1.services.a?.status).toBe('unknown');
  });

  it('a malformed event changes nothing', () => {
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('a')] });
    for (const bad of [null, 'text', [], { type: 'service_status' }, { service: '' }]) {
      expect(servicesReducer(s0, { type: 'event', event: bad })).toBe(s0);
    }
  });

  it('missing event fields keep the values the service had', () => {
    const base = state('a', { nextRetryAt: '2025-12-26T03:00:00.000Z', latencyMs: 9 });
    const merged = applyEvent(base, { service: 'a', status: 'unhealthy' });
    expect(merged).toMatchObject({ message: base.message, timestamp: base.timestamp, attempt: 0, maxAttempts: 3, nextRetryAt: '2025-12-26T03:00:00.000Z', latencyMs: 9 });
    expect(applyEvent(base, { service: 'a', status: 'unhealthy', nextRetryAt: null, latencyMs: 'slow' })).toMatchObject({ nextRetryAt: null, latencyMs: null });
  });

  it('a poll newer than the live state replaces it', () => {
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('a')] });
    const polled = state('a', { status: 'failed', timestamp: '2025-12-26T03:00:00.000Z', restarts: 3 });
    expect(servicesReducer(s0, { type: 'poll', services: [polled] }).services.a).toEqual(polled);
  });

  it('a poll older than the last event refreshes probe details but never undoes the newer status', () => {
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('a')] });
    const s1 = servicesReducer(s0, { type: 'event', event: event('a', { status: 'restarting', timestamp: '2025-12-26T02:30:00.000Z' }) });
    const stale = state('a', {
      status: 'healthy',
      timestamp: '2025-12-26T02:00:00.000Z',
      lastCheckAt: '2025-12-26T02:31:00.000Z',
      latencyMs: 12,
      recentLatencies: [10, 12],
      restarts: 1,
      lastFailure: { reason: 'x', output: 'y', at: '2025-12-26T02:29:00.000Z', cause: 'exit' },
      monitorOnly: true,
    });
    const s2 = servicesReducer(s1, { type: 'poll', services: [stale] });
    expect(s2.services.a).toMatchObject({ status: 'restarting', lastCheckAt: '2025-12-26T02:31:00.000Z', latencyMs: 12, recentLatencies: [10, 12], restarts: 1, monitorOnly: true });
    expect(s2.services.a?.lastFailure?.reason).toBe('x');
  });

  it('dependsOn comes from the snapshot and polls (events keep it); an older poll still updates it; junk is dropped', () => {
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [{ ...state('a'), dependsOn: ['redis', 7] }] });
    expect(s0.services.a?.dependsOn).toEqual(['redis']);
    const s1 = servicesReducer(s0, { type: 'event', event: event('a', { status: 'unhealthy', timestamp: '2025-12-26T02:30:00.000Z' }) });
    expect(s1.services.a?.dependsOn).toEqual(['redis']);
    const older = (dependsOn?: string[]) => ({ ...state('a', { timestamp: '2025-12-26T02:00:00.000Z' }), ...(dependsOn ? { dependsOn } : {}) });
    expect(servicesReducer(s1, { type: 'poll', services: [older(['redis', 'minio'])] }).services.a?.dependsOn).toEqual(['redis', 'minio']);
    expect(servicesReducer(s1, { type: 'poll', services: [older()] }).services.a?.dependsOn).toBeUndefined();
    expect(normaliseState({ ...state('a'), dependsOn: 'redis' })?.dependsOn).toBeUndefined();
  });

  it('deepCheck comes from the snapshot and polls, events keep it, an older poll still updates it, junk is dropped (CONTRACT §14)', () => {
    const deep = { request: 'POST /completion', every: 300, outcome: 'ok', reason: 'POST /completion: HTTP 200', latencyMs: 412, at: '2025-12-26T02:04:00.000Z' };
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [{ ...state('a'), deepCheck: deep }] });
    expect(s0.services.a?.deepCheck).toEqual(deep);
    const s1 = servicesReducer(s0, { type: 'event', event: event('a', { status: 'unhealthy', timestamp: '2025-12-26T02:30:00.000Z' }) });
    expect(s1.services.a?.deepCheck).toEqual(deep);
    const failed = { ...deep, outcome: 'failed', reason: 'POST /completion: no answer within 30 s', latencyMs: 30000 };
    const older = { ...state('a', { timestamp: '2025-12-26T02:00:00.000Z' }), deepCheck: failed };
    expect(servicesReducer(s1, { type: 'poll', services: [older] }).services.a?.deepCheck).toEqual(failed);
    expect(normaliseState({ ...state('a'), deepCheck: { request: 'GET /x', outcome: 'weird', every: 'often' } })?.deepCheck).toEqual({ request: 'GET /x', every: 0, outcome: 'pending', reason: '', latencyMs: null, at: null });
    expect(normaliseState({ ...state('a'), deepCheck: { outcome: 'ok' } })?.deepCheck).toBeUndefined();
  });

  it('a poll drops services that are no longer configured and adds new ones', () => {
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('a'), state('gone')] });
    const s1 = servicesReducer(s0, { type: 'poll', services: [state('a'), state('added')] });
    expect(Object.keys(s1.services)).toEqual(['a', 'added']);
  });

  it('normalises missing and wrongly typed fields to neutral values', () => {
    expect(normaliseState({ service: 'x', latencyMs: Infinity, recentLatencies: [1, 'a', NaN, 2], lastFailure: { reason: 'r' } })).toEqual({
      service: 'x',
      status: 'unknown',
      message: '',
      timestamp: '1970-01-01T00:00:00.000Z',
      attempt: 0,
      maxAttempts: 0,
      nextRetryAt: null,
      lastCheckAt: null,
      latencyMs: null,
      restarts: 0,
      since: '1970-01-01T00:00:00.000Z',
      lastFailure: { reason: 'r', output: '', at: '', cause: 'exit' },
      monitorOnly: false,
      recentLatencies: [1, 2],
    });
    expect(normaliseState({ service: 'x', recentLatencies: 'no', lastFailure: { output: 'o' } })).toMatchObject({ recentLatencies: [], lastFailure: null });
  });

  it('counts starting, restarting and the failures as problems; healthy, unknown and paused are not', () => {
    expect(STATUSES.filter(isProblem)).toEqual(['starting', 'unhealthy', 'restarting', 'restart_failed', 'failed']);
    expect(hasProblem(byName(state('a'), state('b', { status: 'paused' }), state('c', { status: 'unknown' })))).toBe(false);
    expect(hasProblem(byName(state('a'), state('b', { status: 'restarting' })))).toBe(true);
  });

  it('keeps waitUntil (the GPU release wait) from a state, and only a string one', () => {
    const until = '2025-12-26T02:30:25.000Z';
    expect(normaliseState(state('a', { status: 'restarting', waitUntil: until }))?.waitUntil).toBe(until);
    expect(normaliseState({ ...state('a'), waitUntil: 25 })).not.toHaveProperty('waitUntil');
    expect(normaliseState(state('a'))).not.toHaveProperty('waitUntil');
  });

  it('an event sets waitUntil while the restart waits at the GPU gate; the next event without it clears it', () => {
    const until = '2025-12-26T02:30:25.000Z';
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('a')] });
    const s1 = servicesReducer(s0, { type: 'event', event: event('a', { status: 'restarting', waitUntil: until }) });
    expect(s1.services.a?.waitUntil).toBe(until);
    const s2 = servicesReducer(s1, { type: 'event', event: event('a', { status: 'restarting', message: 'Attempting restart (attempt 1/3)' }) });
    expect(s2.services.a).not.toHaveProperty('waitUntil');
    // A service first met in an event, already waiting.
    expect(applyEvent(undefined, event('b', { status: 'restarting', waitUntil: until }))?.waitUntil).toBe(until);
  });

  it('an older poll does not bring back or drop a wait the events reported', () => {
    const until = '2025-12-26T02:30:25.000Z';
    const s0 = servicesReducer(initialServicesState, { type: 'event', event: event('a', { status: 'restarting', waitUntil: until }) });
    const polled = servicesReducer(s0, { type: 'poll', services: [state('a', { timestamp: '2025-12-26T02:00:00.000Z' })] });
    expect(polled.services.a?.waitUntil).toBe(until);
  });

  it('keeps maintenanceUntil from a state, and only a string one', () => {
    const until = '2025-12-26T03:30:00.000Z';
    expect(normaliseState(state('a', { status: 'paused', maintenanceUntil: until }))?.maintenanceUntil).toBe(until);
    expect(normaliseState({ ...state('a', { status: 'paused' }), maintenanceUntil: 1800 })).not.toHaveProperty('maintenanceUntil');
    expect(normaliseState(state('a'))).not.toHaveProperty('maintenanceUntil');
  });

  it('events never carry maintenanceUntil: it is kept while the service stays paused, and dropped once it is not', () => {
    const until = '2025-12-26T03:30:00.000Z';
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('a', { status: 'paused', maintenanceUntil: until })] });
    const s1 = servicesReducer(s0, { type: 'event', event: event('a', { status: 'paused', message: 'In maintenance until 03:30: probed, never restarted' }) });
    expect(s1.services.a?.maintenanceUntil).toBe(until);
    const s2 = servicesReducer(s1, { type: 'event', event: event('a', { status: 'healthy', previous: 'paused' }) });
    expect(s2.services.a).not.toHaveProperty('maintenanceUntil');
  });

  it('a poll sets and clears maintenanceUntil, also when it is older than the events (while the service is still paused)', () => {
    const until = '2025-12-26T03:30:00.000Z';
    const later = '2025-12-26T04:00:00.000Z';
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('a')] });
    const set = servicesReducer(s0, { type: 'poll', services: [state('a', { status: 'paused', maintenanceUntil: until })] });
    expect(set.services.a?.maintenanceUntil).toBe(until);
    // An event newer than the next poll: the poll still refreshes the end (the window was extended)…
    const paused = servicesReducer(set, { type: 'event', event: event('a', { status: 'paused', timestamp: '2025-12-26T03:00:00.000Z' }) });
    const extended = servicesReducer(paused, { type: 'poll', services: [state('a', { status: 'paused', maintenanceUntil: later })] });
    expect(extended.services.a).toMatchObject({ status: 'paused', maintenanceUntil: later });
    // …and clears it (ended) …
    const cleared = servicesReducer(extended, { type: 'poll', services: [state('a', { status: 'paused' })] });
    expect(cleared.services.a).not.toHaveProperty('maintenanceUntil');
    // …but an older poll does not bring it back once the events said the service is no longer paused.
    const resumed = servicesReducer(extended, { type: 'event', event: event('a', { status: 'healthy', timestamp: '2025-12-26T03:10:00.000Z' }) });
    const stale = servicesReducer(resumed, { type: 'poll', services: [state('a', { status: 'paused', maintenanceUntil: later })] });
    expect(stale.services.a).toMatchObject({ status: 'healthy' });
    expect(stale.services.a).not.toHaveProperty('maintenanceUntil');
  });

  it('counts events into, within and out of paused in pauseRevision (the maintenance list is refetched on them), and no others', () => {
    const s0 = servicesReducer(initialServicesState, { type: 'snapshot', services: [state('a'), state('b')] });
    const s1 = servicesReducer(s0, { type: 'event', event: event('a', { status: 'unhealthy' }) });
    expect([s1.revision, s1.pauseRevision]).toEqual([1, 0]);
    const s2 = servicesReducer(s1, { type: 'event', event: event('a', { status: 'paused' }) });
    const s3 = servicesReducer(s2, { type: 'event', event: event('a', { status: 'paused', message: 'extended' }) });
    const s4 = servicesReducer(s3, { type: 'event', event: event('a', { status: 'healthy' }) });
    expect([s4.revision, s4.pauseRevision]).toEqual([4, 3]);
    // Snapshots and polls keep both counters.
    const s5 = servicesReducer(servicesReducer(s4, { type: 'snapshot', services: [state('a')] }), { type: 'poll', services: [state('a')] });
    expect([s5.revision, s5.pauseRevision]).toEqual([4, 3]);
  });

  it('recognises the server message types only', () => {
    expect(messageType({ type: 'snapshot' })).toBe('snapshot');
    expect(messageType({ type: 'service_status' })).toBe('service_status');
    expect(messageType({ type: 'heartbeat' })).toBe('heartbeat');
    expect(messageType({ type: 'config' })).toBe('config');
    expect(messageType({ type: 'gpu' })).toBe('gpu');
    expect(messageType({ type: 'other' })).toBeNull();
    expect(messageType('heartbeat')).toBeNull();
  });
});
