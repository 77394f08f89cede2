import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { MaintenanceRequestError, MaintenanceScheduler } from '../../../src-main/core/maintenance/scheduler.js';
import { systemClock } from '../../../src-main/core/monitor/clock.js';

// The scheduler on fake timers: it tells each service exactly when a window begins and ends, and
// keeps ad-hoc windows across a restart of Warden (a real file in a temp dir).
let dir: string;
const calls: string[] = [];
const target = {
  names: () => ['redis', 'rtdetr'],
  setMaintenance: (name: string, until: number | null, reason: string | null) => calls.push(`${Date.now()}:${name}:${until === null ? '-' : until}${reason ? `:${reason}` : ''}`),
};
const make = () => new MaintenanceScheduler({ clock: systemClock, target, file: path.join(dir, 'maintenance.json'), logger: silentLogger() });
const windows = (w: unknown[]) => configSchema.parse({ services: [{ name: 'redis', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }, { name: 'rtdetr', healthUrl: 'tcp://127.0.0.1:2', restartCmd: null }], maintenance: w }).maintenance;
/** The calls that changed something for a service (the scheduler repeats unchanged ones; the runner ignores those). */
const changes = (name: string) => {
  const out: string[] = [];
  let last = '';
  for (const c of calls) {
    const [at, n, ...rest] = c.split(':');
    if (n !== name) continue;
    const v = rest.join(':');
    if (v !== last) out.push(`${at}:${v}`);
    last = v;
  }
  return out;
};

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-maint-'));
  calls.length = 0;
});
const TZ = process.env.TZ;
afterEach(() => {
  if (TZ === undefined) delete process.env.TZ;
  else process.env.TZ = TZ;
  vi.useRealTimers();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the maintenance scheduler', () => {
  it('begins and ends a fixed window exactly on time, for the services it names', async () => {
    const s = make();
    s.apply(windows([{ services: ['rtdetr'], from: new Date(60_000).toISOString(), to: new Date(120_000).toISOString(), reason: 'driver update' }]));
    s.start();
    await vi.advanceTimersByTimeAsync(200_000);
    expect(changes('rtdetr')).toEqual(['0:-', '60000:120000:driver update', '120000:-']);
    expect(changes('redis')).toEqual(['0:-']);
    s.stop();
  });

  it('an ad-hoc window from now, kept in a file across a restart of Warden; End ends it at once', async () => {
    const s = make();
    s.start();
    const w = await s.begin({ minutes: 30, reason: 'swap the model' });
    expect(w).toMatchObject({ services: null, from: new Date(0).toISOString(), to: new Date(1_800_000).toISOString(), reason: 'swap the model', source: 'api', active: true });
    expect(changes('redis').at(-1)).toBe('0:1800000:swap the model');
    s.stop();

    await vi.advanceTimersByTimeAsync(600_000);
    const again = make(); // Warden restarted 10 minutes in
    await again.load();
    again.start();
    expect(again.list().windows).toEqual([expect.objectContaining({ id: w.id, to: w.to, active: true })]);
    expect(await again.endAdHoc()).toBe(1);
    expect(changes('rtdetr').at(-1)).toBe('600000:-');
    expect(again.list().windows).toEqual([]);
    again.stop();
  });

  it('requests at once are written one after the other: all of them land in the file (review)', async () => {
    const s = make();
    s.start();
    const made = await Promise.all([1, 2, 3, 4].map((n) => s.begin({ minutes: n, services: ['rtdetr'] })));
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'maintenance.json'), 'utf8')) as { windows: { id: string }[] };
    expect(saved.windows.map((w) => w.id).sort()).toEqual(made.map((w) => w.id).sort());
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    s.stop();
  });

  it('refuses a bad request with a reason, and changes nothing', async () => {
    const s = make();
    s.start();
    await expect(s.begin({ minutes: 0 })).rejects.toThrow(MaintenanceRequestError);
    await expect(s.begin({ minutes: 60 * 24 * 8 })).rejects.toThrow(/at most 10080/);
    await expect(s.begin({ minutes: 5, services: ['nope', 'nada'] })).rejects.toThrow('unknown services: nope, nada');
    await expect(s.begin({ minutes: 5, reason: 'x'.repeat(201) })).rejects.toThrow(/200 characters/);
    await expect(s.begin({ minutes: 5, services: [] })).rejects.toThrow('services must name at least one service (leave it out for all)');
    expect(s.list().windows).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'maintenance.json'))).toBe(false);
    s.stop();
  });

  it('a corrupt maintenance file is kept aside, never overwritten; expired windows are dropped on load', async () => {
    const file = path.join(dir, 'maintenance.json');
    fs.writeFileSync(file, '{"windows": [');
    const s = make();
    await s.load();
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('maintenance.json.bad-'))).toHaveLength(1);
    fs.writeFileSync(file, JSON.stringify({ windows: [{ id: 'old', services: null, from: -10, to: -1, reason: null }, { id: 'junk' }] }));
    const t = make();
    await t.load();
    t.start();
    expect(t.list().windows).toEqual([]);
    t.stop();
  });

  it('a recurring window wakes it every night, and a config change applies at once', async () => {
    process.env.TZ = 'UTC';
    const s = make();
    s.apply(windows([{ cron: '0 1 * * *', duration: 600 }]));
    s.start();
    await vi.advanceTimersByTimeAsync(2 * 86_400_000);
    expect(changes('redis')).toEqual(['0:-', '3600000:4200000', '4200000:-', '90000000:90600000', '90600000:-']);
    s.apply([]);
    expect(s.list().windows).toEqual([]);
    s.stop();
  });
});
