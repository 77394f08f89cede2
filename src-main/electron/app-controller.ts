import path from 'node:path';
import { app, ipcMain, powerMonitor, session } from 'electron';
import type { WardenConfig } from '../../src-shared/config-schema.js';
import { loadConfig, withEnvOverrides } from '../core/config/config-file.js';
import { configDir, configPath, dataDir } from '../core/config/paths.js';
import { createLogger, type Logger } from '../core/log/logger.js';
import type { Clock } from '../core/monitor/clock.js';
import { startServer, type RunningServer } from '../core/server/http-server.js';
import { removeServerFile, serverFilePath, writeServerFile } from '../core/server/server-file.js';
import { loadOrCreateToken } from '../core/server/token.js';
import { createWarden, type Warden } from '../core/warden.js';
import { Autostart } from './autostart.js';
import { registerTokenHandler } from './ipc.js';
import { Notifier } from './notifications.js';
import { boundsStore, openPrefs, type PrefsStore } from './prefs.js';
import { WardenTray } from './tray.js';
import { hardenSession, WindowManager } from './windows.js';

/** Where the running app finds itself, and what tests replace. */
export interface TrayAppOptions {
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  /** app.isPackaged: icons and ai/ come from process.resourcesPath, not the project folder. */
  isPackaged: boolean;
  /** app.getAppPath(): the project folder (`electron .`) or the app.asar. */
  appPath: string;
  /** process.resourcesPath (packaged: holds ai/ and icons/ from extraResources). */
  resourcesPath: string;
  execPath: string;
  /** Opens the tray prefs store (electron-store in the app; tests pass conf). */
  createPrefsStore(cwd: string): PrefsStore;
  logger?: Logger;
  clock?: Clock;
  now?: () => Date;
}

/** The running tray app. */
export interface TrayApp {
  warden: Warden;
  server: RunningServer;
  windows: WindowManager;
  tray: WardenTray;
  notifier: Notifier;
  autostart: Autostart;
  /** Stop everything (monitor, server, windows, tray); safe to call twice. */
  stop(): Promise<void>;
}

/** Icons: the project's resources/ from source, `<resources>/icons` when packaged. */
export function iconsDir(o: Pick<TrayAppOptions, 'isPackaged' | 'appPath' | 'resourcesPath'>): string {
  return o.isPackaged ? path.join(o.resourcesPath, 'icons') : path.join(o.appPath, 'resources');
}

/** The bundled preload (vite.preload.config.ts), inside the app folder or app.asar. */
export function preloadPath(appPath: string): string {
  return path.join(appPath, 'dist', 'preload', 'preload.cjs');
}

/** The tray app's Chromium profile and prefs: beside config.json, not mixed into it. */
export function trayDataDir(env: Record<string, string | undefined>): string {
  return path.join(configDir(env), 'tray');
}

async function startServerOrFallback(warden: Warden, config: WardenConfig, token: string, logger: Logger, notifier: Notifier): Promise<RunningServer> {
  const { host, port } = config.server;
  try {
    return await startServer({ warden, host, port, token, logger });
  } catch (err) {
    if (port === 0) throw err;
    // e.g. `warden serve` already holds the port: the tray still works, on a free port.
    const server = await startServer({ warden, host, port: 0, token, logger });
    notifier.error('Warden: dashboard port in use', `${(err as Error).message}. The tray app's dashboard is on ${server.url} instead.`);
    return server;
  }
}

/**
 * Compose the tray app: the same core as `warden serve` (config, createWarden, token, embedded
 * server), plus tray, notifications, windows, autostart and power-resume probes.
 */
