import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import { activeOccurrence, coverage, listWindows, nextChange, nextStart } from '../../../src-main/core/maintenance/windows.js';

// Maintenance windows as pure functions of time (CONTRACT §14): cron boundaries, overlap, the
// next change, and a DST day (cron times are local; croner computes them across the change).
const cfg = (maintenance: unknown[]) => configSchema.parse({ services: [{ name: 'redis', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }, { name: 'rtdetr', healthUrl: 'tcp://127.0.0.1:2', restartCmd: null }], maintenance }).maintenance;
const t = (iso: string) => Date.parse(iso);
const TZ = process.env.TZ;
afterEach(() => {
  if (TZ === undefined) delete process.env.TZ;
  else process.env.TZ = TZ;
});

describe('maintenance windows', () => {
  it('a daily window is active from its cron time for its duration, and not a millisecond outside it', () => {
    process.env.TZ = 'UTC';
    const [w] = cfg([{ cron: '0 3 * * *', duration: 1800, reason: 'backup' }]);
    expect(activeOccurrence(w!, t('2026-12-02T02:59:59.999Z'))).toBeNull();
    expect(activeOccurrence(w!, t('2026-12-02T03:00:00.000Z'))).toEqual({ from: t('2026-12-02T03:00:00Z'), to: t('2026-12-02T03:30:00Z') });
    expect(activeOccurrence(w!, t('2026-12-02T03:29:59.999Z'))).not.toBeNull();
    expect(activeOccurrence(w!, t('2026-12-02T03:30:00.000Z'))).toBeNull();
    expect(nextStart(w!, t('2026-12-02T03:00:00Z'))).toBe(t('2026-12-03T03:00:00Z'));
    expect(nextChange([w!], [], t('2026-12-02T03:10:00Z'))).toBe(t('2026-12-02T03:30:00Z'));
    expect(nextChange([w!], [], t('2026-12-02T04:00:00Z'))).toBe(t('2026-12-03T03:00:00Z'));
  });

  it('overlapping occurrences: the one that ends last counts', () => {
    process.env.TZ = 'UTC';
    const [w] = cfg([{ cron: '*/10 * * * *', duration: 1500 }]); // every 10 min, 25 min long
    expect(activeOccurrence(w!, t('2026-12-02T03:21:00Z'))).toEqual({ from: t('2026-12-02T03:20:00Z'), to: t('2026-12-02T03:45:00Z') });
  });

  it('cron times are local, across a DST change (Europe/Berlin, 29 March 2026)', () => {
    process.env.TZ = 'Europe/Berlin';
    const [w] = cfg([{ cron: '0 3 * * *', duration: 600 }]);
    expect(nextStart(w!, t('2026-03-28T00:00:00Z'))).toBe(t('2026-03-28T02:00:00Z')); // 03:00 CET
    expect(nextStart(w!, t('2026-03-28T03:00:00Z'))).toBe(t('2026-03-29T01:00:00Z')); // 03:00 CEST, the day the clocks jump
    expect(activeOccurrence(w!, t('2026-03-29T01:05:00Z'))).not.toBeNull();
  });

  it('fixed and ad-hoc windows; coverage per service with the reason of the one that ends last', () => {
    const windows = cfg([{ services: ['rtdetr'], from: '2026-12-24T20:00:00Z', to: '2026-12-24T22:00:00Z', reason: 'driver update' }]);
    const adHoc = [{ id: 'api-1', services: null, from: t('2026-12-24T21:00:00Z'), to: t('2026-12-24T21:30:00Z'), reason: null }];
    const at = t('2026-12-24T21:10:00Z');
    expect(coverage(['redis', 'rtdetr'], windows, adHoc, at)).toEqual(
      new Map([
        ['redis', { until: t('2026-12-24T21:30:00Z'), reason: null }],
        ['rtdetr', { until: t('2026-12-24T22:00:00Z'), reason: 'driver update' }],
      ]),
    );
    expect(nextChange(windows, adHoc, at)).toBe(t('2026-12-24T21:30:00Z'));
    expect(nextChange(windows, adHoc, t('2026-12-24T19:00:00Z'))).toBe(t('2026-12-24T20:00:00Z'));
    expect(nextChange(windows, adHoc, t('2026-12-25T00:00:00Z'))).toBeNull(); // all over
    expect(listWindows(windows, adHoc, at)).toEqual([
      { id: 'config-0', services: ['rtdetr'], from: '2026-12-24T20:00:00.000Z', to: '2026-12-24T22:00:00.000Z', reason: 'driver update', source: 'config', active: true },
      { id: 'api-1', services: null, from: '2026-12-24T21:00:00.000Z', to: '2026-12-24T21:30:00.000Z', reason: null, source: 'api', active: true },
    ]);
    expect(listWindows(windows, adHoc, t('2026-12-24T23:00:00Z'))).toEqual([]); // past: nothing to show
  });

  it('a bad window is a config error naming the field', () => {
    const bad = (w: unknown) => configSchema.safeParse({ services: [{ name: 'redis', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }], maintenance: [w] });
    expect(bad({ cron: 'every night', duration: 60 }).error?.issues[0]?.message).toMatch(/^not a valid cron expression/);
    expect(bad({ cron: '0 0 30 2 *', duration: 60 }).error?.issues[0]?.message).toBe('this cron expression never fires (e.g. 30 February)');
    expect(bad({ cron: '0 3 * * *', duration: 60, services: [] }).error?.issues[0]?.message).toBe('must name at least one service (leave it out for all)');
    expect(bad({ from: '2026-12-24T22:00:00Z', to: '2026-12-24T20:00:00Z' }).error?.issues[0]).toMatchObject({ path: ['maintenance', 0, 'to'], message: 'must end after it starts (to > from)' });
    expect(bad({ cron: '0 3 * * *', duration: 60, services: ['nope'] }).error?.issues[0]).toMatchObject({ path: ['maintenance', 0, 'services', 0], message: 'unknown service "nope"' });
  });
});
