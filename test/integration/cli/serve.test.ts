import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GpuSnapshot, ServiceState, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { main } from '../../../src-main/cli/main.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { captureIo } from '../../helpers/capture-io.js';
import { groupPids, isAlive, killGroup, waitUntil } from '../../helpers/process-tree.js';

let dir: string;
let env: Record<string, string>;
const stops: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-serve-'));
  env = { XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_STATE_HOME: path.join(dir, 'state'), HOME: dir, PATH: process.env.PATH ?? '' };
});
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await fs.rm(dir, { recursive: true, force: true });
});

async function writeConfig(services: object[], extra: object = {}): Promise<string> {
  const file = path.join(dir, 'config.json');
  await fs.writeFile(file, JSON.stringify({ healthCheckInterval: 0.2, serviceBackoffBase: 0.1, services, ...extra }));
  return file;
}

/** Run `warden serve` in-process until the test ends; resolves with its dashboard URL. */
async function serveInProcess(args: string[]) {
  const io = captureIo(env);
  const stop = new AbortController();
  const exited = main(['serve', '--port', '0', ...args], io, stop.signal, { logger: silentLogger() });
  stops.push(async () => {
    stop.abort();
    expect(await exited).toBe(0);
  });
  const line = await waitUntil(() => /Warden dashboard: (\S+)/.exec(io.out()) ?? (io.err() ? Promise.reject(new Error(io.err())) : null), { timeoutMs: 30_000 });
  const dashboard = new URL(line[1]!);
  return { io, dashboard, base: dashboard.origin, token: dashboard.hash.replace('#token=', '') };
}

async function status(base: string, token: string): Promise<ServiceState[]> {
  const res = await request(`${base}/api/status`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.body.json()) as { services: ServiceState[] }).services;
}

async function nemotronHistory(base: string, token: string): Promise<ServiceStatusEvent[]> {
  const res = await request(`${base}/api/services/nemotron/history`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.body.json()) as { events: ServiceStatusEvent[] }).events;
}

