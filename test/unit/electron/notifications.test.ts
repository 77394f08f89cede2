import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeNotification, resetFakeElectron } from './fake-electron.js';
import { harness, testConfig } from '../../helpers/monitor-harness.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { systemClock } from '../../../src-main/core/monitor/clock.js';
import { AlertHub } from '../../../src-main/core/alerts/alert-hub.js';
import { DEFAULT_ALERTS } from '../../../src-shared/alerts-schema.js';
import { Notifier, type Notice } from '../../../src-main/electron/notifications.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

let h: ReturnType<typeof harness>;
let notifier: Notifier;
let hub: AlertHub;
let dir: string;
let muted: boolean;
let clicked: Notice[];

beforeEach(() => {
  resetFakeElectron();
  muted = false;
  clicked = [];
  h = harness(testConfig({ services: [{ name: 'rtdetr', healthUrl: 'http://127.0.0.1:8090/health', restartCmd: 'true' }], serviceMaxRetries: 1, serviceBackoffBase: 1 }));
  dir = mkdtempSync(path.join(os.tmpdir(), 'warden-notify-'));
  hub = new AlertHub({ dataDir: dir, baseDir: dir, logger: silentLogger(), clock: systemClock, monitor: h.monitor, config: () => DEFAULT_ALERTS, services: () => ['rtdetr'], defaultDashboardUrl: () => null });
  void hub.start();
  notifier = new Notifier({ alerts: hub, isMuted: () => muted, icon: '/icons/icon-256.png', onClick: (n) => clicked.push(n), logger: silentLogger() });
});
afterEach(async () => {
  notifier.dispose();
  await hub.stop();
  await h.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function failThenRecover(): Promise<void> {
  h.monitor.start();
  await h.advance(1000);
  h.manager.set('rtdetr', 'down');
  h.manager.failRestarts('rtdetr');
  h.monitor.trigger('rtdetr');
  await h.advance(120_000);
  h.manager.set('rtdetr', 'up');
  h.monitor.trigger('rtdetr');
  await h.advance(1000);
}

describe('native notifications from the real monitor', () => {
  it('a failure episode that ends in failed and then recovers shows three notifications', async () => {
    await failThenRecover();
    expect(FakeNotification.instances.map((n) => [n.options.title, n.options.urgency, n.shown])).toEqual([
      ['rtdetr is unhealthy', 'normal', true],
      ['rtdetr failed', 'critical', true],
      ['rtdetr recovered', 'normal', true],
    ]);
    expect(FakeNotification.instances[1]?.options.body).toBe('Max retries exceeded — last error: exit code 1\nThe restart command failed. Read its output (on the dashboard card); fix what it says, then Restart now.');
    expect(FakeNotification.instances[0]?.options.icon).toBe('/icons/icon-256.png');
  });

  it('clicking a notification calls back (the app opens the dashboard)', async () => {
    await failThenRecover();
    FakeNotification.instances[2]?.emit('click');
    expect(clicked.map((n) => n.kind)).toEqual(['recovered']);
  });

  it('muted (config notifications: false): none are shown', async () => {
    muted = true;
    await failThenRecover();
    expect(FakeNotification.instances).toEqual([]);
  });

  it('a paused service shows none', async () => {
    h.monitor.start();
    await h.advance(1000);
    h.monitor.act('rtdetr', 'pause');
    h.manager.set('rtdetr', 'down');
    h.monitor.trigger('rtdetr');
    await h.advance(120_000);
    expect(h.monitor.state('rtdetr')?.status).toBe('paused');
    expect(FakeNotification.instances).toEqual([]);
  });

  it('where the desktop has no notification server nothing is created', async () => {
    FakeNotification.supported = false;
    await failThenRecover();
    notifier.error('Warden settings were corrupt', 'moved aside');
    expect(FakeNotification.instances).toEqual([]);
  });

  it('errors are shown as critical notifications', () => {
    notifier.error('Warden settings were corrupt', 'config.json moved aside');
    expect(FakeNotification.instances[0]?.options).toMatchObject({ title: 'Warden settings were corrupt', body: 'config.json moved aside', urgency: 'critical' });
  });

  it('after dispose, events show nothing', async () => {
    notifier.dispose();
    await failThenRecover();
    expect(FakeNotification.instances).toEqual([]);
  });
});
