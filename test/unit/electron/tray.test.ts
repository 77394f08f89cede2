import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { click, FakeTray, labels, resetFakeElectron } from './fake-electron.js';
import { harness, testConfig } from '../../helpers/monitor-harness.js';
import { WardenTray, trayIconPath, type TrayMaintenance } from '../../../src-main/electron/tray.js';
import { trayTooltip } from '../../../src-main/electron/tray-view.js';
import type { MaintenanceWindow, ServiceState } from '../../../src-shared/protocol.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

const ICONS = '/opt/Warden/resources/icons';
const services = [
  { name: 'redis', healthUrl: 'redis://127.0.0.1:6379', restartCmd: 'true' },
  { name: 'rtdetr', healthUrl: 'http://127.0.0.1:8090/health', restartCmd: 'true' },
  { name: 'nemotron', healthUrl: 'http://127.0.0.1:8091/health', restartCmd: null },
];

let h: ReturnType<typeof harness>;
let tray: WardenTray;
let calls: string[];
let startAtLogin: boolean;

function fake(): FakeTray {
  return FakeTray.instances[0] as FakeTray;
}

beforeEach(() => {
  resetFakeElectron();
  h = harness(testConfig({ services, serviceMaxRetries: 1, serviceBackoffBase: 1 }));
  calls = [];
  startAtLogin = false;
  tray = new WardenTray({
    monitor: h.monitor,
    iconsDir: ICONS,
    debounceMs: 100,
    actions: {
      openDashboard: () => calls.push('dashboard'),
      openSettings: () => calls.push('settings'),
      isStartAtLogin: () => startAtLogin,
      setStartAtLogin: async (on) => {
        calls.push(`startAtLogin:${on}`);
        startAtLogin = on;
      },
      quit: () => calls.push('quit'),
    },
  });
});
afterEach(async () => {
  tray.dispose();
  await h.dispose();
});

async function allHealthy(): Promise<void> {
  h.monitor.start();
  await h.advance(1000);
}

describe('tray icon and tooltip follow the statuses', () => {
  it('starts grey (no probe yet) with each service "checking…"', () => {
    expect(fake().image.path).toBe(trayIconPath(ICONS, 'neutral'));
    expect(fake().tooltips.at(-1)).toBe('Warden — redis checking…, rtdetr checking…, nemotron checking…');
  });

  it('turns green with "all 3 services healthy" once every probe passes', async () => {
    await allHealthy();
    expect(fake().images.at(-1)).toBe(`${ICONS}/tray-ok.png`);
    expect(fake().tooltips.at(-1)).toBe('Warden — all 3 services healthy');
  });

  it('turns red and names the service when one fails, and green again on recovery', async () => {
    await allHealthy();
    h.manager.set('rtdetr', 'down');
    h.manager.failRestarts('rtdetr');
    h.monitor.trigger('rtdetr');
    await h.advance(1000);
    expect(fake().images.at(-1)).toBe(`${ICONS}/tray-error.png`);
    await h.advance(120_000);
    expect(h.monitor.state('rtdetr')?.status).toBe('failed');
    expect(fake().tooltips.at(-1)).toBe('Warden — rtdetr failed');
    h.manager.set('rtdetr', 'up');
    h.monitor.trigger('rtdetr');
    await h.advance(1000);
    expect(fake().images.at(-1)).toBe(`${ICONS}/tray-ok.png`);
    expect(fake().tooltips.at(-1)).toBe('Warden — all 3 services healthy');
  });

  it('shows amber while a service is restarting', async () => {
    await allHealthy();
    let release!: () => void;
    h.manager.onRestart.set('rtdetr', () => new Promise((resolve) => (release = () => resolve({ ok: true, output: '' }))));
    h.manager.set('rtdetr', 'down');
    h.monitor.act('rtdetr', 'restart');
    await h.advance(500);
    expect(h.monitor.state('rtdetr')?.status).toBe('restarting');
    expect(fake().images.at(-1)).toBe(`${ICONS}/tray-warning.png`);
    expect(fake().tooltips.at(-1)).toBe('Warden — rtdetr restarting');
    h.manager.set('rtdetr', 'up');
    release();
    await h.advance(1000);
  });

  it('sets the image only when the severity changes (some Linux trays flicker on every setImage)', async () => {
    await allHealthy();
    const before = fake().images.length;
    tray.render();
    tray.render();
    expect(fake().images.length).toBe(before);
  });

  it('rebuilds once for a burst of events (debounced)', async () => {
    await allHealthy();
    const before = fake().menus.length;
    h.monitor.act('redis', 'pause');
    h.monitor.act('rtdetr', 'pause');
    h.monitor.act('nemotron', 'pause');
    expect(fake().menus.length).toBe(before);
    await h.advance(100);
    expect(fake().menus.length).toBe(before + 1);
  });
});

