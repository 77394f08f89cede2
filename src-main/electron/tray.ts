import path from 'node:path';
import { Menu, Tray, nativeImage } from 'electron';
import type { MaintenanceList, MaintenanceWindow, ServiceAction, ServiceState, ServiceStatusEvent } from '../../src-shared/protocol.js';
import type { Severity } from '../../src-shared/status.js';
import { systemClock, type Clock } from '../core/monitor/clock.js';
import { TRAY_MAINTENANCE_MINUTES, trayMenuTemplate, traySeverity, trayTooltip, type TrayGpuView, type TrayMenuMaintenance } from './tray-view.js';

/** The tray icon file for a severity; Electron picks `tray-<severity>@2x.png` beside it on HiDPI. */
export function trayIconPath(iconsDir: string, severity: Severity): string {
  return path.join(iconsDir, `tray-${severity}.png`);
}

/** What the tray needs from the monitor. */
export interface TrayMonitor {
  subscribe(listener: (event: ServiceStatusEvent) => void): () => void;
  states(): ServiceState[];
  act(name: string, action: ServiceAction): unknown;
}

/** What the tray needs from the GPU telemetry (the core's GpuMonitor). */
export interface TrayGpu {
  /** Called after every sample, and when the GPU becomes unusable; returns the unsubscribe function. */
  onSample(listener: () => void): () => void;
  latest(): TrayGpuView;
}

/**
 * What the tray needs from the core's maintenance windows (Warden.maintenance, CONTRACT §14).
 * start and endAdHoc may answer at once or later (the core persists ad-hoc windows first).
 */
export interface TrayMaintenance {
  list(): MaintenanceList;
  start(o: { services?: string[]; minutes: number; reason?: string }): MaintenanceWindow | Promise<MaintenanceWindow>;
  /** Ends every ad-hoc window; answers how many. */
  endAdHoc(): number | Promise<number>;
}

/** What the tray's own items do (windows, autostart, quitting live elsewhere). */
export interface TrayAppActions {
  openDashboard(): void;
  openSettings(): void;
  isStartAtLogin(): boolean;
  setStartAtLogin(enabled: boolean): void | Promise<void>;
  quit(): void;
  /** Show an action that failed (the app shows a notification); absent: the failure is dropped. */
  showError?(title: string, body: string): void;
}

/**
 * The tray icon: its image shows the worst status, its tooltip says which services are not
 * healthy and how much memory each GPU has in use, and its context menu (rebuilt on every status
 * event, debounced so a burst of events rebuilds once) lists each service with its actions.
 */
export class WardenTray {
  private readonly tray: Tray;
  private readonly unsubscribe: () => void;
  private readonly clock: Clock;
  private severity: Severity | null = null;
  private tooltip: string | null = null;
  private timer: unknown = null;
  private disposed = false;

  constructor(
    private readonly opts: {
      monitor: TrayMonitor;
      /** GPU telemetry for the tooltip's "GPU 0: 18.2 / 24.0 GiB" lines; absent: no GPU lines. */
      gpu?: TrayGpu;
      /** Maintenance windows; absent: the menu has no maintenance items. */
      maintenance?: TrayMaintenance;
      iconsDir: string;
      actions: TrayAppActions;
      /** Rebuild at most this often during a burst of events. */
      debounceMs?: number;
      clock?: Clock;
    },
  ) {
    this.clock = opts.clock ?? systemClock;
    this.tray = new Tray(nativeImage.createFromPath(trayIconPath(opts.iconsDir, 'neutral')));
    // Where clicks do arrive (Windows, macOS, some Linux trays), a click opens the dashboard.
    this.tray.on('click', () => opts.actions.openDashboard());
    const offStatus = opts.monitor.subscribe(() => this.scheduleRender());
    // A GPU sample comes every pollInterval and changes only the tooltip: the menu is not rebuilt.
    const offGpu = opts.gpu?.onSample(() => this.renderTooltip());
    this.unsubscribe = () => {
      offStatus();
      offGpu?.();
    };
    this.render();
  }

  /** Redraw icon, tooltip and menu from the monitor's current states. */
  render(): void {
    this.cancel();
    const states = this.opts.monitor.states();
    const severity = traySeverity(states);
    // Only swap the image on change: some Linux trays flicker on every setImage.
    if (severity !== this.severity) {
      this.tray.setImage(nativeImage.createFromPath(trayIconPath(this.opts.iconsDir, severity)));
      this.severity = severity;
    }
    this.renderTooltip(states);
    const { monitor, actions } = this.opts;
    const act = (name: string, action: ServiceAction) => {
      monitor.act(name, action);
      this.scheduleRender();
    };
    const template = trayMenuTemplate(states, {
      startAtLogin: actions.isStartAtLogin(),
      actions: {
        act,
        openDashboard: () => actions.openDashboard(),
        openSettings: () => actions.openSettings(),
        pauseAll: () => states.filter((s) => s.status !== 'paused').forEach((s) => act(s.service, 'pause')),
        resumeAll: () => states.forEach((s) => act(s.service, 'resume')),
        setStartAtLogin: (enabled) => {
          void Promise.resolve(actions.setStartAtLogin(enabled)).finally(() => this.scheduleRender());
        },
        quit: () => actions.quit(),
      },
      maintenance: this.opts.maintenance && this.maintenanceItems(this.opts.maintenance),
    });
    // On Linux the menu must be set again after any change for the tray to show it.
    this.tray.setContextMenu(Menu.buildFromTemplate(template));
  }

  /** The menu's maintenance items, wired to the core; the list is read once per rebuild. */
  private maintenanceItems(m: TrayMaintenance): TrayMenuMaintenance {
    let adHocActive = false;
    try {
      adHocActive = m.list().windows.some((w) => w.active && w.source === 'api');
    } catch {
      // Unreadable: offer no End item rather than losing the whole menu.
    }
    return {
      adHocActive,
      start: (service) =>
        this.attempt('Warden: could not start maintenance', () => m.start(service === null ? { minutes: TRAY_MAINTENANCE_MINUTES } : { services: [service], minutes: TRAY_MAINTENANCE_MINUTES })),
      end: () => this.attempt('Warden: could not end maintenance', () => m.endAdHoc()),
    };
  }

  /**
   * Run a menu action, then rebuild the menu once it has answered (End maintenance's state
   * follows). A throw or rejection from a menu click would reach Electron as an unhandled
   * main-process error, so both are caught and shown instead.
   */
  private attempt(title: string, fn: () => unknown): void {
    void Promise.resolve()
      .then(fn)
      .catch((err: unknown) => this.opts.actions.showError?.(title, err instanceof Error ? err.message : String(err)))
      .finally(() => this.scheduleRender());
  }

  dispose(): void {
    this.disposed = true;
    this.cancel();
    this.unsubscribe();
    this.tray.destroy();
  }

  /** Set the tooltip, only when its text changed (GPU memory often stays the same between samples). */
  private renderTooltip(states: ServiceState[] = this.opts.monitor.states()): void {
    const text = trayTooltip(states, this.opts.gpu?.latest());
    if (text === this.tooltip) return;
    this.tray.setToolTip(text);
    this.tooltip = text;
  }

  private scheduleRender(): void {
    // An action that answers after dispose must not touch the destroyed tray.
    if (this.timer !== null || this.disposed) return;
    this.timer = this.clock.setTimeout(() => this.render(), this.opts.debounceMs ?? 100);
  }

  private cancel(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
