import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeBrowserWindow, fakeElectron, fakeEvent, resetFakeElectron } from './fake-electron.js';
import { TOKEN_CHANNEL } from '../../../src-main/electron/ipc-contract.js';
import { registerTokenHandler, senderOrigin } from '../../../src-main/electron/ipc.js';
import { hardenSession, isSafeExternalUrl, WindowManager, type BoundsStore } from '../../../src-main/electron/windows.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

const BASE = 'http://127.0.0.1:41234/';
const PRELOAD = '/opt/Warden/resources/app.asar/dist/preload/preload.cjs';

beforeEach(() => resetFakeElectron());

function manager(bounds?: BoundsStore): WindowManager {
  return new WindowManager({ baseUrl: BASE, preloadPath: PRELOAD, icon: '/icons/icon-256.png', bounds });
}
function only(): FakeBrowserWindow {
  expect(FakeBrowserWindow.instances).toHaveLength(1);
  return FakeBrowserWindow.instances[0] as FakeBrowserWindow;
}

describe('dashboard and settings windows', () => {
  it('are isolated, sandboxed, without Node, with web security on and the bundled preload', () => {
    manager().showDashboard();
    expect(only().options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      preload: PRELOAD,
    });
  });

  it('load the dashboard from the embedded server: / and /#/settings', () => {
    const m = manager();
    m.showDashboard();
    m.showSettings();
    expect(FakeBrowserWindow.instances.map((w) => w.loaded)).toEqual([[BASE], [`${BASE}#/settings`]]);
  });

  it('show once ready, and showing again focuses the same window (restoring it if minimised)', () => {
    const m = manager();
    const w = m.showDashboard() as unknown as FakeBrowserWindow;
    expect(w.visible).toBe(false);
    w.emit('ready-to-show');
    expect(w.visible).toBe(true);
    w.minimized = true;
    expect(m.showDashboard()).toBe(w as unknown);
    expect(FakeBrowserWindow.instances).toHaveLength(1);
    expect(w.minimized).toBe(false);
    expect(w.focused).toBe(1);
  });

  it('a closed window is forgotten and remembers its bounds for next time', () => {
    const saved: unknown[] = [];
    const m = manager({ bounds: (kind) => (kind === 'settings' ? { x: 1, y: 2, width: 640, height: 480 } : undefined), saveBounds: (kind, b) => saved.push([kind, b]) });
    m.showDashboard();
    m.showSettings();
    expect(FakeBrowserWindow.instances[1]?.options).toMatchObject({ x: 1, y: 2, width: 640, height: 480, title: 'Warden — Settings' });
    expect(FakeBrowserWindow.instances[0]?.options).toMatchObject({ width: 1100, height: 760 });
    FakeBrowserWindow.instances[0]?.close();
    expect(saved).toEqual([['dashboard', { x: 10, y: 20, width: 900, height: 700 }]]);
    expect(m.get('dashboard')).toBeUndefined();
    m.showDashboard();
    expect(FakeBrowserWindow.instances).toHaveLength(3);
  });

  it('closeAll destroys every window; a failed page load does not throw', async () => {
    FakeBrowserWindow.failLoad = true;
    const m = manager();
    m.showDashboard();
    m.showSettings();
    await Promise.resolve();
    m.closeAll();
    expect(FakeBrowserWindow.instances.every((w) => w.destroyed)).toBe(true);
    expect(m.get('settings')).toBeUndefined();
  });
});

