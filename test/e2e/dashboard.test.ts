/**
 * The dashboard end to end: Debian's Chromium (playwright-core) against the real server over a
 * real Warden watching real stand-in services, restarted by the real shell strategy.
 * Screenshots of each state go to test-results/ (and, with WARDEN_UPDATE_DOCS=1, one to docs/dashboard.png for the README).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src-shared/config-schema.js';
import { silentLogger } from '../../src-main/core/log/logger.js';
import { startServer, type RunningServer } from '../../src-main/core/server/http-server.js';
import { createWarden, type Warden } from '../../src-main/core/warden.js';
import { isAlive, killGroup, waitUntil } from '../helpers/process-tree.js';
import { freePort, spawnStandIn, standInCommand, type SpawnedStandIn } from '../helpers/stand-in.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DIST = path.join(ROOT, 'dist', 'renderer');
const SHOTS = path.join(ROOT, 'test-results');
const TOKEN = 'e2e'.padEnd(64, '0');
const WAIT = { timeout: 30_000 };

/** Newest modification time under a folder (the dashboard's sources). */
function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

/** `npm test` builds first; a lone run of this file builds the dashboard when it is missing or stale. */
function ensureBuilt(): void {
  const index = path.join(DIST, 'index.html');
  const stale = !fs.existsSync(index) || fs.statSync(index).mtimeMs < Math.max(newest(path.join(ROOT, 'src-renderer')), newest(path.join(ROOT, 'src-shared')));
  if (stale) execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
}

