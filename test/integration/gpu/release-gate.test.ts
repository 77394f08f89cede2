// The release gate and one load per GPU (CONTRACT §11) with the real shell strategy: real
// stand-in servers are the GPU servers, the fixture nvidia-smi lists their real pids from a state
// file the test rewrites (there is no GPU here), and each restart command notes when it ran.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { createWarden, type Warden } from '../../../src-main/core/warden.js';
import { killGroup, waitUntil } from '../../helpers/process-tree.js';
import { freePort, shellQuote, spawnStandIn, standInCommand } from '../../helpers/stand-in.js';

const FAKE_SMI = fileURLToPath(new URL('../../fixtures/ai/bin/nvidia-smi', import.meta.url));
const UUID = 'GPU-aaaa-1111';
const gpuLine = (usedMiB: number) => `gpu=0, ${UUID}, NVIDIA GeForce RTX 4090, ${usedMiB}, 24564, 0, 40, 30.00`;

let dir: string;
let state: string;
let warden: Warden | null = null;
const cleanup: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-gate-'));
  state = path.join(dir, 'smi.state');
});
afterEach(async () => {
  await warden?.stop();
  warden = null;
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await fs.rm(dir, { recursive: true, force: true });
});

const writeState = (...lines: string[]) => fs.writeFile(state, `${['mode=ok', ...lines].join('\n')}\n`);
const pidIn = async (file: string) => Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
/** When each restart command ran (ms since the epoch, one line per run). */
const runsOf = async (file: string) => (await fs.readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);

/** A GPU service run by the shell strategy: a stand-in on a fixed port, its pid in a pidfile. */
async function gpuService(name: string, opts: { stopCmd?: boolean; args?: string[]; firstArgs?: string[]; gpu?: Record<string, unknown> } = {}) {
  const port = await freePort();
  const pidfile = path.join(dir, `${name}.pid`);
  const runs = path.join(dir, `${name}.runs`);
  const first = await spawnStandIn(['--port', String(port), '--pidfile', pidfile, ...(opts.args ?? []), ...(opts.firstArgs ?? [])]);
  cleanup.push(async () => killGroup(await pidIn(pidfile)));
  cleanup.push(() => first.kill('SIGKILL'));
  const restartCmd = `date +%s%3N >> ${shellQuote(runs)} && ${standInCommand({ port, pidfile, args: opts.args })}`;
  const stopCmd = `kill -KILL -- "-$(cat ${shellQuote(pidfile)})" 2>/dev/null; rm -f ${shellQuote(pidfile)}; true`;
  return {
    first,
    runs: () => runsOf(runs),
    config: { name, healthUrl: `http://127.0.0.1:${port}/health`, restartCmd, ...(opts.stopCmd === false ? {} : { stopCmd }), pidfile, gpu: { index: 0, ...opts.gpu } },
  };
}

async function watch(services: Record<string, unknown>[], gpu: Record<string, unknown> = {}) {
  process.env.FAKE_SMI_STATE = state;
  cleanup.push(() => delete process.env.FAKE_SMI_STATE);
  const config = configSchema.parse({ healthCheckInterval: 0.3, serviceBackoffBase: 0.2, startupTimeout: 60, gpu: { smi: FAKE_SMI, pollInterval: 0.2, ...gpu }, services });
  warden = await createWarden(config, { logger: silentLogger(), configFile: null, dataDir: dir });
  const events: (ServiceStatusEvent & { at: number })[] = [];
  warden.monitor.subscribe((e) => void events.push({ ...e, at: Date.parse(e.timestamp) }));
  warden.start();
  const of = (name: string) => events.filter((e) => e.service === name);
  return {
    events: of,
    last: (name: string) => of(name).at(-1),
    until: (name: string, pred: (e: ServiceStatusEvent & { at: number }) => boolean, timeoutMs = 30_000) => waitUntil(() => of(name).find(pred), { timeoutMs }),
  };
}

