import fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { WardenConfig } from '../../../src-shared/config-schema.js';
import { withEnvOverrides } from '../../../src-main/core/config/config-file.js';
import { request, serverConfig, startTestServer, type TestServer } from '../../helpers/server-harness.js';

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

// As `warden serve` does: the environment and --port apply over the saved settings.
const env = { WARDEN_SERVICE_MAX_RETRIES: '7', WARDEN_ALPHA_RESTART_CMD: './from-env.sh' };
const overlay = (s: WardenConfig): WardenConfig => ({ ...withEnvOverrides(s, env), server: { host: '127.0.0.1', port: 0 } });

describe('settings and overrides', () => {
  it('serves and saves the settings as the file has them; overrides stay in effect but are never written back', async () => {
    t = await startTestServer({ overlay });
    expect(t.warden.config().serviceMaxRetries).toBe(7);
    const got = await request(t.server.port, { path: '/api/settings', headers: t.auth });
    const settings = got.json<WardenConfig>();
    expect(settings.serviceMaxRetries).toBe(3);
    expect(settings.services[0]?.restartCmd).toBe('true');

    const put = await request(t.server.port, { method: 'PUT', path: '/api/settings', headers: { ...t.auth, 'content-type': 'application/json' }, body: JSON.stringify({ ...settings, healthCheckInterval: 9 }) });
    expect(put.status).toBe(200);
    const saved = JSON.parse(await fs.readFile(t.configFile, 'utf8')) as WardenConfig;
    expect(saved).toMatchObject({ healthCheckInterval: 9, serviceMaxRetries: 3, server: { port: 8765 } });
    expect(saved.services[0]?.restartCmd).toBe('true');
    expect(t.warden.config()).toMatchObject({ healthCheckInterval: 9, serviceMaxRetries: 7 });
    expect(t.warden.config().services[0]?.restartCmd).toBe('./from-env.sh');
  });

  it('refuses settings an override no longer fits, naming the variable, and saves nothing', async () => {
    t = await startTestServer({ overlay: (s) => withEnvOverrides(s, { WARDEN_GAMMA_HEALTH_URL: 'gopher://x' }) });
    const before = await fs.readFile(t.configFile, 'utf8');
    const next = serverConfig({ services: [{ name: 'gamma', healthUrl: 'http://127.0.0.1:1/g', restartCmd: 'true' }] });
    const put = await request(t.server.port, { method: 'PUT', path: '/api/settings', headers: { ...t.auth, 'content-type': 'application/json' }, body: JSON.stringify(next) });
    expect(put.status).toBe(400);
    expect(put.json()).toMatchObject({ error: 'invalid settings', issues: [{ path: 'WARDEN_GAMMA_HEALTH_URL' }] });
    expect(await fs.readFile(t.configFile, 'utf8')).toBe(before);
  });
});
