import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServiceState, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { browserHost, startServer } from '../../../src-main/core/server/http-server.js';
import { contentTypeFor, defaultStaticDir, resolveUnder } from '../../../src-main/core/server/static-files.js';
import { waitUntil } from '../../helpers/process-tree.js';
import { nextEvent, request, serverConfig, startTestServer, type TestServer } from '../../helpers/server-harness.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const get = (path: string, headers: Record<string, string | null> = {}) => request(t!.server.port, { path, headers: { ...t!.auth, ...headers } });
const post = (path: string) => request(t!.server.port, { method: 'POST', path, headers: t!.auth });
const put = (body: string, opts: { chunked?: boolean } = {}) =>
  request(t!.server.port, { method: 'PUT', path: '/api/settings', headers: { ...t!.auth, 'content-type': 'application/json' }, body, ...opts });

async function statusOf(name: string): Promise<string | undefined> {
  const res = await get('/api/status');
  return res.json<{ services: ServiceState[] }>().services.find((s) => s.service === name)?.status;
}

describe('GET /api/status', () => {
  it('answers every service state in config order with a timestamp, as uncached JSON', async () => {
    t = await startTestServer();
    await waitUntil(async () => (await statusOf('alpha')) === 'healthy');
    const res = await get('/api/status');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const body = res.json<{ services: ServiceState[]; timestamp: string }>();
    expect(body.services.map((s) => s.service)).toEqual(['alpha', 'beta']);
    expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Object.keys(body.services[0]!)).toEqual(
      expect.arrayContaining(['service', 'status', 'message', 'timestamp', 'attempt', 'maxAttempts', 'nextRetryAt', 'lastCheckAt', 'latencyMs', 'restarts', 'since']),
    );
  });

  it('answers HEAD like GET without a body', async () => {
    t = await startTestServer();
    const res = await request(t.server.port, { method: 'HEAD', path: '/api/status', headers: t.auth });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
  });
});

describe('GET /api/services/:name/history', () => {
  it('answers recent events newest last, honouring limit', async () => {
    t = await startTestServer();
    await waitUntil(async () => (await statusOf('alpha')) === 'healthy');
    await post('/api/services/alpha/pause');
    await waitUntil(async () => (await statusOf('alpha')) === 'paused');

    const all = (await get('/api/services/alpha/history')).json<{ service: string; events: ServiceStatusEvent[] }>();
    expect(all.service).toBe('alpha');
    expect(all.events.map((e) => e.status)).toEqual(['healthy', 'paused']);
    const last = (await get('/api/services/alpha/history?limit=1')).json<{ events: ServiceStatusEvent[] }>();
    expect(last.events.map((e) => e.status)).toEqual(['paused']);
  });

  it.each(['0', '-1', 'abc', '1.5', '1001'])('refuses limit=%s with 400', async (limit) => {
    t = await startTestServer();
    const res = await get(`/api/services/alpha/history?limit=${limit}`);
    expect(res.status).toBe(400);
    expect(res.json().error).toMatch(/limit/);
  });

  it('answers 404 for an unknown service, or an undecodable name', async () => {
    t = await startTestServer();
    expect((await get('/api/services/nope/history')).status).toBe(404);
    expect((await get('/api/services/%E0%A4%A/history')).status).toBe(404);
  });
});

describe('GET /api/services/:name/uptime (extension)', () => {
  it('answers the healthy share of the last N hours in 24 buckets', async () => {
    t = await startTestServer();
    await waitUntil(async () => (await statusOf('alpha')) === 'healthy');
    const res = await get('/api/services/alpha/uptime?hours=2');
    expect(res.status).toBe(200);
    const body = res.json<{ service: string; hours: number; ratio: number; buckets: (number | null)[] }>();
    expect(body).toMatchObject({ service: 'alpha', hours: 2, ratio: 1 });
    expect(body.buckets).toHaveLength(24);
    expect((await get('/api/services/alpha/uptime')).json().hours).toBe(24);
  });

  it('refuses a bad hours value with 400 and an unknown service with 404', async () => {
    t = await startTestServer();
    expect((await get('/api/services/alpha/uptime?hours=0')).status).toBe(400);
    expect((await get('/api/services/alpha/uptime?hours=721')).status).toBe(400);
    expect((await get('/api/services/nope/uptime')).status).toBe(404);
  });
});

