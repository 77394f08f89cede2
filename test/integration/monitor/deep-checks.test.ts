// Deep checks through the whole engine (CONTRACT §14), against real stand-in processes started by
// the real shell strategy: /health says ok while completions hang or fail → unhealthy with cause
// deep_check_failed → restarted (a new instance answers) → healthy; a busy server is skipped.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { WardenMetrics } from '../../../src-main/core/server/metrics.js';
import { createWarden, type Warden } from '../../../src-main/core/warden.js';
import { MonitorLog } from '../../helpers/event-log.js';
import { killPid, waitUntil } from '../../helpers/process-tree.js';
import { freePort, standInCommand } from '../../helpers/stand-in.js';

let dir: string;
let warden: Warden | null = null;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-deep-'));
});
afterEach(async () => {
  await warden?.stop();
  warden = null;
  const pid = Number((await fs.readFile(path.join(dir, 'llm.pid'), 'utf8').catch(() => '')).trim());
  if (pid > 0) killPid(pid);
  await fs.rm(dir, { recursive: true, force: true });
});

/** Warden over one LLM stand-in (started by its restart command) with a llama-completion deep check. */
async function llmService(args: string[], extra: Record<string, unknown> = {}) {
  const deepCheck = { preset: 'llama-completion', interval: 1, timeout: 1 };
  const port = await freePort();
  const pidfile = path.join(dir, 'llm.pid');
  const restartCmd = standInCommand({ port, pidfile, args: ['--kind', 'llm', ...args] });
  const config = configSchema.parse({
    healthCheckInterval: 0.3,
    serviceBackoffBase: 0.2,
    failedRetryInterval: 0,
    ...extra,
    services: [{ name: 'nemotron', healthUrl: `http://127.0.0.1:${port}/health`, restartCmd, pidfile, deepCheck }],
  });
  warden = await createWarden(config, { logger: silentLogger(), configFile: path.join(dir, 'config.json'), dataDir: path.join(dir, 'data') });
  const log = new MonitorLog(warden.monitor);
  return { warden, log, restartCmd };
}

describe('deep checks against a real llama-server stand-in', () => {
  it('completions hang while /health says ok: unhealthy (deep_check_failed), restarted, healthy with the new instance', async () => {
    const breakFile = path.join(dir, 'break');
    const { warden: w, log } = await llmService(['--break-file', breakFile]);
    const metrics = new WardenMetrics(w.monitor);
    w.start(); // down at first: the restart command starts the first instance
    await log.status('nemotron', 'healthy');
    const healthyAt = log.events.items.length;
    const probedAt = log.probes.items.length;
    expect(w.monitor.state('nemotron')?.deepCheck).toMatchObject({ request: 'POST /completion', every: 1, outcome: 'ok' });

    await fs.writeFile(breakFile, ''); // the model hangs; /health still says ok
    const unhealthy = await log.status('nemotron', 'unhealthy', healthyAt);
    expect(unhealthy).toMatchObject({ cause: 'deep_check_failed', message: 'Health check failed: deep check failed: POST /completion: no answer within 1 s' });
    // Nothing but the deep check found it down.
    const down = await log.probes.next((p) => p.state === 'down', probedAt);
    expect(down).toMatchObject({ cause: 'deep_check_failed', deep: { outcome: 'failed' } });

    // The fresh look before the restart ran the deep check again; the restart's new instance removed the break file.
    await log.status('nemotron', 'restarting', healthyAt);
    const back = await log.status('nemotron', 'healthy', healthyAt);
    expect(back.message).toBe('Service restarted successfully');
    expect(w.monitor.state('nemotron')?.deepCheck).toMatchObject({ outcome: 'ok' });
    await expect(fs.access(breakFile)).rejects.toThrow();

    const text = await metrics.render();
    expect(text).toMatch(/warden_deep_check_duration_seconds_count\{service="nemotron",outcome="failed"\} [1-9]/);
    expect(text).toMatch(/warden_deep_check_duration_seconds_count\{service="nemotron",outcome="ok"\} [1-9]/);
    metrics.close();
  });

  it('completions fail (500) after a restart too: readiness runs out with cause deep_check_failed', async () => {
    const { warden: w, log } = await llmService(['--completions', 'fail'], { startupTimeout: 1.5, serviceMaxRetries: 1 });
    w.start();
    const failed = await log.status('nemotron', 'restart_failed');
    expect(failed.cause).toBe('deep_check_failed');
    expect(failed.reason).toMatch(/deep check failed: POST \/completion: HTTP 500: CUDA error/);
    expect(w.monitor.state('nemotron')?.lastFailure?.cause).toBe('deep_check_failed');
  });

  it('a server with every slot busy is skipped, not failed: it stays healthy and is never restarted for it', async () => {
    const { warden: w, log } = await llmService(['--busy', '--slots', '2', '--completions', 'fail']);
    w.start();
    await log.status('nemotron', 'healthy');
    const healthyAt = log.events.items.length;
    const restarts = w.monitor.state('nemotron')!.restarts;
    // Several skipped deep checks in a row, each after a health check that said up.
    const skipped = await log.probes.count((p) => p.deep?.outcome === 'skipped', 3);
    expect(skipped.every((p) => p.state === 'up' && p.deep?.reason === 'all 2 slots busy')).toBe(true);
    expect(w.monitor.state('nemotron')).toMatchObject({ status: 'healthy', restarts, deepCheck: { outcome: 'skipped', reason: 'all 2 slots busy' } });
    expect(log.events.items.slice(healthyAt)).toEqual([]);
  });

  it('a settings change to the deep check applies live: a new one starts afresh, an unchanged one keeps its last run, none removes it', async () => {
    const { warden: w, log } = await llmService([]);
    w.start();
    await log.status('nemotron', 'healthy');
    const svc = w.settings().services[0]!;
    // A minute between runs, so none comes between the two looks below.
    await w.updateConfig({ ...w.settings(), services: [{ ...svc, deepCheck: { preset: 'llama-completion', interval: 60, timeout: 1 } }] });
    expect(w.monitor.state('nemotron')?.deepCheck).toMatchObject({ every: 60, outcome: 'pending' });
    await waitForDeep(w, 'ok');
    const at = w.monitor.state('nemotron')!.deepCheck!.at;
    await w.updateConfig({ ...w.settings(), healthCheckInterval: 0.4 }); // the deep check is unchanged
    expect(w.monitor.state('nemotron')?.deepCheck).toMatchObject({ outcome: 'ok', at });
    await w.updateConfig({ ...w.settings(), services: [{ ...svc, deepCheck: { preset: 'openai-chat', interval: 2, timeout: 1 } }] });
    expect(w.monitor.state('nemotron')?.deepCheck).toMatchObject({ request: 'POST /v1/chat/completions', every: 2 });
    await waitForDeep(w, 'ok');
    const { deepCheck: _none, ...plain } = svc;
    await w.updateConfig({ ...w.settings(), services: [plain] });
    expect(w.monitor.state('nemotron')?.deepCheck).toBeUndefined();
  });
});

async function waitForDeep(w: Warden, outcome: string): Promise<void> {
  await waitUntil(() => w.monitor.state('nemotron')?.deepCheck?.outcome === outcome, { timeoutMs: 20_000 });
}
