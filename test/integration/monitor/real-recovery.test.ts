import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { shQuote } from '../../../src-main/demo/shell-words.js';
import { createWarden, type Warden } from '../../../src-main/core/warden.js';
import { killGroup, killPid, waitUntil } from '../../helpers/process-tree.js';
import { freePort, startRedis } from '../../helpers/redis-server.js';
import { spawnStandIn, standInCommand } from '../../helpers/stand-in.js';

// The monitor with the real shell strategy against real processes: the design's integration
// tests (a2v.7). Short intervals keep them quick; timings are never asserted.
let dir: string;
let warden: Warden | null = null;
const cleanup: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-recovery-'));
});
afterEach(async () => {
  await warden?.stop();
  warden = null;
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await fs.rm(dir, { recursive: true, force: true });
});

async function watch(service: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const config = configSchema.parse({ healthCheckInterval: 0.3, serviceHealthTimeout: 5, serviceBackoffBase: 0.2, services: [{ name: 'svc', ...service }], ...extra });
  warden = await createWarden(config, { logger: silentLogger(), configFile: null, dataDir: dir });
  const events: ServiceStatusEvent[] = [];
  warden.monitor.subscribe((e) => void events.push(e));
  warden.start();
  return { events, statuses: () => events.map((e) => e.status) };
}

const pidIn = async (file: string) => Number((await fs.readFile(file, 'utf8')).trim());

describe('recovery of real services', () => {
  it('brings a SIGKILLed redis-server back with a real restart command', async () => {
    const port = await freePort();
    const redisDir = path.join(dir, 'redis');
    await fs.mkdir(redisDir);
    const pidfile = path.join(redisDir, 'redis.pid');
    const restartCmd = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', pidfile, '--dir', redisDir]
      .map(shQuote)
      .join(' ');
    const first = await startRedis({ port, dir: redisDir });
    cleanup.push(async () => {
      const pid = await pidIn(pidfile).catch(() => 0);
      if (pid > 0) killPid(pid);
    });
    const w = await watch({ healthUrl: `redis://127.0.0.1:${port}`, restartCmd });
    await waitUntil(() => w.statuses().at(-1) === 'healthy');
    await first.stop({ keepDir: true });
    await waitUntil(() => w.statuses().length >= 4, { timeoutMs: 30_000 });
    expect(w.statuses()).toEqual(['healthy', 'unhealthy', 'restarting', 'healthy']);
    expect(await pidIn(pidfile)).not.toBe(first.pid);
  });

  it('never restarts an LLM that answers 503 "Loading model", and reports it healthy once loaded', async () => {
    // Long enough that the first probe surely lands while it is still loading.
    const llm = await spawnStandIn(['--kind', 'llm', '--load-seconds', '8']);
    cleanup.push(() => llm.kill('SIGKILL'));
    const w = await watch({ healthUrl: llm.healthUrl, restartCmd: 'exit 1', startupTimeout: 60 });
    await waitUntil(() => w.statuses().at(-1) === 'healthy', { timeoutMs: 30_000 });
    expect(w.statuses()).toEqual(['starting', 'healthy']);
    expect(warden!.monitor.state('svc')?.restarts).toBe(0);
  });

  it('restarts a hung service (accepts, never answers) after its probes time out', async () => {
    const port = await freePort();
    const pidfile = path.join(dir, 'svc.pid');
    const hung = await spawnStandIn(['--port', String(port), '--kind', 'detector', '--hang']);
    cleanup.push(() => hung.kill('SIGKILL'));
    await fs.writeFile(pidfile, `${hung.pid}\n`); // the restart command replaces what the pidfile names
    cleanup.push(async () => {
      const pid = await pidIn(pidfile).catch(() => 0);
      if (pid > 0) killGroup(pid);
    });
    const w = await watch({ healthUrl: `http://127.0.0.1:${port}/health`, restartCmd: standInCommand({ port, pidfile, args: ['--kind', 'detector'] }) }, { serviceHealthTimeout: 0.3 });
    await waitUntil(() => w.statuses().at(-1) === 'healthy', { timeoutMs: 30_000 });
    expect(w.statuses()).toEqual(['unhealthy', 'restarting', 'healthy']);
    expect(w.events[0]?.message).toMatch(/timeout/);
    await hung.exited;
  });

  it('gives up after the last attempt of a service that exits at once, with its output as the reason and its cause', async () => {
    const port = await freePort();
    const pidfile = path.join(dir, 'svc.pid');
    const restartCmd = standInCommand({ port, pidfile, args: ['--exit-at-once'], startupTimeout: 5 });
    const w = await watch({ healthUrl: `http://127.0.0.1:${port}/health`, restartCmd, serviceMaxRetries: 2 }, { failedRetryInterval: 0 });
    await waitUntil(() => w.statuses().at(-1) === 'failed', { timeoutMs: 30_000 });
    expect(w.statuses()).toEqual(['unhealthy', 'restarting', 'restart_failed', 'restarting', 'restart_failed', 'failed']);
    const failure = w.events.find((e) => e.status === 'restart_failed');
    // The stand-in dies like llama.cpp that does not fit in VRAM: that line is the reason.
    expect(failure?.reason).toBe('exit code 1: "stand-in (plain): fatal: cannot start (--exit-at-once): failed to fit params to free device memory"');
    expect(failure?.cause).toBe('cuda_oom');
    expect(failure?.output).toMatch(/exit/i);
  });
});
