// Maintenance windows through the real server (CONTRACT §14): POST an ad-hoc window, the
// services are paused (probed, never restarted), GET lists it, DELETE ends it and they are
// probed at once; bad bodies get a 400 with the reason; the CLI drives the same API.
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import type { MaintenanceList, MaintenanceWindow } from '../../../src-shared/protocol.js';
import { main } from '../../../src-main/cli/main.js';
import { parseMinutes } from '../../../src-main/cli/client-commands.js';
import { captureIo } from '../../helpers/capture-io.js';
import { waitUntil } from '../../helpers/process-tree.js';
import { request, startTestServer, type TestServer } from '../../helpers/server-harness.js';

let t: TestServer;
afterEach(async () => {
  await t?.close();
});

const services = [
  { name: 'redis', healthUrl: 'tcp://127.0.0.1:1', restartCmd: 'true' },
  { name: 'rtdetr', healthUrl: 'tcp://127.0.0.1:2', restartCmd: 'true' },
];
const json = (body: unknown) => ({ 'content-type': 'application/json', body: JSON.stringify(body) });

describe('maintenance over the API', () => {
  it('POST pauses the services it names (probed, never restarted); GET lists it; DELETE ends it and they are probed at once', async () => {
    t = await startTestServer({ config: configSchema.parse({ healthCheckInterval: 3600, services }) });
    await waitUntil(() => t.warden.monitor.state('rtdetr')?.status === 'healthy');
    const { body, ...headers } = json({ services: ['rtdetr'], minutes: 30, reason: 'driver update' });
    const created = await request(t.server.port, { method: 'POST', path: '/api/maintenance', headers: { ...t.auth, ...headers }, body });
    expect(created.status).toBe(201);
    const w = created.json<{ ok: true; window: MaintenanceWindow }>().window;
    expect(w).toMatchObject({ services: ['rtdetr'], reason: 'driver update', source: 'api', active: true });
    expect(Date.parse(w.to) - Date.parse(w.from)).toBe(30 * 60_000);
    expect(t.warden.monitor.state('rtdetr')).toMatchObject({ status: 'paused', maintenanceUntil: w.to });
    expect(t.warden.monitor.state('rtdetr')?.message).toMatch(/^In maintenance until \d\d:\d\d UTC \(driver update\): probed, never restarted$/);
    expect(t.warden.monitor.state('redis')?.status).toBe('healthy');

    t.manager.set('rtdetr', 'down'); // the owner stopped it to update the driver
    t.warden.monitor.trigger('rtdetr');
    await waitUntil(() => /last check: down/.test(t.warden.monitor.state('rtdetr')?.message ?? ''));
    expect(t.manager.restartTimes('rtdetr')).toEqual([]);

    const listed = await request(t.server.port, { path: '/api/maintenance', headers: t.auth });
    expect(listed.json<MaintenanceList>().windows).toEqual([w]);

    t.manager.set('rtdetr', 'up');
    const probesBefore = t.manager.probeTimes('rtdetr').length;
    const ended = await request(t.server.port, { method: 'DELETE', path: '/api/maintenance', headers: t.auth });
    expect(ended.json()).toEqual({ ok: true, ended: 1 });
    await waitUntil(() => t.warden.monitor.state('rtdetr')?.status === 'healthy'); // an hour's interval: only the at-once look does this
    expect(t.manager.probeTimes('rtdetr').length).toBeGreaterThan(probesBefore);
    expect(t.warden.monitor.state('rtdetr')?.maintenanceUntil).toBeUndefined();
  });

  it('a bad request gets a 400 with the reason and changes nothing', async () => {
    t = await startTestServer({ config: configSchema.parse({ healthCheckInterval: 3600, services }) });
    const post = async (b: unknown) => {
      const { body, ...headers } = json(b);
      const res = await request(t.server.port, { method: 'POST', path: '/api/maintenance', headers: { ...t.auth, ...headers }, body });
      return [res.status, res.json<{ error: string }>().error];
    };
    expect(await post([])).toEqual([400, expect.stringMatching(/^body must be a JSON object/)]);
    expect(await post({ services: ['rtdetr'] })).toEqual([400, 'minutes is required: a number of minutes']);
    expect(await post({ minutes: 5, services: 'rtdetr' })).toEqual([400, 'services must be a list of service names (leave it out for all)']);
    expect(await post({ minutes: 5, reason: 7 })).toEqual([400, 'reason must be text']);
    expect(await post({ minutes: 5, until: 'tomorrow' })).toEqual([400, 'unknown field: until']);
    expect(await post({ minutes: -1 })).toEqual([400, 'minutes must be more than 0 and at most 10080 (a week)']);
    expect(await post({ minutes: 5, services: ['nope'] })).toEqual([400, 'unknown service: nope']);
    expect((await request(t.server.port, { path: '/api/maintenance', headers: t.auth })).json<MaintenanceList>().windows).toEqual([]);
  });

  it('the CLI: warden maintenance [NAME…] DURATION, the list, and --end', async () => {
    t = await startTestServer({ config: configSchema.parse({ healthCheckInterval: 3600, services }) });
    const env = { WARDEN_TOKEN: t.token, HOME: t.dir, XDG_CONFIG_HOME: t.dir, XDG_STATE_HOME: t.dir, XDG_RUNTIME_DIR: t.dir };
    const url = `http://127.0.0.1:${t.server.port}`;
    const run = async (...args: string[]) => {
      const io = captureIo(env);
      const code = await main(['maintenance', ...args, '--url', url], io, new AbortController().signal);
      return { code, out: io.out(), err: io.err() };
    };
    expect(await run('1h30m', '--reason', 'swap the model')).toMatchObject({ code: 0, out: expect.stringMatching(/^maintenance until \S+ for all services\n$/) });
    expect(t.warden.monitor.state('redis')?.status).toBe('paused');
    expect((await run()).out).toMatch(new RegExp(String.raw`^active {2}\S+ → \S+ {2}all services {2}\(swap the model\) {2}\[api\]\n$`));
    expect(JSON.parse((await run('--json')).out).windows).toHaveLength(1);
    expect(await run('rtdetr', 'soon')).toMatchObject({ code: 2, err: 'maintenance: "soon" is not a duration (e.g. 30m, 2h, 1h30m)\n' });
    expect(await run('nope', '5m')).toMatchObject({ code: 2, err: 'maintenance refused: HTTP 400 unknown service: nope\n' });
    expect(await run('--end')).toMatchObject({ code: 0, out: 'ended 1 maintenance window\n' });
    expect(await run('--end')).toMatchObject({ code: 0, out: 'no ad-hoc maintenance window was active\n' });
    expect((await run()).out).toBe('no maintenance windows\n');
  });

  it('reads durations as people write them', () => {
    expect(['30m', '2h', '1h30m', '1d', '45', '0.5', '', '10s', 'h'].map(parseMinutes)).toEqual([30, 120, 90, 1440, 45, 0.5, null, null, null]);
  });
});
