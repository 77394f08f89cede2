/**
 * The GPU parts of the dashboard end to end (CONTRACT §11): Debian's Chromium against the real
 * server over a real Warden, two real stand-ins as the GPU servers, and the fixture nvidia-smi
 * (no GPU here) listing their real pids from a state file this test rewrites. A crash of the LLM
 * goes through the release gate, with its countdown in the banner, and back.
 * Screenshots go to test-results/ (and, with WARDEN_UPDATE_DOCS=1, to docs/ for the README).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src-shared/config-schema.js';
import { silentLogger } from '../../src-main/core/log/logger.js';
import { startServer, type RunningServer } from '../../src-main/core/server/http-server.js';
import { createWarden, type Warden } from '../../src-main/core/warden.js';
import { killGroup } from '../helpers/process-tree.js';
import { freePort, spawnStandIn, standInCommand, shellQuote, type SpawnedStandIn } from '../helpers/stand-in.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DIST = path.join(ROOT, 'dist', 'renderer');
const SHOTS = path.join(ROOT, 'test-results');
const FAKE_SMI = fileURLToPath(new URL('../fixtures/ai/bin/nvidia-smi', import.meta.url));
const TOKEN = 'e2e-gpu'.padEnd(64, '0');
const WAIT = { timeout: 30_000 };
const UUID = 'GPU-aaaa-1111';

describe('the GPU strip and the release gate in Chromium', () => {
  let dir: string;
  let state: string;
  let warden: Warden;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const first: Record<string, SpawnedStandIn> = {};
  const pidfiles: Record<string, string> = {};
  const gpu = (usedMiB: number) => `gpu=0, ${UUID}, NVIDIA GeForce RTX 4090, ${usedMiB}, 24564, 87, 68, 301.20`;
  const writeState = (...lines: string[]) => {
    // Atomic: the fixture re-reads it on every call, and must never see half a file.
    fs.writeFileSync(`${state}.tmp`, `${['mode=ok', ...lines].join('\n')}\n`);
    fs.renameSync(`${state}.tmp`, state);
  };
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const card = (name: string) => page.locator(`article[data-service="${name}"]`);

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-e2e-gpu-'));
    state = path.join(dir, 'smi.state');
    process.env.FAKE_SMI_STATE = state;
    const services = [];
    for (const name of ['rtdetr', 'nemotron']) {
      const port = await freePort();
      const pidfile = path.join(dir, `${name}.pid`);
      pidfiles[name] = pidfile;
      first[name] = await spawnStandIn(['--port', String(port), '--pidfile', pidfile, '--kind', name === 'nemotron' ? 'llm' : 'detector']);
      const stopCmd = `kill -KILL -- "-$(cat ${shellQuote(pidfile)})" 2>/dev/null; rm -f ${shellQuote(pidfile)}; true`;
      services.push({ name, healthUrl: `http://127.0.0.1:${port}/health`, restartCmd: standInCommand({ port, pidfile, args: ['--kind', name === 'nemotron' ? 'llm' : 'detector'] }), stopCmd, pidfile, gpu: { index: 0 } });
    }
    writeState(gpu(20400), `app=${UUID}, ${first.rtdetr!.pid}, 2600`, `app=${UUID}, ${first.nemotron!.pid}, 17100`);
    const config = configSchema.parse({ healthCheckInterval: 0.5, serviceBackoffBase: 0.2, gpu: { smi: FAKE_SMI, pollInterval: 0.5, releaseTimeout: 120 }, services });
    warden = await createWarden(config, { logger: silentLogger(), configFile: null, dataDir: dir });
    warden.start();
    server = await startServer({ warden, host: '127.0.0.1', port: 0, token: TOKEN, logger: silentLogger(), staticDir: DIST });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await warden?.stop();
    for (const s of Object.values(first)) s.kill('SIGKILL');
    for (const file of Object.values(pidfiles)) {
      const pid = Number(fs.readFileSync(file, 'utf8').trim() || 0);
      if (pid > 1) killGroup(pid);
    }
    delete process.env.FAKE_SMI_STATE;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows each GPU with a memory segment per service, its figures, and the VRAM on each card', async () => {
    await page.goto(server.dashboardUrl);
    await page.waitForSelector('article[data-service="nemotron"][data-status="healthy"]', WAIT);
    const bar = page.getByRole('meter', { name: 'Memory of GPU 0: 19.9 / 24.0 GiB' });
    await bar.waitFor(WAIT);
    expect(await bar.locator('.gpu__seg').evaluateAll((els) => els.map((e) => e.getAttribute('title')))).toEqual(['nemotron: 16.7 GiB', 'rtdetr: 2.5 GiB', 'other: 0.7 GiB']);
    expect(await page.getByTestId('gpu-util').textContent()).toBe('87 %');
    expect(await page.getByTestId('gpu-temp').textContent()).toBe('68 °C');
    await card('nemotron').getByTestId('vram').waitFor(WAIT);
    expect(await card('nemotron').getByTestId('vram').textContent()).toBe('VRAM 16.7 GiB on GPU 0');
    expect(await card('rtdetr').getByTestId('vram').textContent()).toBe('VRAM 2.5 GiB on GPU 0');
    await page.mouse.move(0, 0);
    await shot('dashboard-gpu');
  });

  it('a crashed LLM waits at the release gate, with a countdown, until its memory is back, then recovers', async () => {
    first.nemotron!.kill('SIGKILL'); // still listed by nvidia-smi: the driver has not let go yet
    const banner = page.locator('[role="alert"]');
    await page.waitForFunction(() => /Waiting for GPU memory to be released/.test(document.querySelector('[role="alert"]')?.textContent ?? ''), null, WAIT);
    expect(await banner.textContent()).toMatch(/gives up waiting in \d+ (s|min)/);
    expect(fs.existsSync(pidfiles.nemotron!)).toBe(false); // stopped, not started again yet
    await page.mouse.move(0, 0);
    await shot('dashboard-gpu-release-gate');
    if (process.env.WARDEN_UPDATE_DOCS === '1') {
      fs.copyFileSync(path.join(SHOTS, 'dashboard-gpu.png'), path.join(ROOT, 'docs', 'dashboard-gpu.png'));
      fs.copyFileSync(path.join(SHOTS, 'dashboard-gpu-release-gate.png'), path.join(ROOT, 'docs', 'dashboard-gpu-release-gate.png'));
    }
    writeState(gpu(3300), `app=${UUID}, ${first.rtdetr!.pid}, 2600`);
    await page.waitForSelector('article[data-service="nemotron"][data-status="healthy"]', WAIT);
    await page.waitForSelector('[role="alert"]', { state: 'detached', ...WAIT });
  });
});