describe('POST /api/services/:name/(restart|pause|resume|reset)', () => {
  it('accepts each action with 202 {"ok":true}', async () => {
    t = await startTestServer();
    for (const action of ['restart', 'pause', 'resume', 'reset']) {
      if (action === 'restart') await waitUntil(async () => (await statusOf('alpha')) === 'healthy');
      const restarted = action === 'restart' ? nextEvent(t.warden, (e) => e.service === 'alpha' && e.status === 'healthy' && e.previous === 'restarting') : null;
      const res = await post(`/api/services/alpha/${action}`);
      expect(res.status, action).toBe(202);
      expect(res.json()).toMatchObject({ ok: true, message: expect.any(String) });
      await restarted;
    }
  });

  it('answers 404 for an unknown service and for an unknown action', async () => {
    t = await startTestServer();
    const res = await post('/api/services/nope/restart');
    expect(res.status).toBe(404);
    expect(res.json().error).toMatch(/nope/);
    expect((await post('/api/services/alpha/explode')).status).toBe(404);
  });

  it('answers 409 busy while a restart is in flight, and 409 monitor_only for a service without restartCmd', async () => {
    t = await startTestServer();
    let release!: () => void;
    t.manager.onRestart.set('alpha', () => new Promise((resolve) => (release = () => resolve({ ok: true, output: '' }))));
    const restarting = nextEvent(t.warden, (e) => e.service === 'alpha' && e.status === 'restarting');
    expect((await post('/api/services/alpha/restart')).status).toBe(202);
    await restarting;
    const busy = await post('/api/services/alpha/restart');
    expect(busy.status).toBe(409);
    expect(busy.json()).toMatchObject({ ok: false, error: 'busy', message: expect.stringMatching(/in progress/) });
    release();

    const monitorOnly = await post('/api/services/beta/restart');
    expect(monitorOnly.status).toBe(409);
    expect(monitorOnly.json()).toMatchObject({ ok: false, error: 'monitor_only' });
  });

  it('answers 405 with Allow for the wrong method', async () => {
    t = await startTestServer();
    const res = await get('/api/services/alpha/restart');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    const del = await request(t.server.port, { method: 'DELETE', path: '/api/status', headers: t.auth });
    expect(del.status).toBe(405);
    expect(del.headers.allow).toBe('GET');
  });

  it('answers 404 for an unknown /api path', async () => {
    t = await startTestServer();
    expect((await get('/api/nothing')).status).toBe(404);
    expect((await get('/api')).status).toBe(404);
  });
});