describe('tray menu', () => {
  it('lists each service with its status, then the app items', async () => {
    await allHealthy();
    expect(labels(fake().menus.at(-1) ?? [])).toEqual([
      'redis — healthy',
      'rtdetr — healthy',
      'nemotron — healthy',
      '---',
      'Open dashboard',
      'Settings…',
      'Pause all',
      '---',
      'Start at login',
      '---',
      'Quit Warden',
    ]);
    const rtdetr = fake().item('rtdetr — healthy');
    expect(labels(rtdetr.submenu as Electron.MenuItemConstructorOptions[])).toEqual(['Service responding normally (HTTP 200)', '---', 'Restart', 'Pause']);
  });

  it('Restart restarts that service through the monitor (disabled for monitor-only services)', async () => {
    await allHealthy();
    const sub = (name: string) => fake().item(`${name} — healthy`).submenu as Electron.MenuItemConstructorOptions[];
    expect(sub('nemotron').find((i) => i.label === 'Restart')?.enabled).toBe(false);
    click(sub('rtdetr').find((i) => i.label === 'Restart') as Electron.MenuItemConstructorOptions);
    await h.advance(1000);
    expect(h.manager.restartTimes('rtdetr')).toHaveLength(1);
  });

  it('Pause pauses the service; its menu then offers Resume', async () => {
    await allHealthy();
    click((fake().item('redis — healthy').submenu as Electron.MenuItemConstructorOptions[])[3] as Electron.MenuItemConstructorOptions);
    expect(h.monitor.state('redis')?.status).toBe('paused');
    await h.advance(100);
    const redis = fake().item('redis — paused').submenu as Electron.MenuItemConstructorOptions[];
    click(redis.find((i) => i.label === 'Resume') as Electron.MenuItemConstructorOptions);
    await h.advance(1000);
    expect(h.monitor.state('redis')?.status).toBe('healthy');
  });

  it('a failed service offers Reset retries', async () => {
    await allHealthy();
    h.manager.set('rtdetr', 'down');
    h.manager.failRestarts('rtdetr');
    h.monitor.trigger('rtdetr');
    await h.advance(120_000);
    const sub = fake().item('rtdetr — failed').submenu as Electron.MenuItemConstructorOptions[];
    expect(sub[0]?.label).toBe('Max retries exceeded');
    h.manager.onRestart.delete('rtdetr');
    click(sub.find((i) => i.label === 'Reset retries') as Electron.MenuItemConstructorOptions);
    await h.advance(60_000);
    expect(h.monitor.state('rtdetr')?.status).toBe('healthy');
  });

  it('Pause all pauses every service, and then the item reads Resume all', async () => {
    await allHealthy();
    click(fake().item('Pause all'));
    expect(h.monitor.states().map((s) => s.status)).toEqual(['paused', 'paused', 'paused']);
    await h.advance(100);
    click(fake().item('Resume all'));
    await h.advance(1000);
    expect(h.monitor.states().map((s) => s.status)).toEqual(['healthy', 'healthy', 'healthy']);
  });

  it('Open dashboard, Settings… and Quit call the app; a tray click opens the dashboard', async () => {
    click(fake().item('Open dashboard'));
    click(fake().item('Settings…'));
    click(fake().item('Quit Warden'));
    fake().emit('click');
    expect(calls).toEqual(['dashboard', 'settings', 'quit', 'dashboard']);
  });

  it('Start at login is a checkbox showing and changing the setting', async () => {
    const item = fake().item('Start at login');
    expect(item).toMatchObject({ type: 'checkbox', checked: false });
    click(item, true);
    await h.advance(200);
    expect(calls).toEqual(['startAtLogin:true']);
    expect(fake().item('Start at login').checked).toBe(true);
  });

  it('with no services configured the menu says so and Pause all is disabled', async () => {
    const empty = harness(testConfig({ services: [] }));
    resetFakeElectron();
    const t = new WardenTray({ monitor: empty.monitor, iconsDir: ICONS, actions: { openDashboard() {}, openSettings() {}, isStartAtLogin: () => false, setStartAtLogin() {}, quit() {} } });
    expect(labels(fake().menus[0] ?? []).slice(0, 2)).toEqual(['No services configured', '---']);
    expect(fake().item('Pause all').enabled).toBe(false);
    expect(fake().tooltips[0]).toBe('Warden — no services configured');
    t.dispose();
    expect(fake().destroyed).toBe(true);
    await empty.dispose();
  });
});