describe('warden serve', () => {
  it('prints the dashboard address with the token in the fragment, serves the API, and the client commands talk to it', async () => {
    const file = await writeConfig([{ name: 'probe-only', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }]);
    const { base, token, dashboard } = await serveInProcess(['--config', file]);
    expect(dashboard.pathname).toBe('/');
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(await fs.readFile(path.join(env.XDG_CONFIG_HOME!, 'warden', 'token'), 'utf8')).toContain(token);
    await waitUntil(async () => (await status(base, token))[0]?.status === 'unhealthy');

    const table = captureIo(env);
    expect(await main(['status', '--url', base], table, new AbortController().signal)).toBe(0);
    expect(table.out()).toMatch(/^SERVICE\s+STATUS/);
    expect(table.out()).toMatch(/probe-only\s+unhealthy\s+0\/3/);

    const json = captureIo(env);
    expect(await main(['status', '--json', '--config', file, '--url', base], json, new AbortController().signal)).toBe(0);
    expect(JSON.parse(json.out()).services[0].service).toBe('probe-only');

    const paused = captureIo(env);
    expect(await main(['pause', 'probe-only', '--url', base], paused, new AbortController().signal)).toBe(0);
    expect(paused.out()).toBe('probe-only: pause accepted (paused)\n');
    expect((await status(base, token))[0]?.status).toBe('paused');

    const refused = captureIo(env);
    expect(await main(['restart', 'probe-only', '--url', base], refused, new AbortController().signal)).toBe(1);
    expect(refused.err()).toContain('refused: HTTP 409');
    const unknown = captureIo(env);
    expect(await main(['reset', 'ghost', '--url', base], unknown, new AbortController().signal)).toBe(2);
    expect(unknown.err()).toBe('ghost: no such service\n');
  });

  it('client commands find a server started with --port 0 through the server file (0600), removed when it stops; --url overrides', async () => {
    const file = await writeConfig([{ name: 'probe-only', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }]);
    const runtime = path.join(dir, 'run');
    env.XDG_RUNTIME_DIR = runtime;
    const io = captureIo(env);
    const stop = new AbortController();
    const exited = main(['serve', '--config', file, '--port', '0'], io, stop.signal, { logger: silentLogger() });
    const line = await waitUntil(() => /Warden dashboard: (\S+)/.exec(io.out()), { timeoutMs: 30_000 });
    const serverFile = path.join(runtime, 'warden', 'server.json');
    expect(JSON.parse(await fs.readFile(serverFile, 'utf8'))).toEqual({ url: new URL(line[1]!).origin + '/', pid: process.pid });
    expect((await fs.stat(serverFile)).mode & 0o777).toBe(0o600);

    // No --url, and the config says port 8765: the server file names the real port.
    const found = captureIo(env);
    expect(await main(['status', '--json'], found, new AbortController().signal)).toBe(0);
    expect(JSON.parse(found.out()).services[0].service).toBe('probe-only');
    const overridden = captureIo({ ...env, WARDEN_TOKEN: 'x' });
    expect(await main(['status', '--url', 'http://127.0.0.1:1'], overridden, new AbortController().signal)).toBe(3);

    stop.abort();
    expect(await exited).toBe(0);
    await expect(fs.stat(serverFile)).rejects.toThrow(/ENOENT/);
  });

  it('ignores a server file left by a process that is gone, and one that is not JSON', async () => {
    await writeConfig([]);
    const runtime = path.join(dir, 'run');
    await fs.mkdir(path.join(runtime, 'warden'), { recursive: true });
    env.XDG_RUNTIME_DIR = runtime;
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    for (const text of [JSON.stringify({ url: 'http://127.0.0.1:9/', pid: gone.pid }), 'not json']) {
      await fs.writeFile(path.join(runtime, 'warden', 'server.json'), text);
      const io = captureIo({ ...env, WARDEN_TOKEN: 'x' });
      expect(await main(['status'], io, new AbortController().signal)).toBe(3);
      // It fell back to the configured address, not to the dead server's.
      expect(io.err()).toContain('not reachable at http://127.0.0.1:8765');
    }
  });

  it('exits 2 on a bad config or a bad port, and 1 when the port is taken', async () => {
    const bad = path.join(dir, 'bad.json');
    await fs.writeFile(bad, '{"services":[{"name":"x","healthUrl":"gopher://x","restartCmd":null}]}');
    const io = captureIo(env);
    expect(await main(['serve', '--config', bad], io, new AbortController().signal, { logger: silentLogger() })).toBe(2);
    expect(io.err()).toBe('bad.json: services[0].healthUrl: must be http(s)://, redis://, tcp://host:port, docker://container or systemd://unit\n');

    const port = captureIo(env);
    expect(await main(['serve', '--port', 'eighty'], port, new AbortController().signal)).toBe(2);
    expect(port.err()).toContain('--port: must be a whole number');

    const file = await writeConfig([]);
    const first = await serveInProcess(['--config', file]);
    const taken = captureIo(env);
    expect(await main(['serve', '--config', file, '--port', new URL(first.base).port], taken, new AbortController().signal, { logger: silentLogger() })).toBe(1);
    expect(taken.err()).toContain('is in use');
  });

  it('client commands exit 3 when no server answers and 2 without a token', async () => {
    const none = captureIo({ ...env, WARDEN_TOKEN: 'x' });
    expect(await main(['status', '--url', 'http://127.0.0.1:1'], none, new AbortController().signal)).toBe(3);
    expect(none.err()).toContain('not reachable');
    expect(await main(['restart', 'a', '--url', 'http://127.0.0.1:1'], captureIo({ ...env, WARDEN_TOKEN: 'x' }), new AbortController().signal)).toBe(3);
    const noToken = captureIo(env);
    expect(await main(['status'], noToken, new AbortController().signal)).toBe(2);
    expect(noToken.err()).toContain('no token');
    const badCfg = path.join(dir, 'bad.json');
    await fs.writeFile(badCfg, '{"healthCheckInterval":0}');
    const cfgErr = captureIo({ ...env, WARDEN_TOKEN: 'x' });
    expect(await main(['status', '--config', badCfg], cfgErr, new AbortController().signal)).toBe(2);
    expect(cfgErr.err()).toContain('healthCheckInterval');
  });

  it('--demo runs stand-ins that can be crashed from the API and come back by themselves', async () => {
    const file = await writeConfig([]);
    const { base, token, io } = await serveInProcess(['--config', file, '--demo']);
    expect(io.out()).toContain('Demo mode: stand-in services redis, rtdetr, nemotron');
    await waitUntil(async () => (await status(base, token)).every((s) => s.status === 'healthy'), { timeoutMs: 40_000 });
    const res = await request(`${base}/api/demo/rtdetr/crash`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(202);
    await res.body.dump();
    await waitUntil(async () => (await status(base, token)).find((s) => s.service === 'rtdetr' && s.status === 'healthy' && s.restarts >= 1), { timeoutMs: 40_000 });
    const history = await request(`${base}/api/services/rtdetr/history`, { headers: { authorization: `Bearer ${token}` } });
    const { events } = (await history.body.json()) as { events: { status: string; message: string; previous: string }[] };
    expect(events.at(-1)).toMatchObject({ status: 'healthy', previous: 'restarting', message: 'Service restarted successfully' });
    // The user's config file never receives the demo's services.
    expect(JSON.parse(await fs.readFile(file, 'utf8')).services).toEqual([]);
  });

  it('--demo has a simulated GPU: a CUDA out-of-memory crash waits for VRAM, fails once with cuda_oom while another job holds it, then recovers', async () => {
    const file = await writeConfig([]);
    const { base, token } = await serveInProcess(['--config', file, '--demo']);
    const auth = { authorization: `Bearer ${token}` };
    await waitUntil(async () => (await status(base, token)).every((s) => s.status === 'healthy'), { timeoutMs: 40_000 });
    const gpus = (await (await request(`${base}/api/gpus`, { headers: auth })).body.json()) as GpuSnapshot;
    expect(gpus).toMatchObject({ available: true, gpus: [{ index: 0, name: 'NVIDIA GeForce RTX 4090 (simulated)', memoryTotalMiB: 24564 }] });
    expect(gpus.gpus[0]?.processes.map((p) => p.service).sort()).toEqual(['nemotron', 'rtdetr']);
    expect((await request(`${base}/api/demo/redis/oom`, { method: 'POST', headers: auth })).statusCode).toBe(404); // not a GPU service

    const res = await request(`${base}/api/demo/nemotron/oom`, { method: 'POST', headers: auth });
    expect(res.statusCode).toBe(202);
    await res.body.dump();
    const history = () => nemotronHistory(base, token);
    const from = (await history()).length;
    await waitUntil(async () => (await history()).slice(from).some((e) => e.status === 'healthy'), { timeoutMs: 60_000 });
    const story = (await history()).slice(from).map((e) => `${e.status}${e.cause ? ` (${e.cause})` : ''}: ${e.message}`);
    // Waits at the gate while the other job holds the memory, starts anyway, does not fit, waits again, fits.
    expect(story).toEqual([
      expect.stringMatching(/^unhealthy: /),
      'restarting: Attempting restart (attempt 1/3)',
      expect.stringMatching(/^restarting: Waiting for GPU memory to be released \(\d+ of 17100 MiB free\)$/),
      expect.stringMatching(/^restarting: GPU 0 memory is still held by pid \d+ \(sleep\) after 6 s: starting anyway$/),
      expect.stringMatching(/^restart_failed \(cuda_oom\): Restart attempt 1\/3 failed: .*CUDA out of memory/),
      'restarting: Attempting restart (attempt 2/3)',
      expect.stringMatching(/^restarting: Waiting for GPU memory to be released \(\d+ of 17100 MiB free\)$/),
      expect.stringMatching(/^restarting: GPU memory released after \d+\.\d s: starting nemotron$/),
      expect.stringMatching(/^(starting|healthy): /),
      ...(story.length === 10 ? [expect.stringMatching(/^healthy: /)] : []),
    ]);
  });
});

describe('the demo’s deep checks', () => {
  it('--demo: "Break completions" hangs nemotron’s completions while /health says ok; its deep check finds it and a restart fixes it', async () => {
    const file = await writeConfig([]);
    const { base, token } = await serveInProcess(['--config', file, '--demo']);
    const auth = { authorization: `Bearer ${token}` };
    await waitUntil(async () => (await status(base, token)).every((s) => s.status === 'healthy' && (!s.deepCheck || s.deepCheck.outcome === 'ok')), { timeoutMs: 40_000 });
    const before = await status(base, token);
    expect(before.find((s) => s.service === 'rtdetr')?.deepCheck).toMatchObject({ request: 'POST /detect', outcome: 'ok' });
    expect(before.find((s) => s.service === 'redis')?.deepCheck).toBeUndefined();
    expect((await request(`${base}/api/demo/redis/break`, { method: 'POST', headers: auth })).statusCode).toBe(404); // no deep check

    const res = await request(`${base}/api/demo/nemotron/break`, { method: 'POST', headers: auth });
    expect(res.statusCode).toBe(202);
    await res.body.dump();
    const history = () => nemotronHistory(base, token);
    const from = (await history()).length;
    await waitUntil(async () => (await history()).slice(from).some((e) => e.status === 'healthy'), { timeoutMs: 60_000 });
    const events = (await history()).slice(from);
    expect(events[0]).toMatchObject({ status: 'unhealthy', cause: 'deep_check_failed', message: 'Health check failed: deep check failed: POST /completion: no answer within 2 s' });
    expect(events.map((e) => e.status)).toContain('restarting');
    expect((await status(base, token)).find((s) => s.service === 'nemotron')?.deepCheck).toMatchObject({ outcome: 'ok' });
  });
});

describe('the real bin', () => {
  it.each(['SIGTERM', 'SIGHUP', 'SIGINT'] as const)('stops on %s with exit 0, leaving no process of an in-flight restart behind; the restart never saw WARDEN_TOKEN', async (signal) => {
    const marker = path.join(dir, 'restart.pid');
    const envDump = path.join(dir, 'restart.env');
    const restartCmd = `env > '${envDump}'; echo $$ > '${marker}'; sleep 1000 & sleep 1000; wait`;
    const file = await writeConfig([{ name: 'hang', healthUrl: 'tcp://127.0.0.1:1', restartCmd, serviceBackoffBase: 0 }]);
    const secret = 'c'.repeat(64);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src-main/cli/warden.ts', 'serve', '--config', file, '--port', '0'], {
      env: { ...env, WARDEN_TOKEN: secret, WARDEN_LOG_LEVEL: 'info', KEPT_FOR_COMMANDS: 'yes' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    stops.push(async () => killGroup(child.pid!));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const restartPid = await waitUntil(async () => Number(await fs.readFile(marker, 'utf8').catch(() => '')), { timeoutMs: 30_000 });
    stops.push(async () => killGroup(restartPid)); // should Warden fail to, the test still cleans up
    const group = await waitUntil(() => (groupPids(restartPid).length >= 3 ? groupPids(restartPid) : null));
    expect(out).toContain('Warden dashboard: http://127.0.0.1:');
    expect(out).toMatch(/"msg":"service_status"/); // one JSON log line per event
    // Secrets stay home (§10): no WARDEN_* variable reaches the restart command; the rest does.
    const seen = await fs.readFile(envDump, 'utf8');
    expect(seen).not.toContain(secret);
    expect(seen).not.toMatch(/^WARDEN_/m);
    expect(seen).toMatch(/^KEPT_FOR_COMMANDS=yes$/m);
    child.kill(signal);
    expect(await exit).toBe(0);
    for (const pid of group) expect(isAlive(pid)).toBe(false);
  });
});