describe('settings', () => {
  it('GET /api/settings answers the config in use', async () => {
    t = await startTestServer();
    const res = await get('/api/settings');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual(JSON.parse(JSON.stringify(t.warden.config())));
  });

  it('PUT with bad fields answers 400 naming each field and leaves the file byte-for-byte untouched', async () => {
    t = await startTestServer();
    const before = await fs.readFile(t.configFile);
    const bad = { ...t.warden.config(), healthCheckInterval: -1, services: [{ name: 'x', healthUrl: 'ftp://nope', restartCmd: null }] };
    const res = await put(JSON.stringify(bad));
    expect(res.status).toBe(400);
    const body = res.json<{ error: string; issues: { path: string; message: string }[] }>();
    expect(body.error).toBe('invalid settings');
    expect(body.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['healthCheckInterval', 'services[0].healthUrl']));
    expect(body.issues.every((i) => i.message.length > 0)).toBe(true);
    expect((await fs.readFile(t.configFile)).equals(before)).toBe(true);
    expect(t.warden.config().healthCheckInterval).toBe(0.05);
  });

  it('PUT with health URLs that pass a pattern but cannot be probed answers 400 with the reason (CONTRACT §9.10)', async () => {
    t = await startTestServer();
    const before = await fs.readFile(t.configFile);
    const urls = ['http://127.0.0.1:99999/health', 'redis://:%zz@h:6379', 'http://[::1/health'];
    const bad = { ...t.warden.config(), services: urls.map((healthUrl, i) => ({ name: `s${i}`, healthUrl, restartCmd: 'true' })) };
    const res = await put(JSON.stringify(bad));
    expect(res.status).toBe(400);
    expect(res.json<{ issues: unknown[] }>().issues).toEqual([
      { path: 'services[0].healthUrl', message: 'port 99999 is out of range (1–65535)' },
      { path: 'services[1].healthUrl', message: 'bad percent-encoding in the password (write % as %25)' },
      { path: 'services[2].healthUrl', message: 'unclosed "[" in the host (IPv6 looks like [::1]:8090)' },
    ]);
    expect((await fs.readFile(t.configFile)).equals(before)).toBe(true);
    expect(t.warden.monitor.states().map((s) => s.service)).toEqual(['alpha', 'beta']);
  });

  it('PUT with a body that is not JSON answers 400 "invalid JSON" and leaves the file untouched', async () => {
    t = await startTestServer();
    const before = await fs.readFile(t.configFile);
    const res = await put('{"services": [');
    expect(res.status).toBe(400);
    expect(res.json().error).toBe('invalid JSON');
    expect((await fs.readFile(t.configFile)).equals(before)).toBe(true);
  });

  it('PUT with a body over 64 KiB answers 413, whether announced or streamed', async () => {
    t = await startTestServer();
    const before = await fs.readFile(t.configFile);
    const huge = JSON.stringify({ pad: 'x'.repeat(70 * 1024) });
    expect((await put(huge)).status).toBe(413);
    expect((await put(huge, { chunked: true })).status).toBe(413);
    expect((await fs.readFile(t.configFile)).equals(before)).toBe(true);
    // The connection-level drain did not wedge the server.
    expect((await get('/api/status')).status).toBe(200);
  });

  it('PUT with valid settings saves the file, answers 200 and applies them live', async () => {
    t = await startTestServer();
    const next = serverConfig({
      healthCheckInterval: 0.1,
      services: [...t.warden.config().services, { name: 'gamma', healthUrl: 'http://127.0.0.1:1/g', restartCmd: 'true' }],
    });
    const res = await put(JSON.stringify(next));
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ ok: true, config: { healthCheckInterval: 0.1 } });
    const saved = JSON.parse(await fs.readFile(t.configFile, 'utf8')) as { healthCheckInterval: number; services: { name: string }[] };
    expect(saved.healthCheckInterval).toBe(0.1);
    expect(saved.services.map((s) => s.name)).toEqual(['alpha', 'beta', 'gamma']);
    await waitUntil(async () => (await statusOf('gamma')) === 'healthy');
  });

  it('a save that fails answers 500 and the server keeps serving', async () => {
    t = await startTestServer();
    // The config "file" is a directory: the atomic save cannot replace it.
    await fs.rm(t.configFile);
    await fs.mkdir(t.configFile);
    const res = await put(JSON.stringify(t.warden.config()));
    expect(res.status).toBe(500);
    expect(res.json().error).toBe('internal error');
    expect((await get('/api/status')).status).toBe(200);
  });
});