describe('tooltip wording', () => {
  const st = (service: string, status: ServiceState['status']) => ({ service, status }) as ServiceState;
  it('one healthy service', () => expect(trayTooltip([st('redis', 'healthy')])).toBe('Warden — 1 service healthy'));
  it('lists problems worst first and caps the list at three', () => {
    expect(trayTooltip([st('a', 'paused'), st('b', 'starting'), st('c', 'failed'), st('d', 'unhealthy'), st('e', 'healthy')])).toBe(
      'Warden — c failed, d unhealthy, b starting (+1 more)',
    );
  });
});

describe('GPU memory in the tooltip (CONTRACT §11)', () => {
  const st = (service: string, status: ServiceState['status']) => ({ service, status }) as ServiceState;
  const g = (index: number, memoryUsedMiB: number | null, memoryTotalMiB: number | null) => ({ index, memoryUsedMiB, memoryTotalMiB });

  it('appends "GPU n: used / total GiB" per GPU, skipping one whose memory is not reported', () => {
    const gpu = { available: true, gpus: [g(0, 18636, 24564), g(1, 512, 12288), g(2, null, 8192), g(3, 100, null)] };
    expect(trayTooltip([st('redis', 'healthy')], gpu)).toBe('Warden — 1 service healthy\nGPU 0: 18.2 / 24.0 GiB\nGPU 1: 0.5 / 12.0 GiB');
  });

  it('adds nothing without a usable GPU', () => {
    expect(trayTooltip([st('redis', 'healthy')], { available: false, gpus: [g(0, 18636, 24564)] })).toBe('Warden — 1 service healthy');
    expect(trayTooltip([st('redis', 'healthy')], undefined)).toBe('Warden — 1 service healthy');
  });
});