describe('navigation and new windows are locked to the embedded server', () => {
  function contents() {
    manager().showDashboard();
    return only().webContents;
  }

  it('navigation within the server is allowed', () => {
    const e = fakeEvent();
    contents().emit('will-navigate', e, `${BASE}#/settings`);
    expect(e.defaultPrevented).toBe(false);
  });

  it('navigation to another origin is blocked; an https target opens in the browser instead', () => {
    const wc = contents();
    for (const url of ['https://example.org/docs', 'http://127.0.0.1:9999/', 'file:///etc/passwd', 'not a url']) {
      const e = fakeEvent();
      wc.emit('will-navigate', e, url);
      expect(e.defaultPrevented, url).toBe(true);
    }
    expect(fakeElectron.shell.opened).toEqual(['https://example.org/docs']);
  });

  it('redirects off the server are blocked, webviews never attach', () => {
    const wc = contents();
    const r = fakeEvent();
    wc.emit('will-redirect', r, 'https://elsewhere.example/');
    const same = fakeEvent();
    wc.emit('will-redirect', same, `${BASE}api/status`);
    const v = fakeEvent();
    wc.emit('will-attach-webview', v);
    expect([r.defaultPrevented, same.defaultPrevented, v.defaultPrevented]).toEqual([true, false, true]);
  });

  it('window.open is always denied; only https links go to the default browser', () => {
    const handler = contents().windowOpenHandler;
    const urls = ['https://github.com/warden', 'http://example.org/', 'javascript:alert(1)', 'file:///etc/passwd', 'smb://host/share', `${BASE}#/settings`];
    expect(urls.map((url) => handler?.({ url }).action)).toEqual(urls.map(() => 'deny'));
    expect(fakeElectron.shell.opened).toEqual(['https://github.com/warden']);
  });

  it('isSafeExternalUrl accepts only parseable https: URLs', () => {
    expect(isSafeExternalUrl('https://a.example/x?y')).toBe(true);
    expect(isSafeExternalUrl('HTTPS://A.EXAMPLE/')).toBe(true);
    expect(isSafeExternalUrl('http://a.example/')).toBe(false);
    expect(isSafeExternalUrl(' https:// bad')).toBe(false);
  });
});

describe('session permissions', () => {
  it('every permission request and check is denied', () => {
    const s = fakeElectron.session.defaultSession;
    hardenSession(s as unknown as Electron.Session);
    const answers: boolean[] = [];
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read']) s.permissionRequestHandler?.({}, p, (ok: boolean) => answers.push(ok));
    expect(answers).toEqual([false, false, false, false]);
    expect(s.permissionCheckHandler?.({}, 'media', BASE)).toBe(false);
  });
});

describe('token IPC', () => {
  const token = 'a'.repeat(64);

  it('answers a frame loaded from the embedded server', async () => {
    registerTokenHandler(fakeElectron.ipcMain as unknown as Electron.IpcMain, { origin: BASE, token });
    await expect(fakeElectron.ipcMain.invokeFrom(`${BASE}#/settings`, TOKEN_CHANNEL)).resolves.toBe(token);
  });

  it('refuses a frame from any other origin, an opaque origin or no frame at all', async () => {
    registerTokenHandler(fakeElectron.ipcMain as unknown as Electron.IpcMain, { origin: BASE, token });
    for (const url of ['http://127.0.0.1:41235/', 'http://localhost:41234/', 'https://127.0.0.1:41234/', 'data:text/html,hi', 'about:blank', 'not a url', null]) {
      await expect(fakeElectron.ipcMain.invokeFrom(url, TOKEN_CHANNEL), String(url)).rejects.toThrow(/^refused/);
    }
  });

  it('registers one channel and removes it on stop', () => {
    const remove = registerTokenHandler(fakeElectron.ipcMain as unknown as Electron.IpcMain, { origin: BASE, token });
    expect([...fakeElectron.ipcMain.handlers.keys()]).toEqual([TOKEN_CHANNEL]);
    remove();
    expect(fakeElectron.ipcMain.handlers.size).toBe(0);
  });

  it('senderOrigin reads the frame URL', () => {
    expect(senderOrigin({ senderFrame: { url: 'http://127.0.0.1:1/x' } } as Electron.IpcMainInvokeEvent)).toBe('http://127.0.0.1:1');
    expect(senderOrigin({ senderFrame: null } as Electron.IpcMainInvokeEvent)).toBeNull();
  });
});