describe('GET /healthz and /metrics', () => {
  it('/healthz answers {"status":"ok"} without a token; other methods get 405', async () => {
    t = await startTestServer();
    const res = await request(t.server.port, { path: '/healthz' });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect((await request(t.server.port, { method: 'POST', path: '/healthz' })).status).toBe(405);
  });

  it('/metrics answers Prometheus text with status gauges, probe durations and restart outcomes', async () => {
    t = await startTestServer();
    await waitUntil(async () => (await statusOf('alpha')) === 'healthy');
    const restarted = nextEvent(t.warden, (e) => e.service === 'alpha' && e.status === 'healthy' && e.previous === 'restarting');
    await post('/api/services/alpha/restart');
    await restarted;
    t.manager.failRestarts('alpha');
    const failed = nextEvent(t.warden, (e) => e.service === 'alpha' && e.status === 'restart_failed');
    await post('/api/services/alpha/restart');
    await failed;
    await post('/api/services/alpha/pause');

    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^warden_service_up\{service="beta"\} [01]$/m);
    expect(res.body).toMatch(/^warden_service_status\{service="alpha",status="paused"\} 1$/m);
    expect(res.body).toMatch(/^warden_service_status\{service="alpha",status="healthy"\} 0$/m);
    expect(res.body).toMatch(/^warden_probe_duration_seconds_count\{service="alpha"\} [1-9]\d*$/m);
    expect(res.body).toMatch(/^warden_restarts_total\{service="alpha",result="success"\} 1$/m);
    expect(res.body).toMatch(/^warden_restarts_total\{service="alpha",result="failure"\} [1-9]\d*$/m);
  });

  it('/metrics has every restart counter at 0 for every service before its first restart, also for a service added live (§10)', async () => {
    t = await startTestServer({ start: false });
    const first = await get('/metrics');
    for (const service of ['alpha', 'beta']) {
      for (const result of ['success', 'failure']) expect(first.body).toMatch(new RegExp(`^warden_restarts_total\\{service="${service}",result="${result}"\\} 0$`, 'm'));
    }
    await t.warden.updateConfig({ ...t.warden.settings(), services: [...t.warden.settings().services, { name: 'gamma', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }] });
    expect((await get('/metrics')).body).toMatch(/^warden_restarts_total\{service="gamma",result="failure"\} 0$/m);
  });

  it('/metrics of two servers in one process are independent', async () => {
    t = await startTestServer();
    const other = await startTestServer({ config: serverConfig({ services: [{ name: 'solo', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }] }) });
    try {
      const mine = await get('/metrics');
      const theirs = await request(other.server.port, { path: '/metrics', headers: other.auth });
      expect(mine.body).not.toMatch(/service="solo"/);
      expect(theirs.body).toMatch(/service="solo"/);
      expect(theirs.body).not.toMatch(/service="alpha"/);
    } finally {
      await other.close();
    }
  });
});

describe('demo hook', () => {
  it('POST /api/demo/:name/crash calls the hook: 202 when it crashed something, 404 when not', async () => {
    const crashed: string[] = [];
    t = await startTestServer({ demo: { crash: async (name) => (crashed.push(name), name === 'alpha') } });
    expect((await post('/api/demo/alpha/crash')).status).toBe(202);
    expect((await post('/api/demo/zeta/crash')).status).toBe(404);
    expect(crashed).toEqual(['alpha', 'zeta']);
  });

  it('POST /api/demo/:name/break calls the hook: 202 when it broke something, 404 when not; absent without it', async () => {
    const broken: string[] = [];
    t = await startTestServer({ demo: { crash: async () => false, breakCompletions: async (name) => (broken.push(name), name === 'nemotron') } });
    expect((await post('/api/demo/nemotron/break')).status).toBe(202);
    expect((await post('/api/demo/redis/break')).status).toBe(404);
    expect(broken).toEqual(['nemotron', 'redis']);
    await t.close();
    t = await startTestServer({ demo: { crash: async () => false } });
    expect((await post('/api/demo/nemotron/break')).status).toBe(404);
  });

  it('without the hook the route does not exist', async () => {
    t = await startTestServer();
    expect((await post('/api/demo/alpha/crash')).status).toBe(404);
  });
});

