// A stand-in for the `electron` module (the Electron binary cannot run on this machine: see
// notes/test-infrastructure.md). It records what Warden's main-process code asks of Electron, so
// tests assert on constructor options, handlers and templates. Used via:
//   vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);
import { EventEmitter } from 'node:events';
import type { MenuItemConstructorOptions } from 'electron';

export class FakeImage {
  constructor(readonly path: string) {}
}

export class FakeTray extends EventEmitter {
  static instances: FakeTray[] = [];
  images: string[] = [];
  tooltips: string[] = [];
  menus: MenuItemConstructorOptions[][] = [];
  destroyed = false;
  constructor(readonly image: FakeImage) {
    super();
    FakeTray.instances.push(this);
  }
  setImage(image: FakeImage): void {
    this.images.push(image.path);
  }
  setToolTip(text: string): void {
    this.tooltips.push(text);
  }
  setContextMenu(menu: { template: MenuItemConstructorOptions[] }): void {
    this.menus.push(menu.template);
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** The last menu's items, by label. */
  item(label: string): MenuItemConstructorOptions {
    const found = findItem(this.menus.at(-1) ?? [], label);
    if (!found) throw new Error(`no menu item "${label}" in ${JSON.stringify(labels(this.menus.at(-1) ?? []))}`);
    return found;
  }
}

function findItem(items: MenuItemConstructorOptions[], label: string): MenuItemConstructorOptions | undefined {
  for (const it of items) {
    if (it.label === label) return it;
    if (Array.isArray(it.submenu)) {
      const inner = findItem(it.submenu, label);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** Labels of a template (separators as '---'). */
export function labels(items: MenuItemConstructorOptions[]): string[] {
  return items.map((i) => (i.type === 'separator' ? '---' : (i.label ?? '')));
}

/** Click a menu item as Electron would (item, window, event). */
export function click(item: MenuItemConstructorOptions, checked?: boolean): void {
  const menuItem = { ...item, checked: checked ?? item.checked } as unknown as Electron.MenuItem;
  item.click?.(menuItem, undefined, {} as Electron.KeyboardEvent);
}

export class FakeNotification extends EventEmitter {
  static instances: FakeNotification[] = [];
  static supported = true;
  shown = false;
  constructor(readonly options: { title: string; body: string; urgency?: string; icon?: string }) {
    super();
    FakeNotification.instances.push(this);
  }
  static isSupported(): boolean {
    return FakeNotification.supported;
  }
  show(): void {
    this.shown = true;
  }
}

/** A cancellable event like Electron's. */
export function fakeEvent(extra: object = {}): { defaultPrevented: boolean; preventDefault(): void } & Record<string, unknown> {
  return {
    defaultPrevented: false,
    preventDefault() {
      this.defaultPrevented = true;
    },
    ...extra,
  };
}

export class FakeWebContents extends EventEmitter {
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static instances: FakeBrowserWindow[] = [];
  static failLoad = false;
  readonly webContents = new FakeWebContents();
  loaded: string[] = [];
  visible = false;
  focused = 0;
  minimized = false;
  destroyed = false;
  constructor(readonly options: Electron.BrowserWindowConstructorOptions) {
    super();
    FakeBrowserWindow.instances.push(this);
  }
  loadURL(url: string): Promise<void> {
    this.loaded.push(url);
    return FakeBrowserWindow.failLoad ? Promise.reject(new Error('ERR_CONNECTION_REFUSED')) : Promise.resolve();
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
  }
  show(): void {
    this.visible = true;
  }
  focus(): void {
    this.focused++;
  }
  getBounds(): Electron.Rectangle {
    return { x: 10, y: 20, width: 900, height: 700 };
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('closed');
  }
  /** The user closes the window. */
  close(): void {
    this.emit('close', fakeEvent());
    this.destroy();
  }
}

class FakeIpcMain {
  readonly handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  handle(channel: string, fn: (event: unknown, ...args: unknown[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, fn);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** Invoke as a renderer frame at `url` would; resolves/rejects like ipcRenderer.invoke. */
  async invokeFrom(url: string | null, channel: string): Promise<unknown> {
    const fn = this.handlers.get(channel);
    if (!fn) throw new Error(`No handler registered for '${channel}'`);
    return fn({ senderFrame: url === null ? null : { url } });
  }
}

class FakeSession {
  permissionRequestHandler: ((...args: unknown[]) => void) | null = null;
  permissionCheckHandler: ((...args: unknown[]) => boolean) | null = null;
  setPermissionRequestHandler(fn: (...args: unknown[]) => void): void {
    this.permissionRequestHandler = fn;
  }
  setPermissionCheckHandler(fn: (...args: unknown[]) => boolean): void {
    this.permissionCheckHandler = fn;
  }
}

class FakeApp extends EventEmitter {
  paths = new Map<string, string>();
  gotLock = true;
  quitCalls = 0;
  exitCode: number | null = null;
  loginItem = { openAtLogin: false };
  readonly dock = { hidden: false, hide: () => void (this.dock.hidden = true) };
  private ready!: () => void;
  private readyPromise = new Promise<void>((resolve) => (this.ready = resolve));
  reset(): void {
    this.removeAllListeners();
    this.paths.clear();
    this.gotLock = true;
    this.quitCalls = 0;
    this.exitCode = null;
    this.loginItem = { openAtLogin: false };
    this.dock.hidden = false;
    this.readyPromise = new Promise<void>((resolve) => (this.ready = resolve));
  }
  setPath(name: string, value: string): void {
    this.paths.set(name, value);
  }
  requestSingleInstanceLock(): boolean {
    return this.gotLock;
  }
  whenReady(): Promise<void> {
    return this.readyPromise;
  }
  /** Electron fires 'ready'. */
  becomeReady(): void {
    this.ready();
  }
  /** Like Electron: 'before-quit' may be prevented. */
  quit(): void {
    this.quitCalls++;
    const event = fakeEvent();
    this.emit('before-quit', event);
  }
  exit(code: number): void {
    this.exitCode = code;
  }
  getLoginItemSettings(): { openAtLogin: boolean } {
    return { ...this.loginItem };
  }
  setLoginItemSettings(s: { openAtLogin: boolean }): void {
    this.loginItem = { openAtLogin: s.openAtLogin };
  }
}

export const exposed: Record<string, unknown> = {};
export const invoked: string[] = [];

/** The module object handed to vi.mock('electron'). */
export const fakeElectron = {
  app: new FakeApp(),
  ipcMain: new FakeIpcMain(),
  powerMonitor: new EventEmitter(),
  session: { defaultSession: new FakeSession() },
  shell: { opened: [] as string[], openExternal: (url: string) => (fakeElectron.shell.opened.push(url), Promise.resolve()) },
  dialog: { errors: [] as string[][], showErrorBox: (title: string, body: string) => void fakeElectron.dialog.errors.push([title, body]) },
  Tray: FakeTray,
  Menu: { buildFromTemplate: (template: MenuItemConstructorOptions[]) => ({ template }) },
  nativeImage: { createFromPath: (p: string) => new FakeImage(p) },
  Notification: FakeNotification,
  BrowserWindow: FakeBrowserWindow,
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => void (exposed[key] = api) },
  ipcRenderer: { invoke: (channel: string) => (invoked.push(channel), Promise.resolve(`token-from-${channel}`)) },
};

/** Fresh state for the next test. The objects stay the same: modules under test hold them. */
export function resetFakeElectron(): void {
  fakeElectron.app.reset();
  fakeElectron.ipcMain.handlers.clear();
  fakeElectron.powerMonitor.removeAllListeners();
  fakeElectron.session.defaultSession.permissionRequestHandler = null;
  fakeElectron.session.defaultSession.permissionCheckHandler = null;
  fakeElectron.shell.opened.length = 0;
  fakeElectron.dialog.errors.length = 0;
  FakeTray.instances = [];
  FakeNotification.instances = [];
  FakeNotification.supported = true;
  FakeBrowserWindow.instances = [];
  FakeBrowserWindow.failLoad = false;
  for (const k of Object.keys(exposed)) delete exposed[k];
  invoked.length = 0;
}
