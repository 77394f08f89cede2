import { BrowserWindow, shell, type Rectangle, type Session, type WebContents, type WebPreferences } from 'electron';

/** Every Warden window's web preferences: isolated, sandboxed, no Node, web security on. */
export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
  };
}

/** Only plain https links may leave the app for the user's browser (parsed, never pattern-matched). */
export function isSafeExternalUrl(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/**
 * Keep a window on the embedded server: navigation to any other origin is cancelled, new windows
 * are never opened, webviews never attached; an https link goes to the default browser instead.
 */
export function hardenWebContents(contents: WebContents, origin: string, openExternal: (url: string) => unknown = (url) => shell.openExternal(url)): void {
  const outside = (url: string) => {
    if (isSafeExternalUrl(url)) void Promise.resolve(openExternal(url)).catch(() => undefined);
  };
  contents.on('will-navigate', (event, url) => {
    if (sameOrigin(url, origin)) return;
    event.preventDefault();
    outside(url);
  });
  contents.on('will-redirect', (event, url) => {
    if (!sameOrigin(url, origin)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    outside(url);
    return { action: 'deny' };
  });
}

/** No camera, microphone, geolocation, notifications-from-pages …: the dashboard needs none. */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

/** Where windows remember their size and place. */
export interface BoundsStore {
  bounds(kind: WindowKind): Rectangle | undefined;
  saveBounds(kind: WindowKind, bounds: Rectangle): void;
}

export type WindowKind = 'dashboard' | 'settings';

const SIZES: Record<WindowKind, { width: number; height: number; title: string; hash: string }> = {
  dashboard: { width: 1100, height: 760, title: 'Warden', hash: '' },
  settings: { width: 760, height: 720, title: 'Warden — Settings', hash: '#/settings' },
};

/**
 * The dashboard and settings windows. Both load the dashboard FROM THE EMBEDDED SERVER (so the
 * tray and any browser see the very same app) and get the token through the preload bridge.
 * One window of each kind: showing it again focuses the existing one.
 */
export class WindowManager {
  private readonly windows = new Map<WindowKind, BrowserWindow>();
  private readonly origin: string;

  constructor(
    private readonly opts: {
      /** The embedded server's `http://127.0.0.1:PORT/`. */
      baseUrl: string;
      preloadPath: string;
      icon?: string;
      session?: Session;
      bounds?: BoundsStore;
    },
  ) {
    this.origin = new URL(opts.baseUrl).origin;
  }

  /** Open (or focus) the dashboard. */
  showDashboard(): BrowserWindow {
    return this.show('dashboard');
  }

  /** Open (or focus) the settings page. */
  showSettings(): BrowserWindow {
    return this.show('settings');
  }

  /** The open window of a kind, if any. */
  get(kind: WindowKind): BrowserWindow | undefined {
    return this.windows.get(kind);
  }

  closeAll(): void {
    for (const w of this.windows.values()) w.destroy();
    this.windows.clear();
  }

  private show(kind: WindowKind): BrowserWindow {
    const existing = this.windows.get(kind);
    if (existing && !existing.isDestroyed()) {
      if (existing.isMinimized()) existing.restore();
      existing.show();
      existing.focus();
      return existing;
    }
    const size = SIZES[kind];
    const win = new BrowserWindow({
      width: size.width,
      height: size.height,
      ...this.opts.bounds?.bounds(kind),
      title: size.title,
      icon: this.opts.icon,
      show: false,
      autoHideMenuBar: true,
      webPreferences: { ...secureWebPreferences(this.opts.preloadPath), session: this.opts.session },
    });
    hardenWebContents(win.webContents, this.origin);
    win.once('ready-to-show', () => win.show());
    win.on('close', () => this.opts.bounds?.saveBounds(kind, win.getBounds()));
    win.on('closed', () => this.windows.delete(kind));
    this.windows.set(kind, win);
    // A failed load (server gone while quitting) shows Chromium's error page; nothing to handle here.
    win.loadURL(new URL(size.hash, this.opts.baseUrl).href).catch(() => undefined);
    return win;
  }
}
