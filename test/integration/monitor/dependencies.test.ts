// Dependencies (CONTRACT §14) against real processes: a real redis-server, and a stand-in
// detector (a real HTTP server) whose /health answers 200 only while it can reach Redis — the way
// the real detector fails when its Redis is gone. Kill Redis: only Redis is restarted; the
// detector waits ("waiting for redis", no attempt) and is looked at the moment Redis is back.
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { shQuote } from '../../../src-main/demo/shell-words.js';
import { createWarden, type Warden } from '../../../src-main/core/warden.js';
import { killPid, waitUntil } from '../../helpers/process-tree.js';
import { freePort, startRedis } from '../../helpers/redis-server.js';

let dir: string;
let warden: Warden | null = null;
const cleanup: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-deps-'));
});
afterEach(async () => {
  await warden?.stop();
  warden = null;
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await fs.rm(dir, { recursive: true, force: true });
});

/** A detector stand-in that is healthy only while Redis accepts connections; counts its health checks. */
async function detectorNeeding(redisPort: number) {
  const checks: number[] = [];
  const server = http.createServer((req, res) => {
    checks.push(Date.now());
    const s = net.connect({ port: redisPort, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      res.writeHead(200).end('ok');
    });
    s.once('error', () => res.writeHead(503).end('cannot reach redis'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/health`, checks };
}

describe('dependencies against a real redis-server', () => {
  it('kill Redis: only Redis is restarted; the detector waits for it without an attempt and is probed as soon as it is back', async () => {
    const port = await freePort();
    const redisDir = path.join(dir, 'redis');
    await fs.mkdir(redisDir);
    const pidfile = path.join(redisDir, 'redis.pid');
    const restartCmd = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', pidfile, '--dir', redisDir].map(shQuote).join(' ');
    const first = await startRedis({ port, dir: redisDir });
    cleanup.push(async () => {
      const pid = Number((await fs.readFile(pidfile, 'utf8').catch(() => '')).trim());
      if (pid > 0) killPid(pid);
    });
    const detector = await detectorNeeding(port);
    const detectorRuns = path.join(dir, 'detector.runs');
    const config = configSchema.parse({
      // An hour's cadence: a look at the detector once Redis is back can only be the dependency's doing.
      healthCheckInterval: 3600,
      // Redis is restarted no sooner than this after it dies: time enough, on a loaded machine, for the
      // detector's triggered look to see it down (a CI run once had Redis back first).
      serviceBackoffBase: 3,
      services: [
        { name: 'redis', healthUrl: `redis://127.0.0.1:${port}`, restartCmd, pidfile },
        { name: 'rtdetr', healthUrl: detector.url, restartCmd: `echo run >> ${shQuote(detectorRuns)}`, dependsOn: ['redis'] },
      ],
    });
    warden = await createWarden(config, { logger: silentLogger(), configFile: null, dataDir: dir });
    const events: (ServiceStatusEvent & { at: number })[] = [];
    warden.monitor.subscribe((e) => void events.push({ ...e, at: Date.parse(e.timestamp) }));
    warden.start();
    await waitUntil(() => ['redis', 'rtdetr'].every((s) => warden!.monitor.state(s)?.status === 'healthy'), { timeoutMs: 20_000 });

    await first.stop({ keepDir: true }); // Redis dies; its pidfile watch sees it at once
    warden.monitor.trigger('rtdetr'); // the detector notices too, before Redis is back
    const waiting = await waitUntil(() => events.find((e) => e.service === 'rtdetr' && e.cause === 'dependency_down'), { timeoutMs: 20_000 });
    expect(waiting).toMatchObject({ status: 'unhealthy', attempt: 0, nextRetryAt: null });
    expect(waiting.message).toMatch(/waiting for redis \(not restarted while it is down\)$/);

    const redisBack = await waitUntil(() => events.find((e) => e.service === 'redis' && e.status === 'healthy' && e.at >= waiting.at), { timeoutMs: 30_000 });
    const detectorBack = await waitUntil(() => events.find((e) => e.service === 'rtdetr' && e.status === 'healthy' && e.at >= waiting.at), { timeoutMs: 10_000 });
    // Looked at because Redis was back (its cadence is an hour), and never restarted.
    expect(detectorBack.at).toBeGreaterThanOrEqual(redisBack.at);
    expect(detector.checks.some((t) => t >= redisBack.at)).toBe(true);
    expect(await fs.readFile(detectorRuns, 'utf8').catch(() => '')).toBe('');
    expect(events.filter((e) => e.service === 'redis').map((e) => e.status)).toEqual(['healthy', 'unhealthy', 'restarting', 'healthy']);
    expect(events.filter((e) => e.service === 'rtdetr').map((e) => e.status)).toEqual(['healthy', 'unhealthy', 'healthy']);
    expect(warden.monitor.state('rtdetr')).toMatchObject({ attempt: 0, restarts: 0, dependsOn: ['redis'] });
  });
});
