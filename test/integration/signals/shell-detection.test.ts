import { execSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { createWarden, type Warden } from '../../../src-main/core/warden.js';
import { killGroup, waitUntil } from '../../helpers/process-tree.js';
import { freePort, standInCommand } from '../../helpers/stand-in.js';

let dir: string;
let warden: Warden | null = null;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-shelldet-'));
});
afterEach(async () => {
  await warden?.stop();
  warden = null;
  for (const f of await fs.readdir(dir)) {
    if (f.endsWith('.pid')) killGroup(Number(await fs.readFile(path.join(dir, f), 'utf8')));
  }
  await fs.rm(dir, { recursive: true, force: true });
});

async function watched(over: (pidfile: string) => Record<string, unknown>) {
  const port = await freePort();
  const pidfile = path.join(dir, 'svc.pid');
  const restartCmd = standInCommand({ port, pidfile, args: ['--kind', 'detector'] });
  const config = configSchema.parse({
    // An hour between probes: a crash seen within the test was seen by a signal, not a poll.
    healthCheckInterval: 3600,
    serviceBackoffBase: 0.2,
    services: [{ name: 'svc', healthUrl: `http://127.0.0.1:${port}/health`, restartCmd, ...over(pidfile) }],
  });
  execSync(restartCmd, { stdio: 'ignore' }); // the service is running before Warden starts
  warden = await createWarden(config, { logger: silentLogger(), configFile: null, dataDir: dir });
  const events: ServiceStatusEvent[] = [];
  warden.monitor.subscribe((e) => void events.push(e));
  warden.start();
  await waitUntil(() => events.at(-1)?.status === 'healthy');
  return { pidfile, events, statuses: () => events.map((e) => e.status) };
}

describe('shell strategy: a crash is seen at once', () => {
  it('through the idle watch connection (SIGKILL under a long interval → unhealthy → restarted → healthy)', async () => {
    const w = await watched(() => ({}));
    await waitUntil(() => warden!.signals.watching('svc')?.connected);
    const pid = Number(await fs.readFile(w.pidfile, 'utf8'));
    killGroup(pid);
    await waitUntil(() => w.statuses().length >= 4, { timeoutMs: 30_000 });
    expect(w.statuses()).toEqual(['healthy', 'unhealthy', 'restarting', 'healthy']);
    expect(Number(await fs.readFile(w.pidfile, 'utf8'))).not.toBe(pid);
  });

  it('with a pidfile, and keeps watching the new pid the restart wrote', async () => {
    const w = await watched((pidfile: string) => ({ pidfile }));
    const pid = Number(await fs.readFile(w.pidfile, 'utf8'));
    await waitUntil(() => warden!.signals.watching('svc')?.pid === pid);
    killGroup(pid);
    await waitUntil(() => w.statuses().at(-1) === 'healthy' && w.statuses().length >= 4, { timeoutMs: 30_000 });
    expect(w.statuses()).toEqual(['healthy', 'unhealthy', 'restarting', 'healthy']);
    const fresh = Number(await fs.readFile(w.pidfile, 'utf8'));
    expect(fresh).not.toBe(pid);
    await waitUntil(() => warden!.signals.watching('svc')?.pid === fresh);
  });
});