/** The pid in a stand-in's pidfile (the instance a restart command started), if any. */
function pidFromFile(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

describe('dashboard in Chromium against the real server', () => {
  let dir: string;
  let warden: Warden;
  let server: RunningServer;
  let serverClosed = false;
  let browser: Browser;
  let page: Page;
  const first: SpawnedStandIn[] = [];
  const pidfiles: string[] = [];

  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${server.url.replace(/\/$/, '')}${p}`, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const card = (name: string) => page.locator(`article[data-service="${name}"]`);
  const statusOf = (name: string) => card(name).getAttribute('data-status');
  const waitStatus = (name: string, status: string) => page.waitForSelector(`article[data-service="${name}"][data-status="${status}"]`, WAIT);
  const shot = async (name: string, fullPage = true) => {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
  };

  beforeAll(async () => {
    ensureBuilt();
    fs.mkdirSync(SHOTS, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-e2e-'));

    // Two stand-ins on fixed ports, each restartable by the same script the ai/ start scripts mirror.
    const services = [];
    for (const name of ['detector', 'llm']) {
      const port = await freePort();
      const pidfile = path.join(dir, `${name}.pid`);
      pidfiles.push(pidfile);
      first.push(await spawnStandIn(['--port', String(port), '--pidfile', pidfile]));
      // The detector's restart first waits 3 s, so a second "Restart now" surely lands while it runs.
      const restartCmd = `${name === 'detector' ? 'sleep 3; ' : ''}${standInCommand({ port, pidfile })}`;
      services.push({ name, healthUrl: `http://127.0.0.1:${port}/health`, restartCmd, pidfile });
    }
    const config = configSchema.parse({ healthCheckInterval: 0.5, serviceBackoffBase: 0.5, serviceMaxRetries: 3, resetAfter: 1, services });
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    warden = await createWarden(config, { logger: silentLogger(), configFile, dataDir: dir });
    warden.start();
    server = await startServer({ warden, host: '127.0.0.1', port: 0, token: TOKEN, logger: silentLogger(), staticDir: DIST });

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  });

  afterAll(async () => {
    await browser?.close();
    if (!serverClosed) await server?.close();
    await warden?.stop();
    for (const s of first) s.kill('SIGKILL');
    for (const file of pidfiles) {
      const pid = pidFromFile(file);
      if (pid !== null) killGroup(pid, 'SIGKILL');
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens with the token in the fragment, removes it from the address bar, and shows every service healthy', async () => {
    // Every request the page makes is answered (the app icon included: no 404 for a favicon).
    const failed: string[] = [];
    page.on('response', (res) => {
      if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
    });
    await page.goto(server.dashboardUrl);
    await waitStatus('detector', 'healthy');
    await waitStatus('llm', 'healthy');
    expect(page.url()).toBe(server.url);
    expect(await page.evaluate(() => sessionStorage.getItem('warden.token'))).toBe(TOKEN);
    expect(await page.locator('[role="alert"]').count()).toBe(0);
    await page.waitForFunction(() => document.title === 'Warden — no problems', null, WAIT);
    // The sparkline fills from the 10 s poll; the uptime bar has its 24 hourly segments.
    await page.waitForSelector('article[data-service="llm"] svg.sparkline', WAIT);
    expect(await card('llm').locator('.uptime__seg').count()).toBe(24);
    expect(await page.evaluate(async () => (await fetch((document.querySelector('link[rel="icon"]') as HTMLLinkElement).href)).headers.get('content-type'))).toBe('image/png');
    expect(failed).toEqual([]);
    await shot('dashboard-healthy');
  });

  it('a killed service shows a yellow banner with "attempt 1/3" while it restarts, and the banner goes on recovery', async () => {
    const victim = first[0]!;
    killGroup(victim.pid, 'SIGKILL');
    const banner = await page.waitForSelector('[role="alert"][data-severity="warning"]', WAIT);
    expect(await banner.textContent()).toContain('attempt 1/3');
    expect(await banner.textContent()).toContain('detector');
    await shot('dashboard-restarting');
    await waitStatus('detector', 'healthy');
    await page.waitForSelector('[role="alert"]', { state: 'detached', ...WAIT });
    expect(isAlive(pidFromFile(pidfiles[0]!)!)).toBe(true);
  });

  it('"Restart now" restarts the service and the restarts count goes up', async () => {
    await page.waitForFunction(() => document.querySelector('article[data-service="llm"] [data-testid="restarts"]')?.textContent === '0', null, WAIT);
    const before = pidFromFile(pidfiles[1]!);
    await card('llm').getByRole('button', { name: 'Restart now' }).click();
    await page.waitForFunction(() => document.querySelector('article[data-service="llm"] [role="status"]')?.textContent === 'Restart requested', null, WAIT);
    await page.waitForFunction(() => document.querySelector('article[data-service="llm"] [data-testid="restarts"]')?.textContent === '1', null, WAIT);
    await waitStatus('llm', 'healthy');
    // A new instance runs: the restart command replaced the first one.
    await waitUntil(() => pidFromFile(pidfiles[1]!) !== before, { timeoutMs: 30_000 });
  });

  it('a "Restart now" while a restart is running shows the server\'s 409 message on the card', async () => {
    await card('detector').getByRole('button', { name: 'Restart now' }).click();
    // The first restart takes over 3 s (see the detector's restartCmd); a second request is refused as busy.
    await page.waitForFunction(() => document.querySelector('article[data-service="detector"]')?.getAttribute('data-status') === 'restarting', null, WAIT);
    await card('detector').getByRole('button', { name: 'Restart now' }).click();
    await page.waitForFunction(
      () => /already in progress/.test(document.querySelector('article[data-service="detector"] [role="status"]')?.textContent ?? ''),
      null,
      WAIT,
    );
    await waitStatus('detector', 'healthy');
  });

  it('a settings change round-trips, and a bad value shows the server\'s error next to its field', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    const interval = page.locator('#field-healthCheckInterval');
    await interval.waitFor(WAIT);
    await interval.fill('-1');
    await page.getByRole('button', { name: 'Save settings' }).click();
    const error = page.locator('#field-healthCheckInterval-error');
    await error.waitFor(WAIT);
    expect(await error.textContent()).toBe('must be greater than 0 (seconds)');
    expect(await interval.getAttribute('aria-invalid')).toBe('true');
    expect((await interval.getAttribute('aria-describedby'))?.split(' ')).toContain('field-healthCheckInterval-error');
    // The viewport only: the sticky save bar would land mid-page in a full-page capture.
    await page.locator('h1', { hasText: 'Settings' }).scrollIntoViewIfNeeded();
    await shot('settings-invalid', false);
    expect((await api('GET', '/api/settings')).body.healthCheckInterval).toBe(0.5);

    await interval.fill('0.75');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved and applied.').waitFor(WAIT);
    expect((await api('GET', '/api/settings')).body.healthCheckInterval).toBe(0.75);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).healthCheckInterval).toBe(0.75);
  });

  it('a service added in settings whose restart cannot work ends red and "failed"', async () => {
    const deadPort = await freePort();
    await page.getByRole('button', { name: 'Add service' }).click();
    await page.locator('#field-services-2-name').fill('broken');
    await page.locator('#field-services-2-healthUrl').fill(`http://127.0.0.1:${deadPort}/health`);
    // New services start as monitor only: untick, then give the command that always fails.
    await page.locator('#field-services-2-monitorOnly').uncheck();
    await page.locator('#field-services-2-restartCmd').fill('echo "model does not fit in VRAM" >&2; exit 1');
    await page.locator('details.overrides').nth(2).locator('summary').click();
    await page.locator('#field-services-2-serviceMaxRetries').fill('1');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved and applied.').waitFor(WAIT);

    await page.getByRole('link', { name: 'Dashboard' }).click();
    await waitStatus('broken', 'failed');
    const banner = await page.waitForSelector('[role="alert"][data-severity="error"]', WAIT);
    expect(await banner.textContent()).toContain('broken');
    await page.waitForFunction(() => document.title === '✖ Warden — 1 problem', null, WAIT);
    // The reason and the output tail of the failed restart are on the card.
    const failure = card('broken').locator('details.card__failure');
    await failure.waitFor(WAIT);
    await failure.locator('summary').click();
    expect(await failure.locator('pre').textContent()).toContain('model does not fit in VRAM');
    expect(await statusOf('detector')).toBe('healthy');
    // The restart attempt is counted once its command has returned (the card refetches after each event).
    await page.waitForFunction(() => document.querySelector('article[data-service="broken"] [data-testid="restarts"]')?.textContent === '1', null, WAIT);
    await page.mouse.move(0, 0);
    await shot('dashboard-failed');
    // The README's picture is refreshed only on request: a test run never rewrites tracked files.
    if (process.env.WARDEN_UPDATE_DOCS === '1') fs.copyFileSync(path.join(SHOTS, 'dashboard-failed.png'), path.join(ROOT, 'docs', 'dashboard.png'));
  });

  it('is keyboard usable and readable in dark mode', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    // A reload starts focus from the top (and shows the token survives in sessionStorage).
    await page.reload();
    await waitStatus('broken', 'failed');
    await page.waitForSelector('[role="alert"]', WAIT);
    // Tab order: brand, Dashboard, Settings, then the banner's Dismiss button, the header's maintenance
    // button, then the first card's buttons.
    const labels: string[] = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      labels.push(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ''));
    }
    expect(labels).toEqual(['Warden', 'Dashboard', 'Settings', 'Dismiss', 'Maintenance for all, 30 min', 'Restart now']);
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(ring).toBe('solid');
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(13, 17, 23)');
    await shot('dashboard-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('dismissing the banner hides this failure episode only', async () => {
    await page.getByRole('button', { name: 'Dismiss this alert' }).click();
    expect(await page.locator('[role="alert"]').count()).toBe(0);
    // Another service's new failure brings it back.
    const pid = pidFromFile(pidfiles[1]!)!;
    killGroup(pid, 'SIGKILL');
    const banner = await page.waitForSelector('[role="alert"]', WAIT);
    expect(await banner.textContent()).toContain('llm');
    await waitStatus('llm', 'healthy');
  });

  it('shows a grey "Disconnected — reconnecting…" strip when the server goes away', async () => {
    await server.close();
    serverClosed = true;
    const strip = await page.waitForSelector('[role="status"][data-connection="reconnecting"]', WAIT);
    expect(await strip.textContent()).toBe('Disconnected — reconnecting…');
    await shot('dashboard-disconnected');
  });
});