describe('static dashboard', () => {
  async function withDashboard(): Promise<string> {
    const root = path.join(t!.dir, 'site', 'renderer');
    await fs.mkdir(path.join(root, 'assets'), { recursive: true });
    await fs.writeFile(path.join(root, 'index.html'), '<!doctype html><title>dash</title>');
    await fs.writeFile(path.join(root, 'assets', 'index-3f2a1b.js'), 'console.log(1)');
    await fs.writeFile(path.join(root, 'assets', 'index-3f2a1b.css'), 'body{}');
    await fs.writeFile(path.join(root, 'icon.svg'), '<svg/>');
    await fs.writeFile(path.join(root, 'blob.bin'), 'x');
    await fs.writeFile(path.join(t!.dir, 'site', 'package.json'), '{"secret":true}');
    await fs.symlink(path.join(t!.dir, 'site', 'package.json'), path.join(root, 'linked.json'));
    return root;
  }

  async function dashboardServer(): Promise<number> {
    const base = await startTestServer();
    t = base;
    const root = await withDashboard();
    const s = await startServer({ warden: base.warden, host: '127.0.0.1', port: 0, token: base.token, logger: silentLogger(), staticDir: root });
    const close = base.close;
    base.close = async () => {
      await s.close();
      await close();
    };
    return s.port;
  }

  it('serves index.html at / with the CSP, no-cache and the security headers, without a token', async () => {
    const port = await dashboardServer();
    const res = await request(port, { path: '/' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('<title>dash</title>');
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    );
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  it('serves hashed assets with their content type and immutable caching', async () => {
    const port = await dashboardServer();
    const js = await request(port, { path: '/assets/index-3f2a1b.js' });
    expect(js.status).toBe(200);
    expect(js.body).toBe('console.log(1)');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-security-policy']).toBeUndefined();
    expect((await request(port, { path: '/assets/index-3f2a1b.css' })).headers['content-type']).toBe('text/css; charset=utf-8');
    const svg = await request(port, { path: '/icon.svg?v=2' });
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.headers['cache-control']).toBe('no-cache');
    expect((await request(port, { path: '/blob.bin' })).headers['content-type']).toBe('application/octet-stream');
  });

  it('answers client-side routes (no extension) with index.html, and a missing file with 404', async () => {
    const port = await dashboardServer();
    expect((await request(port, { path: '/services/alpha' })).body).toContain('<title>dash</title>');
    expect((await request(port, { path: '/assets' })).body).toContain('<title>dash</title>');
    expect((await request(port, { path: '/assets/missing-123.js' })).status).toBe(404);
  });

  it.each(['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/assets/..%2F..%2Fpackage.json', '/a%00.js', '/%E0%A4%A', '/..\\package.json', '/linked.json'])(
    'refuses %s with 404 (no path traversal)',
    async (p) => {
      const port = await dashboardServer();
      const res = await request(port, { path: p });
      expect(res.status).toBe(404);
      expect(res.body).not.toContain('secret');
    },
  );

  it('supports HEAD and refuses other methods with 405', async () => {
    const port = await dashboardServer();
    const head = await request(port, { method: 'HEAD', path: '/assets/index-3f2a1b.js' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('14');
    expect(head.body).toBe('');
    const post = await request(port, { method: 'POST', path: '/' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('serves a placeholder page while the dashboard is not built', async () => {
    t = await startTestServer();
    for (const method of ['GET', 'HEAD']) {
      const res = await request(t.server.port, { method, path: '/' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      if (method === 'GET') expect(res.body).toContain('Warden is running — dashboard not built; run npm run build');
    }
  });

  it('finds dist/renderer from the sources and from the compiled output', () => {
    expect(defaultStaticDir('/repo/src-main/core/server')).toBe('/repo/dist/renderer');
    expect(defaultStaticDir('/repo/dist/src-main/core/server')).toBe('/repo/dist/renderer');
    expect(defaultStaticDir()).toBe(path.resolve('dist/renderer'));
    expect(contentTypeFor('x.WOFF2')).toBe('font/woff2');
    expect(resolveUnder('/root', 'relative')).toBeNull();
    expect(resolveUnder('/root', '/')).toBe('/root');
  });
});

describe('startServer', () => {
  it('announces the loopback URL and the dashboard URL with the token in the fragment', async () => {
    t = await startTestServer();
    expect(t.server.url).toBe(`http://127.0.0.1:${t.server.port}/`);
    expect(t.server.dashboardUrl).toBe(`http://127.0.0.1:${t.server.port}/#token=${t.token}`);
    expect(browserHost('0.0.0.0')).toBe('127.0.0.1');
    expect(browserHost('::')).toBe('127.0.0.1');
    expect(browserHost('localhost')).toBe('127.0.0.1');
    expect(browserHost('::1')).toBe('[::1]');
    expect(browserHost('warden.lan')).toBe('warden.lan');
  });

  it('fails with a clear message when the port is in use', async () => {
    t = await startTestServer();
    await expect(startServer({ warden: t.warden, host: '127.0.0.1', port: t.server.port, token: t.token, logger: silentLogger() })).rejects.toThrow(
      `port ${t.server.port} is in use`,
    );
  });

  it('passes other listen errors through', async () => {
    t = await startTestServer();
    // TEST-NET-1: never assigned to this machine, so the bind fails (nothing is sent).
    await expect(startServer({ warden: t.warden, host: '192.0.2.1', port: 0, token: t.token, logger: silentLogger() })).rejects.toThrow(/EADDRNOTAVAIL/);
  });
});