/** A stand-in for the core's GpuMonitor: what the tray uses of it (onSample, latest). */
class FakeGpu {
  readonly listeners = new Set<() => void>();
  sample: { available: boolean; gpus: { index: number; memoryUsedMiB: number | null; memoryTotalMiB: number | null }[] } = { available: false, gpus: [] };
  onSample(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  latest() {
    return this.sample;
  }
  emit(sample: FakeGpu['sample']): void {
    this.sample = sample;
    for (const l of this.listeners) l();
  }
}

describe('the tray follows the GPU telemetry', () => {
  let gpu: FakeGpu;
  let gpuTray: WardenTray;
  beforeEach(() => {
    resetFakeElectron();
    gpu = new FakeGpu();
    gpuTray = new WardenTray({ monitor: h.monitor, gpu, iconsDir: ICONS, actions: { openDashboard() {}, openSettings() {}, isStartAtLogin: () => false, setStartAtLogin() {}, quit() {} } });
  });
  afterEach(() => gpuTray.dispose());

  it('each sample updates the tooltip at once, without rebuilding the menu; an unchanged one sets nothing', async () => {
    await allHealthy();
    expect(fake().tooltips.at(-1)).toBe('Warden — all 3 services healthy');
    const menus = fake().menus.length;
    const tooltips = fake().tooltips.length;
    gpu.emit({ available: true, gpus: [{ index: 0, memoryUsedMiB: 18636, memoryTotalMiB: 24564 }] });
    expect(fake().tooltips.at(-1)).toBe('Warden — all 3 services healthy\nGPU 0: 18.2 / 24.0 GiB');
    expect(fake().tooltips).toHaveLength(tooltips + 1);
    gpu.emit({ available: true, gpus: [{ index: 0, memoryUsedMiB: 18636, memoryTotalMiB: 24564 }] });
    expect(fake().tooltips).toHaveLength(tooltips + 1);
    expect(fake().menus).toHaveLength(menus);
    // The GPU went away (driver error): its line goes too.
    gpu.emit({ available: false, gpus: [] });
    expect(fake().tooltips.at(-1)).toBe('Warden — all 3 services healthy');
  });

  it('a status change keeps the GPU line', async () => {
    gpu.emit({ available: true, gpus: [{ index: 0, memoryUsedMiB: 1024, memoryTotalMiB: 24564 }] });
    await allHealthy();
    h.monitor.act('redis', 'pause');
    await h.advance(100);
    expect(fake().tooltips.at(-1)).toBe('Warden — redis paused\nGPU 0: 1.0 / 24.0 GiB');
  });

  it('dispose stops listening to the GPU', () => {
    expect(gpu.listeners.size).toBe(1);
    gpuTray.dispose();
    expect(gpu.listeners.size).toBe(0);
  });
});

/** A stand-in for the core's Warden.maintenance: records requests, can answer later or fail. */
class FakeMaintenance implements TrayMaintenance {
  windows: MaintenanceWindow[] = [];
  requests: unknown[] = [];
  /** Thrown at once (sync) or as a rejection (async). */
  failure: Error | string | null = null;
  async = false;
  listFails = false;