export async function startTrayApp(o: TrayAppOptions): Promise<TrayApp> {
  const logger = o.logger ?? createLogger();
  const file = configPath(undefined, o.env);
  // One config file for CLI and tray; a corrupt one is moved aside and defaults are used.
  const loaded = await loadConfig(file, { env: o.env, onInvalid: 'quarantine', now: o.now });
  const config = loaded.config;
  const prefsDir = trayDataDir(o.env);
  const prefs = openPrefs(() => o.createPrefsStore(prefsDir), path.join(prefsDir, 'tray-prefs.json'), o.now);

  const env = o.env;
  const warden = await createWarden(loaded.fileConfig, {
    logger,
    configFile: file,
    // The environment applies over saved settings; a bad variable was reported and is ignored.
    overlay: loaded.envError ? undefined : (settings) => withEnvOverrides(settings, env),
    dataDir: dataDir(o.env),
    // Installed: ai/*.sh ship in extraResources.
    defaultWorkingDir: o.isPackaged ? o.resourcesPath : undefined,
    clock: o.clock,
  });
  const icons = iconsDir(o);
  let windows: WindowManager | null = null;
  const notifier = new Notifier({
    alerts: warden.alerts,
    isMuted: () => !warden.config().notifications,
    icon: path.join(icons, 'icon-256.png'),
    onClick: () => windows?.showDashboard(),
    logger,
  });
  if (loaded.quarantinedTo) {
    const why = loaded.quarantineError?.message ?? 'invalid';
    logger.error({ file, movedTo: loaded.quarantinedTo, error: why }, 'corrupt config moved aside; using defaults');
    notifier.error('Warden settings were corrupt', `${why}\nThe file was moved to ${loaded.quarantinedTo}; defaults are in use.`);
  }
  if (loaded.envError) {
    logger.error({ error: loaded.envError.message }, 'bad WARDEN_* environment variable ignored');
    notifier.error('Warden ignored a bad environment variable', loaded.envError.message);
  }
  if (prefs.quarantinedTo) {
    logger.error({ movedTo: prefs.quarantinedTo, error: prefs.error?.message }, 'corrupt tray prefs moved aside');
    notifier.error('Warden window settings were corrupt', `The file was moved to ${prefs.quarantinedTo}; defaults are in use.`);
  }

  const token = await loadOrCreateToken(configDir(o.env), o.env);
  const server = await startServerOrFallback(warden, config, token, logger, notifier);
  const serverFile = serverFilePath(o.env);
  await writeServerFile(serverFile, { url: server.url, pid: process.pid }).catch((err: unknown) => logger.warn({ err, file: serverFile }, 'could not write the server file'));
  const removeIpc = registerTokenHandler(ipcMain, { origin: server.url, token });
  hardenSession(session.defaultSession);
  windows = new WindowManager({
    baseUrl: server.url,
    preloadPath: preloadPath(o.appPath),
    icon: path.join(icons, 'icon-256.png'),
    bounds: boundsStore(prefs.store),
  });
  const w = windows;

  const autostart = new Autostart({ platform: o.platform, env: o.env, execPath: o.execPath, isPackaged: o.isPackaged, appPath: o.appPath }, app);
  let startAtLogin = await autostart.isEnabled();
  const tray = new WardenTray({
    monitor: warden.monitor,
    gpu: warden.gpu,
    maintenance: warden.maintenance,
    iconsDir: icons,
    clock: o.clock,
    actions: {
      openDashboard: () => w.showDashboard(),
      openSettings: () => w.showSettings(),
      isStartAtLogin: () => startAtLogin,
      setStartAtLogin: async (enabled) => {
        try {
          await autostart.setEnabled(enabled);
          startAtLogin = enabled;
        } catch (err) {
          notifier.error('Warden: could not change start at login', (err as Error).message);
        }
      },
      quit: () => app.quit(),
      showError: (title, body) => notifier.error(title, body),
    },
  });

  // After sleep or a locked screen the services may have died unseen: probe them all now.
  const probeAll = () => {
    logger.info('resumed: probing every service');
    warden.monitor.triggerAll();
  };
  powerMonitor.on('resume', probeAll);
  powerMonitor.on('unlock-screen', probeAll);

  warden.start();
  logger.info({ url: server.url }, 'tray app ready');

  let stopping: Promise<void> | null = null;
  return {
    warden,
    server,
    windows: w,
    tray,
    notifier,
    autostart,
    stop() {
      stopping ??= (async () => {
        powerMonitor.off('resume', probeAll);
        powerMonitor.off('unlock-screen', probeAll);
        tray.dispose();
        notifier.dispose();
        w.closeAll();
        removeIpc();
        await removeServerFile(serverFile, process.pid).catch(() => undefined);
        await server.close();
        await warden.stop();
      })();
      return stopping;
    },
  };
}

/**
 * The whole app lifecycle: one instance per user (a second launch opens the first one's
 * dashboard), a tray app that keeps running with no window open, and a clean stop on quit.
 * Returns null when another instance already runs (this one quits).
 */
export async function bootstrap(o: TrayAppOptions): Promise<TrayApp | null> {
  // Before the lock: the lock file lives in userData.
  app.setPath('userData', trayDataDir(o.env));
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return null;
  }
  let running: TrayApp | null = null;
  let showWhenReady = false;
  app.on('second-instance', () => {
    if (running) running.windows.showDashboard();
    else showWhenReady = true;
  });
  // A tray app: closing the last window must not quit.
  app.on('window-all-closed', () => undefined);
  await app.whenReady();
  app.dock?.hide();
  running = await startTrayApp(o);
  if (showWhenReady) running.windows.showDashboard();
  const current = running;
  let stopped = false;
  app.on('before-quit', (event) => {
    if (stopped) return;
    // Quit waits until services' monitor and the server are down (no orphaned restarts).
    event.preventDefault();
    void current
      .stop()
      .catch((err: unknown) => current.warden.logger.error({ err }, 'error while stopping'))
      .finally(() => {
        stopped = true;
        app.quit();
      });
  });
  return running;
}
