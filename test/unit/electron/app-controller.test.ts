import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Conf from 'conf';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeBrowserWindow, FakeNotification, FakeTray, fakeElectron, fakeEvent, resetFakeElectron } from './fake-electron.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import type { Clock } from '../../../src-main/core/monitor/clock.js';
import { TOKEN_CHANNEL } from '../../../src-main/electron/ipc-contract.js';
import { bootstrap, iconsDir, preloadPath, startTrayApp, type TrayApp, type TrayAppOptions } from '../../../src-main/electron/app-controller.js';
import { PREFS_SCHEMA, type PrefsStore, type TrayPrefs } from '../../../src-main/electron/prefs.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

let home: string;
let target: net.Server;
let targetPort: number;
let running: TrayApp | null;

async function listen(server: net.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

beforeEach(async () => {
  resetFakeElectron();
  running = null;
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-tray-'));
  // A real service for the monitor to probe: a TCP listener.
  target = net.createServer((s) => s.end());
  targetPort = await listen(target);
});
afterEach(async () => {
  await running?.stop();
  await new Promise((resolve) => target.close(resolve));
  await fs.rm(home, { recursive: true, force: true });
});

const configDir = () => path.join(home, 'config', 'warden');
const configFile = () => path.join(configDir(), 'config.json');

async function writeConfig(extra: object = {}): Promise<void> {
  await fs.mkdir(configDir(), { recursive: true });
  const config = {
    healthCheckInterval: 3600,
    server: { host: '127.0.0.1', port: 0 },
    services: [{ name: 'svc', healthUrl: `tcp://127.0.0.1:${targetPort}`, restartCmd: null }],
    ...extra,
  };
  await fs.writeFile(configFile(), JSON.stringify(config));
}

function options(extra: Partial<TrayAppOptions> = {}): TrayAppOptions {
  return {
    env: { HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_STATE_HOME: path.join(home, 'state') },
    platform: 'linux',
    isPackaged: false,
    appPath: '/src/warden',
    resourcesPath: '/src/warden/node_modules/electron/dist/resources',
    execPath: '/src/warden/node_modules/electron/dist/electron',
    // The same library as electron-store, without Electron.
    createPrefsStore: (cwd) => new Conf<TrayPrefs>({ cwd, configName: 'tray-prefs', schema: PREFS_SCHEMA, clearInvalidConfig: false }) as unknown as PrefsStore,
    logger: silentLogger(),
    ...extra,
  };
}

/** Resolves on the next probe of any service. */
function nextProbe(app: TrayApp): Promise<void> {
  return new Promise((resolve) => {
    const off = app.warden.monitor.onProbe(() => {
      off();
      resolve();
    });
  });
}

async function started(o: TrayAppOptions = options()): Promise<TrayApp> {
  const pending = bootstrap(o);
  fakeElectron.app.becomeReady();
  const app = await pending;
  if (!app) throw new Error('bootstrap returned null');
  running = app;
  return app;
}

describe('the tray app composes the same core as `warden serve`', () => {
  it('serves the dashboard on the embedded server and hands the token only to its own pages', async () => {
    await writeConfig();
    const app = await started();
    const health = await fetch(new URL('/healthz', app.server.url));
    expect(await health.json()).toEqual({ status: 'ok' });
    const token = (await fs.readFile(path.join(configDir(), 'token'), 'utf8')).trim();
    await expect(fakeElectron.ipcMain.invokeFrom(app.server.url, TOKEN_CHANNEL)).resolves.toBe(token);
    await expect(fakeElectron.ipcMain.invokeFrom('http://127.0.0.1:1/', TOKEN_CHANNEL)).rejects.toThrow(/refused/);
    // The token really opens the API.
    const status = await fetch(new URL('/api/status', app.server.url), { headers: { Authorization: `Bearer ${token}` } });
    expect(((await status.json()) as { services: { service: string }[] }).services.map((s) => s.service)).toEqual(['svc']);
    // Permissions are denied for the default session the windows use.
    expect(fakeElectron.session.defaultSession.permissionCheckHandler?.()).toBe(false);
  });

  it('keeps its Chromium profile and prefs in <configDir>/tray, a tray icon up, and runs with no window open', async () => {
    await writeConfig();
    const app = await started();
    expect(fakeElectron.app.paths.get('userData')).toBe(path.join(configDir(), 'tray'));
    expect(FakeTray.instances).toHaveLength(1);
    expect(fakeElectron.app.listenerCount('window-all-closed')).toBe(1);
    expect(fakeElectron.app.dock.hidden).toBe(true);
    expect(FakeBrowserWindow.instances).toHaveLength(0);
    app.windows.showSettings();
    expect(FakeBrowserWindow.instances[0]?.loaded).toEqual([`${app.server.url}#/settings`]);
    expect(FakeBrowserWindow.instances[0]?.options.webPreferences?.preload).toBe('/src/warden/dist/preload/preload.cjs');
  });

  it('the tray menu opens the dashboard window from the embedded server', async () => {
    await writeConfig();
    const app = await started();
    const menuClick = (label: string) => FakeTray.instances[0]?.item(label).click?.({} as Electron.MenuItem, undefined, {} as Electron.KeyboardEvent);
    menuClick('Open dashboard');
    menuClick('Settings…');
    expect(FakeBrowserWindow.instances.map((w) => w.loaded)).toEqual([[app.server.url], [`${app.server.url}#/settings`]]);
    menuClick('Quit Warden');
    expect(fakeElectron.app.quitCalls).toBe(1);
    await vi.waitFor(() => expect(fakeElectron.app.quitCalls).toBe(2));
    running = null;
  });

  it('Start at login from the tray writes the XDG autostart entry', async () => {
    await writeConfig();
    const app = await started();
    const item = FakeTray.instances[0]?.item('Start at login');
    item?.click?.({ checked: true } as Electron.MenuItem, undefined, {} as Electron.KeyboardEvent);
    await vi.waitFor(async () => expect(await app.autostart.isEnabled()).toBe(true));
    expect(await fs.readFile(path.join(home, 'config', 'autostart', 'warden.desktop'), 'utf8')).toContain(
      'Exec="/src/warden/node_modules/electron/dist/electron" "/src/warden"',
    );
  });

  it('a failure to write the autostart entry is shown as an error notification', async () => {
    await writeConfig();
    await started();
    // A file where the autostart folder should be.
    await fs.writeFile(path.join(home, 'config', 'autostart'), '');
    FakeTray.instances[0]?.item('Start at login').click?.({ checked: true } as Electron.MenuItem, undefined, {} as Electron.KeyboardEvent);
    await vi.waitFor(() => expect(FakeNotification.instances.map((n) => n.options.title)).toContain('Warden: could not change start at login'));
  });
});

describe('maintenance from the tray (CONTRACT §14)', () => {
  const menuClick = (label: string) => FakeTray.instances[0]?.item(label).click?.({} as Electron.MenuItem, undefined, {} as Electron.KeyboardEvent);

  it('"Maintenance for all (30 min)" starts an ad-hoc window in the core, and "End maintenance" ends it', async () => {
    await writeConfig();
    const app = await started();
    expect(FakeTray.instances[0]?.item('End maintenance').enabled).toBe(false);
    menuClick('Maintenance for all (30 min)');
    await vi.waitFor(() => expect(app.warden.maintenance.list().windows).toMatchObject([{ services: null, source: 'api', active: true }]));
    await vi.waitFor(() => expect(FakeTray.instances[0]?.item('End maintenance').enabled).toBe(true));
    menuClick('End maintenance');
    await vi.waitFor(() => expect(app.warden.maintenance.list().windows).toEqual([]));
  });

  it('a refusal from the core is shown as an error notification', async () => {
    await writeConfig();
    const app = await started();
    vi.spyOn(app.warden.maintenance, 'start').mockRejectedValue(new Error('the maintenance file cannot be written'));
    menuClick('Maintenance for all (30 min)');
    await vi.waitFor(() => expect(FakeNotification.instances.map((n) => [n.options.title, n.options.body])).toContainEqual(['Warden: could not start maintenance', 'the maintenance file cannot be written']));
  });
});

describe('single instance', () => {
  it('a second launch shows the first instance’s dashboard', async () => {
    await writeConfig();
    const app = await started();
    fakeElectron.app.emit('second-instance');
    expect(FakeBrowserWindow.instances.map((w) => w.loaded)).toEqual([[app.server.url]]);
    fakeElectron.app.emit('second-instance');
    expect(FakeBrowserWindow.instances).toHaveLength(1);
    expect(FakeBrowserWindow.instances[0]?.focused).toBe(1);
  });

  it('a second launch during start-up shows the dashboard once ready', async () => {
    await writeConfig();
    const pending = bootstrap(options());
    fakeElectron.app.emit('second-instance');
    fakeElectron.app.becomeReady();
    running = await pending;
    expect(FakeBrowserWindow.instances).toHaveLength(1);
  });

  it('when another instance holds the lock, this one quits without starting anything', async () => {
    fakeElectron.app.gotLock = false;
    await expect(bootstrap(options())).resolves.toBeNull();
    expect(fakeElectron.app.quitCalls).toBe(1);
    expect(FakeTray.instances).toHaveLength(0);
  });
});

describe('power events and quitting', () => {
  it('resume from sleep and unlocking the screen probe every service at once', async () => {
    await writeConfig();
    const app = await started();
    await nextProbe(app); // the first round
    const probes: string[] = [];
    app.warden.monitor.onProbe((p) => void probes.push(p.service));
    let probed = nextProbe(app);
    fakeElectron.powerMonitor.emit('resume');
    await probed;
    probed = nextProbe(app);
    fakeElectron.powerMonitor.emit('unlock-screen');
    await probed;
    expect(probes).toEqual(['svc', 'svc']);
  });

  it('quit waits for the monitor and server to stop, then quits for real', async () => {
    await writeConfig();
    const app = await started();
    const url = app.server.url;
    const e = fakeEvent();
    fakeElectron.app.emit('before-quit', e);
    expect(e.defaultPrevented).toBe(true);
    await vi.waitFor(() => expect(fakeElectron.app.quitCalls).toBe(1));
    await expect(fetch(new URL('/healthz', url))).rejects.toThrow();
    expect(FakeTray.instances[0]?.destroyed).toBe(true);
    expect(fakeElectron.ipcMain.handlers.size).toBe(0);
    expect(fakeElectron.powerMonitor.listenerCount('resume')).toBe(0);
    running = null;
  });

  it('an error while stopping is logged and the app still quits', async () => {
    await writeConfig();
    const app = await started();
    const stop = app.stop.bind(app);
    app.stop = async () => {
      await stop();
      throw new Error('disk full');
    };
    fakeElectron.app.emit('before-quit', fakeEvent());
    await vi.waitFor(() => expect(fakeElectron.app.quitCalls).toBe(1));
    running = null;
  });
});

/** A clock whose timers never fire: the monitor probes once and then waits (no restarts run). */
const heldClock: Clock = { now: () => Date.now(), setTimeout: () => ({}), clearTimeout: () => undefined };

describe('corrupt settings (CONTRACT §1)', () => {
  it('a corrupt config.json is moved aside, defaults are used, and an error notification says so', async () => {
    await fs.mkdir(configDir(), { recursive: true });
    await fs.writeFile(configFile(), '{ "services": [ oops');
    // Hold the default port, so the defaults' server falls back to a free one (and this test never
    // depends on whether 8765 is free on this machine).
    const blocker = net.createServer();
    const blocked = await listen(blocker, 8765).catch(() => null);
    try {
      running = await startTrayApp(options({ clock: heldClock, now: () => new Date('2025-12-26T02:30:00.000Z') }));
    } finally {
      if (blocked) await new Promise((resolve) => blocker.close(resolve));
    }
    const aside = `${configFile()}.bad-2025-12-26T02-30-00-000Z`;
    expect(await fs.readFile(aside, 'utf8')).toBe('{ "services": [ oops');
    expect(JSON.parse(await fs.readFile(configFile(), 'utf8')).services.map((s: { name: string }) => s.name)).toEqual(['redis', 'rtdetr', 'nemotron']);
    const corrupt = FakeNotification.instances.find((n) => n.options.title === 'Warden settings were corrupt');
    expect(corrupt?.shown).toBe(true);
    expect(corrupt?.options.urgency).toBe('critical');
    expect(corrupt?.options.body).toContain('not valid JSON');
    expect(corrupt?.options.body).toContain(aside);
    const port = FakeNotification.instances.find((n) => n.options.title === 'Warden: dashboard port in use');
    expect(port?.options.body).toContain(running.server.url);
    expect(running.server.port).not.toBe(8765);
    // Clicking the notification opens the dashboard.
    corrupt?.emit('click');
    expect(FakeBrowserWindow.instances.map((w) => w.loaded)).toEqual([[running.server.url]]);
  });

  it('corrupt tray prefs are moved aside too, with their own notification', async () => {
    await writeConfig();
    const prefsDir = path.join(configDir(), 'tray');
    await fs.mkdir(prefsDir, { recursive: true });
    await fs.writeFile(path.join(prefsDir, 'tray-prefs.json'), '{"windows": {"dashboard": "huge"}}');
    running = await startTrayApp(options({ now: () => new Date('2025-12-26T02:30:00.000Z') }));
    expect(await fs.readFile(path.join(prefsDir, 'tray-prefs.json.bad-2025-12-26T02-30-00-000Z'), 'utf8')).toContain('huge');
    expect(FakeNotification.instances.map((n) => n.options.title)).toContain('Warden window settings were corrupt');
    // The fresh store works: window bounds are remembered.
    running.windows.showDashboard();
    FakeBrowserWindow.instances[0]?.close();
    const saved = JSON.parse(await fs.readFile(path.join(prefsDir, 'tray-prefs.json'), 'utf8'));
    expect(saved.windows.dashboard).toEqual({ x: 10, y: 20, width: 900, height: 700 });
  });

  it('a prefs store that fails with no file on disk is a real error, not a quarantine', async () => {
    await writeConfig();
    const o = options({
      createPrefsStore: () => {
        throw new Error('EACCES');
      },
    });
    await expect(startTrayApp(o)).rejects.toThrow('EACCES');
  });
});

describe('paths', () => {
  it('icons and ai/ come from the resources folder when packaged, from the project when run from source', () => {
    expect(iconsDir({ isPackaged: true, appPath: '/opt/Warden/resources/app.asar', resourcesPath: '/opt/Warden/resources' })).toBe('/opt/Warden/resources/icons');
    expect(iconsDir({ isPackaged: false, appPath: '/src/warden', resourcesPath: '/x' })).toBe('/src/warden/resources');
    expect(preloadPath('/opt/Warden/resources/app.asar')).toBe('/opt/Warden/resources/app.asar/dist/preload/preload.cjs');
  });

  it('a packaged app runs restart commands from the resources folder (where ai/*.sh are shipped)', async () => {
    await writeConfig({ services: [{ name: 'svc', healthUrl: `tcp://127.0.0.1:${targetPort}`, restartCmd: 'pwd > "$PWD_OUT_FILE"' }] });
    const resources = path.join(home, 'resources');
    await fs.mkdir(resources);
    const out = path.join(home, 'pwd.txt');
    process.env.PWD_OUT_FILE = out;
    try {
      running = await startTrayApp(options({ isPackaged: true, resourcesPath: resources }));
      running.warden.monitor.act('svc', 'restart');
      await vi.waitFor(async () => expect((await fs.readFile(out, 'utf8')).trim()).toBe(resources), { timeout: 20_000 });
    } finally {
      delete process.env.PWD_OUT_FILE;
    }
  });
});
