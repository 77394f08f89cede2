// GET /api/alerts, POST /api/alerts/test and secrets in /api/settings (CONTRACT §15), against the
// real server and a real loopback receiver.
import fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { serverConfig, startTestServer, type TestServer } from '../../helpers/server-harness.js';
import { request } from '../../helpers/server-harness.js';
import { httpReceiver, type HttpReceiver } from '../../helpers/alert-receivers.js';

let t: TestServer | undefined;
const receivers: HttpReceiver[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

const call = (method: string, path: string, body?: unknown) =>
  request(t!.server.port, { method, path, headers: { ...t!.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });

async function receiver(): Promise<HttpReceiver> {
  const r = await httpReceiver();
  receivers.push(r);
  return r;
}

async function withChannels(channels: object[]) {
  t = await startTestServer({ config: serverConfig({ alerts: { channels } }) });
  return t;
}

describe('GET /api/alerts and POST /api/alerts/test', () => {
  it('lists each channel without secrets; Send test delivers for real and the result shows in the status', async () => {
    const ok = await receiver();
    const down = await receiver();
    down.answer(500);
    await withChannels([
      { type: 'webhook', name: 'home-assistant', url: `${ok.url}/hook?key=x`, secret: 'hmac-secret' },
      { type: 'ntfy', url: `${down.url}/warden`, token: 'tk_secret', minSeverity: 'error' },
    ]);
    const before = (await call('GET', '/api/alerts')).json<{ channels: { id: string; type: string; target: string; minSeverity: string; queued: number; lastDelivery: unknown; lastError: unknown }[] }>();
    expect(before.channels).toEqual([
      { id: 'home-assistant', type: 'webhook', name: 'home-assistant', target: `${ok.url}/***`, minSeverity: 'warning', queued: 0, lastDelivery: null, lastError: null },
      { id: expect.stringMatching(/^ntfy-[0-9a-f]{10}$/), type: 'ntfy', name: null, target: `${down.url}/war***`, minSeverity: 'error', queued: 0, lastDelivery: null, lastError: null },
    ]);
    expect(JSON.stringify(before)).not.toMatch(/hmac-secret|tk_secret/);

    const one = await call('POST', '/api/alerts/test', { channel: 'home-assistant' });
    expect(one.status).toBe(200);
    expect(one.json()).toEqual({ ok: true, results: [{ channel: 'home-assistant', ok: true }] });
    expect(JSON.parse(ok.received[0]!.body)).toMatchObject({ kind: 'test', title: 'Warden test alert' });

    const all = await call('POST', '/api/alerts/test');
    expect(all.status).toBe(502);
    expect(all.json<{ results: { ok: boolean; error?: string }[] }>().results).toEqual([
      { channel: 'home-assistant', ok: true },
      { channel: before.channels[1]!.id, ok: false, error: 'HTTP 500: {"error":"receiver says no"}' },
    ]);
    const after = (await call('GET', '/api/alerts')).json<{ channels: { lastDelivery: { alertId: string } | null; lastError: { message: string } | null }[] }>();
    expect(after.channels[0]!.lastDelivery).toMatchObject({ title: 'Warden test alert' });
    expect(after.channels[1]!.lastError).toMatchObject({ message: 'HTTP 500: {"error":"receiver says no"}' });
  });

  it('answers 404 for an unknown channel, 400 for a bad body, 409 with none configured', async () => {
    await withChannels([{ type: 'webhook', url: 'http://127.0.0.1:1/hook' }]);
    expect((await call('POST', '/api/alerts/test', { channel: 'nope' })).status).toBe(404);
    expect((await call('POST', '/api/alerts/test', { channel: 7 })).status).toBe(400);
    expect((await call('POST', '/api/alerts/test', '[1]')).status).toBe(400);
    await t!.close();
    t = await startTestServer();
    const none = await call('POST', '/api/alerts/test');
    expect(none.status).toBe(409);
    expect(none.json<{ error: string }>().error).toBe('no alert channels are configured (alerts.channels)');
  });
});

describe('secrets in /api/settings', () => {
  it('GET shows them as "***"; a PUT sending "***" back keeps the stored values; the file keeps the real ones', async () => {
    await withChannels([
      { type: 'ntfy', url: 'https://ntfy.example/warden', token: 'tk_real' },
      { type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'hmac_real', headers: { Authorization: 'Bearer real' } },
      { type: 'apprise', urls: ['tgram://123:abc/456', 'discord://id/token'] },
    ]);
    const got = await call('GET', '/api/settings');
    const masked = got.json<{ alerts: { channels: Record<string, unknown>[] }; healthCheckInterval: number }>();
    expect(masked.alerts.channels).toEqual([
      { type: 'ntfy', url: 'https://ntfy.example/warden', token: '***' },
      { type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: '***', headers: { Authorization: '***' } },
      { type: 'apprise', urls: ['tgram://***', 'discord://***'] },
    ]);
    expect(got.body).not.toMatch(/tk_real|hmac_real|Bearer real|123:abc/);

    // The settings page saves something else, sending the masks back as they came.
    const saved = await call('PUT', '/api/settings', { ...masked, healthCheckInterval: 0.1 });
    expect(saved.status).toBe(200);
    expect(saved.body).not.toMatch(/tk_real|hmac_real/);
    const file = JSON.parse(await fs.readFile(t!.configFile, 'utf8')) as { healthCheckInterval: number; alerts: { channels: Record<string, unknown>[] } };
    expect(file.healthCheckInterval).toBe(0.1);
    expect(file.alerts.channels).toEqual([
      { type: 'ntfy', url: 'https://ntfy.example/warden', token: 'tk_real' },
      { type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'hmac_real', headers: { Authorization: 'Bearer real' } },
      { type: 'apprise', urls: ['tgram://123:abc/456', 'discord://id/token'] },
    ]);
  });

  it('a "***" with nothing stored to keep is a 400 naming the field, and nothing is saved', async () => {
    await withChannels([]);
    const before = await fs.readFile(t!.configFile);
    const settings = (await call('GET', '/api/settings')).json<Record<string, unknown>>();
    const res = await call('PUT', '/api/settings', { ...settings, alerts: { channels: [{ type: 'ntfy', url: 'https://ntfy.example/new', token: '***' }] } });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid settings', issues: [{ path: 'alerts.channels[0].token', message: 'is "***" but there is no stored value to keep: enter it again' }] });
    expect((await fs.readFile(t!.configFile)).equals(before)).toBe(true);
  });

  it('a deep check’s header values are secrets too', async () => {
    t = await startTestServer({ config: serverConfig({ services: [{ name: 'llm', healthUrl: 'http://127.0.0.1:1/health', restartCmd: null, deepCheck: { preset: 'openai-chat', headers: { Authorization: 'Bearer sk-local' } } }] }) });
    const settings = (await call('GET', '/api/settings')).json<{ services: { deepCheck: { headers: Record<string, string> } }[] }>();
    expect(settings.services[0]!.deepCheck.headers).toEqual({ Authorization: '***' });
    expect((await call('PUT', '/api/settings', settings)).status).toBe(200);
    expect(t.warden.settings().services[0]!.deepCheck?.headers).toEqual({ Authorization: 'Bearer sk-local' });
  });
});