describe('the release gate before a GPU service starts again', () => {
  it('stop, wait until its pid leaves compute-apps and its memory is back, then start — shown as a countdown, no attempt used', async () => {
    const llm = await gpuService('nemotron');
    await writeState(gpuLine(20000), `app=${UUID}, ${llm.first.pid}, 18000`);
    const w = await watch([llm.config]);
    await w.until('nemotron', (e) => e.status === 'healthy');

    llm.first.kill('SIGKILL'); // it crashed; the driver has not let go of its memory yet
    const waiting = await w.until('nemotron', (e) => e.message.startsWith('Waiting for GPU memory'));
    expect(waiting).toMatchObject({ status: 'restarting', attempt: 1, message: 'Waiting for GPU memory to be released (4564 of 13500 MiB free)' });
    expect(Date.parse(waiting.waitUntil!)).toBeGreaterThan(Date.parse(waiting.timestamp));
    expect(warden!.monitor.state('nemotron')?.waitUntil).toBe(waiting.waitUntil);
    expect(await llm.runs()).toEqual([]); // not started into memory the old instance holds

    const released = Date.now();
    await writeState(gpuLine(1000));
    await w.until('nemotron', (e) => e.status === 'healthy' && Date.parse(e.timestamp) >= released);
    const runs = await llm.runs();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toBeGreaterThanOrEqual(released);
    // restarting: the attempt, the wait, the end of the wait (said once each)
    expect(w.events('nemotron').map((e) => e.status)).toEqual(['healthy', 'unhealthy', 'restarting', 'restarting', 'restarting', 'healthy']);
    expect(w.events('nemotron').some((e) => e.status === 'restart_failed')).toBe(false);
    expect(warden!.monitor.state('nemotron')).toMatchObject({ attempt: 1, restarts: 1, lastFailure: null }) // the one restart; the wait was not another;
    expect(warden!.monitor.state('nemotron')?.waitUntil).toBeUndefined();
  });

  it('a dead pid still listed after releaseTimeout: failed with cause gpu_zombie, never started', async () => {
    const llm = await gpuService('nemotron');
    await writeState(gpuLine(20000), `app=${UUID}, ${llm.first.pid}, 18000`);
    const w = await watch([llm.config], { releaseTimeout: 1 });
    await w.until('nemotron', (e) => e.status === 'healthy');
    llm.first.kill('SIGKILL');
    await llm.first.exited;
    const failed = await w.until('nemotron', (e) => e.status === 'failed');
    expect(failed).toMatchObject({ cause: 'gpu_zombie', message: 'Not retried: GPU memory is held by a dead process (restarting cannot fix it)', nextRetryAt: null });
    const attempt = w.events('nemotron').find((e) => e.status === 'restart_failed');
    expect(attempt).toMatchObject({ cause: 'gpu_zombie', reason: `GPU memory held by a dead process (pid ${llm.first.pid}): a driver reset or reboot may be needed` });
    expect(attempt?.waitUntil).toBeUndefined(); // the wait is over
    expect(await llm.runs()).toEqual([]);
    expect(warden!.monitor.state('nemotron')?.lastFailure?.cause).toBe('gpu_zombie');
  });

  it('memory another live process holds after releaseTimeout: starts anyway and names it (vram_busy)', async () => {
    const other = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    cleanup.push(() => killGroup(other.pid!));
    const detector = await gpuService('rtdetr', { gpu: { minFreeMiB: 8000 } });
    await writeState(gpuLine(22000), `app=${UUID}, ${other.pid}, 20000`);
    const w = await watch([detector.config], { releaseTimeout: 1 });
    await w.until('rtdetr', (e) => e.status === 'healthy');
    detector.first.kill('SIGKILL');
    const busy = await w.until('rtdetr', (e) => e.message.includes('starting anyway'));
    expect(busy.message).toBe(`GPU 0 memory is still held by pid ${other.pid} (sleep) after 1 s: starting anyway`);
    expect(busy.waitUntil).toBeUndefined();
    await w.until('rtdetr', (e) => e.status === 'healthy' && e.at >= busy.at);
    expect(await detector.runs()).toHaveLength(1);
  });
});

describe('the shell strategy leaves a running instance to its start script', () => {
  it('a GPU server that still runs but does not answer is replaced by restartCmd alone (the ai/ scripts wait for a loading one), not stopped by Warden', async () => {
    const hung = await gpuService('rtdetr', { firstArgs: ['--hang'] });
    await writeState(gpuLine(3000), `app=${UUID}, ${hung.first.pid}, 2600`);
    const w = await watch([{ ...hung.config, serviceHealthTimeout: 0.5 }]);
    await w.until('rtdetr', (e) => e.status === 'restarting');
    await w.until('rtdetr', (e) => e.status === 'healthy');
    expect(w.events('rtdetr').some((e) => e.message.startsWith('Waiting for GPU memory'))).toBe(false);
    expect(await hung.runs()).toHaveLength(1);
  });
});

describe('one load per GPU', () => {
  it('two services on GPU 0 that both went down load one after the other; the second says for whom it waits', async () => {
    const args = ['--kind', 'llm', '--load-seconds', '1.5'];
    const a = await gpuService('nemotron', { args, stopCmd: false });
    const b = await gpuService('rtdetr', { args, stopCmd: false });
    await writeState(gpuLine(1000));
    const w = await watch([a.config, b.config]);
    await w.until('nemotron', (e) => e.status === 'healthy');
    await w.until('rtdetr', (e) => e.status === 'healthy');
    a.first.kill('SIGKILL');
    b.first.kill('SIGKILL');
    const waiting = await waitUntil(() => [...w.events('nemotron'), ...w.events('rtdetr')].find((e) => e.message.startsWith('Waiting for')));
    const second = waiting.service;
    const firstName = second === 'nemotron' ? 'rtdetr' : 'nemotron';
    expect(waiting).toMatchObject({ status: 'restarting', message: `Waiting for ${firstName} to finish loading on GPU 0` });
    const firstHealthy = await w.until(firstName, (e) => e.status === 'healthy' && e.at >= waiting.at);
    await w.until(second, (e) => e.status === 'healthy' && e.at >= waiting.at);
    const [secondRun] = await (second === 'nemotron' ? a : b).runs();
    expect(secondRun).toBeGreaterThanOrEqual(firstHealthy.at); // not before the first one had loaded
  });
});