  list() {
    if (this.listFails) throw new Error('scheduler not ready');
    return { windows: this.windows, timestamp: 'x' };
  }
  start(o: { services?: string[]; minutes: number; reason?: string }) {
    this.requests.push(['start', o]);
    return this.answer(() => {
      const w: MaintenanceWindow = { id: `w${this.windows.length + 1}`, services: o.services ?? null, from: 'a', to: 'b', reason: null, source: 'api', active: true };
      this.windows.push(w);
      return w;
    });
  }
  endAdHoc() {
    this.requests.push(['end']);
    return this.answer(() => {
      const before = this.windows.length;
      this.windows = this.windows.filter((w) => w.source !== 'api');
      return before - this.windows.length;
    });
  }
  private answer<T>(fn: () => T): T | Promise<T> {
    const failure = this.failure;
    if (this.async) return Promise.resolve().then(() => (failure ? Promise.reject(failure) : fn()));
    if (failure) throw failure;
    return fn();
  }
}

describe('maintenance from the tray (CONTRACT §14)', () => {
  let m: FakeMaintenance;
  let errors: string[];
  let mTray: WardenTray | null;
  const make = (maintenance: TrayMaintenance, showError = true) => {
    resetFakeElectron();
    mTray = new WardenTray({
      monitor: h.monitor,
      maintenance,
      iconsDir: ICONS,
      actions: {
        openDashboard() {},
        openSettings() {},
        isStartAtLogin: () => false,
        setStartAtLogin() {},
        quit() {},
        ...(showError ? { showError: (title: string, body: string) => errors.push(`${title}: ${body}`) } : {}),
      },
    });
  };
  const endItem = () => fake().item('End maintenance');
  const sub = (label: string) => fake().item(label).submenu as Electron.MenuItemConstructorOptions[];
  beforeEach(() => {
    m = new FakeMaintenance();
    errors = [];
    make(m);
  });
  afterEach(() => mTray?.dispose());

  it('adds "Maintenance for 30 min" to each service, and "Maintenance for all" and "End maintenance" to the menu', async () => {
    await allHealthy();
    expect(labels(fake().menus.at(-1) ?? [])).toEqual([
      'redis — healthy',
      'rtdetr — healthy',
      'nemotron — healthy',
      '---',
      'Open dashboard',
      'Settings…',
      'Pause all',
      'Maintenance for all (30 min)',
      'End maintenance',
      '---',
      'Start at login',
      '---',
      'Quit Warden',
    ]);
    expect(labels(sub('rtdetr — healthy'))).toEqual(['Service responding normally (HTTP 200)', '---', 'Restart', 'Pause', 'Maintenance for 30 min']);
    expect(endItem().enabled).toBe(false);
  });

  it("a service's item starts a 30 min window for it; then End maintenance is enabled", async () => {
    await allHealthy();
    click(sub('rtdetr — healthy').find((i) => i.label === 'Maintenance for 30 min') as Electron.MenuItemConstructorOptions);
    await h.advance(100);
    expect(m.requests).toEqual([['start', { services: ['rtdetr'], minutes: 30 }]]);
    expect(endItem().enabled).toBe(true);
  });

  it('"Maintenance for all" starts one window over every service; "End maintenance" ends the ad-hoc ones and is disabled again', async () => {
    m.async = true; // the core persists ad-hoc windows before answering
    click(fake().item('Maintenance for all (30 min)'));
    await h.advance(100);
    expect(m.requests).toEqual([['start', { minutes: 30 }]]);
    expect(endItem().enabled).toBe(true);
    click(endItem());
    await h.advance(100);
    expect(m.requests.at(-1)).toEqual(['end']);
    expect(endItem().enabled).toBe(false);
    expect(errors).toEqual([]);
  });

  it('End maintenance is disabled while only config windows or upcoming ad-hoc ones exist', () => {
    m.windows = [
      { id: 'c', services: null, from: 'a', to: 'b', reason: null, source: 'config', active: true },
      { id: 'a', services: null, from: 'a', to: 'b', reason: null, source: 'api', active: false },
    ];
    mTray?.render();
    expect(endItem().enabled).toBe(false);
    m.windows.push({ id: 'a2', services: ['redis'], from: 'a', to: 'b', reason: null, source: 'api', active: true });
    mTray?.render();
    expect(endItem().enabled).toBe(true);
  });

  it('a refusal, thrown or rejected, is shown as an error, and the menu is rebuilt', async () => {
    m.failure = new Error('minutes must be more than 0');
    click(fake().item('Maintenance for all (30 min)'));
    await h.advance(100);
    expect(errors).toEqual(['Warden: could not start maintenance: minutes must be more than 0']);
    const menus = fake().menus.length;
    m.async = true;
    m.failure = 'disk full';
    click(endItem());
    await h.advance(100);
    expect(errors.at(-1)).toBe('Warden: could not end maintenance: disk full');
    expect(fake().menus.length).toBe(menus + 1);
  });

  it('without an error sink a failure is dropped quietly (never an unhandled rejection)', async () => {
    mTray?.dispose();
    make(m, false);
    m.failure = new Error('nope');
    const menus = fake().menus.length;
    click(fake().item('Maintenance for all (30 min)'));
    await h.advance(100);
    expect(fake().menus.length).toBe(menus + 1);
  });

  it('an unreadable list leaves End maintenance disabled but keeps the menu', () => {
    m.windows = [{ id: 'a', services: null, from: 'a', to: 'b', reason: null, source: 'api', active: true }];
    m.listFails = true;
    mTray?.render();
    expect(endItem().enabled).toBe(false);
    expect(fake().item('Open dashboard')).toBeTruthy();
  });

  it('an answer that comes after dispose does not touch the destroyed tray', async () => {
    m.async = true;
    click(fake().item('Maintenance for all (30 min)'));
    const menus = fake().menus.length;
    mTray?.dispose();
    mTray = null;
    await h.advance(200);
    expect(m.requests).toHaveLength(1);
    expect(fake().menus.length).toBe(menus);
  });

  it('with no services, "Maintenance for all" is disabled', async () => {
    const empty = harness(testConfig({ services: [] }));
    resetFakeElectron();
    const t = new WardenTray({ monitor: empty.monitor, maintenance: m, iconsDir: ICONS, actions: { openDashboard() {}, openSettings() {}, isStartAtLogin: () => false, setStartAtLogin() {}, quit() {} } });
    expect(fake().item('Maintenance for all (30 min)').enabled).toBe(false);
    t.dispose();
    await empty.dispose();
  });
});
