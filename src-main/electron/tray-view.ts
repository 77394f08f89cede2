import type { MenuItemConstructorOptions } from 'electron';
import type { GpuInfo, ServiceAction, ServiceState } from '../../src-shared/protocol.js';
import { severityOf, worstSeverity, type Severity, type ServiceStatusValue } from '../../src-shared/status.js';

/** Words for each status, as the tray menu and tooltip show them. */
export const STATUS_LABEL: Record<ServiceStatusValue, string> = {
  unknown: 'checking…',
  healthy: 'healthy',
  starting: 'starting',
  unhealthy: 'unhealthy',
  restarting: 'restarting',
  restart_failed: 'restart failed',
  failed: 'failed',
  paused: 'paused',
};

const RANK: Record<Severity, number> = { error: 0, warning: 1, neutral: 2, ok: 3 };

/** The tray icon's variant: the worst status (healthy / warning / error; neutral before any probe). */
export function traySeverity(states: readonly ServiceState[]): Severity {
  return worstSeverity(states.map((s) => s.status));
}

/** What the tooltip needs of a GPU sample: GpuMonitor.latest() and a GpuSnapshot both fit. */
export interface TrayGpuView {
  available: boolean;
  gpus: readonly Pick<GpuInfo, 'index' | 'memoryUsedMiB' | 'memoryTotalMiB'>[];
}

/** "GPU 0: 18.2 / 24.0 GiB" per GPU whose memory is reported (CONTRACT §11); none without a usable GPU. */
export function gpuTooltipLines(gpu: TrayGpuView | undefined): string[] {
  if (!gpu?.available) return [];
  const gib = (mib: number) => (mib / 1024).toFixed(1);
  return gpu.gpus.flatMap((g) => (g.memoryUsedMiB === null || g.memoryTotalMiB === null ? [] : [`GPU ${g.index}: ${gib(g.memoryUsedMiB)} / ${gib(g.memoryTotalMiB)} GiB`]));
}

function statusLine(states: readonly ServiceState[]): string {
  if (states.length === 0) return 'Warden — no services configured';
  const notHealthy = states.filter((s) => s.status !== 'healthy');
  if (notHealthy.length === 0) return states.length === 1 ? 'Warden — 1 service healthy' : `Warden — all ${states.length} services healthy`;
  const worstFirst = [...notHealthy].sort((a, b) => RANK[severityOf(a.status)] - RANK[severityOf(b.status)]);
  const shown = worstFirst.slice(0, 3).map((s) => `${s.service} ${STATUS_LABEL[s.status]}`);
  const more = worstFirst.length > 3 ? ` (+${worstFirst.length - 3} more)` : '';
  return `Warden — ${shown.join(', ')}${more}`;
}

/** "Warden — all 3 services healthy" / "Warden — rtdetr failed, redis unhealthy", then a line per GPU. */
export function trayTooltip(states: readonly ServiceState[], gpu?: TrayGpuView): string {
  return [statusLine(states), ...gpuTooltipLines(gpu)].join('\n');
}

/** How long the tray's maintenance items pause services (the dashboard's quick buttons use the same). */
export const TRAY_MAINTENANCE_MINUTES = 30;

/** The maintenance items (CONTRACT §14); only offered when the tray has a maintenance source. */
export interface TrayMenuMaintenance {
  /** Whether an ad-hoc window is active: only those can be ended (config windows cannot). */
  adHocActive: boolean;
  /** Start a window for one service, or for all of them (null). */
  start(service: string | null): void;
  /** End every ad-hoc window. */
  end(): void;
}

/** What the menu's items do. */
export interface TrayMenuActions {
  act(service: string, action: ServiceAction): void;
  openDashboard(): void;
  openSettings(): void;
  pauseAll(): void;
  resumeAll(): void;
  setStartAtLogin(enabled: boolean): void;
  quit(): void;
}

/**
 * The tray's context menu: the main UI on Linux, where tray click events are unreliable. Each
 * service shows its status, with Restart and Pause/Resume (and Reset when it has given up).
 */
export function trayMenuTemplate(
  states: readonly ServiceState[],
  opts: { startAtLogin: boolean; actions: TrayMenuActions; maintenance?: TrayMenuMaintenance },
): MenuItemConstructorOptions[] {
  const { actions, maintenance } = opts;
  const services: MenuItemConstructorOptions[] = states.map((s) => {
    const paused = s.status === 'paused';
    const submenu: MenuItemConstructorOptions[] = [
      { label: s.message || STATUS_LABEL[s.status], enabled: false },
      { type: 'separator' },
      { label: 'Restart', enabled: !s.monitorOnly, click: () => actions.act(s.service, 'restart') },
      paused ? { label: 'Resume', click: () => actions.act(s.service, 'resume') } : { label: 'Pause', click: () => actions.act(s.service, 'pause') },
    ];
    if (s.status === 'failed' || s.status === 'restart_failed') submenu.push({ label: 'Reset retries', click: () => actions.act(s.service, 'reset') });
    if (maintenance) submenu.push({ label: `Maintenance for ${TRAY_MAINTENANCE_MINUTES} min`, click: () => maintenance.start(s.service) });
    return { label: `${s.service} — ${STATUS_LABEL[s.status]}`, submenu };
  });
  const allPaused = states.length > 0 && states.every((s) => s.status === 'paused');
  return [
    ...(services.length > 0 ? services : [{ label: 'No services configured', enabled: false }]),
    { type: 'separator' },
    { label: 'Open dashboard', click: () => actions.openDashboard() },
    { label: 'Settings…', click: () => actions.openSettings() },
    allPaused
      ? { label: 'Resume all', click: () => actions.resumeAll() }
      : { label: 'Pause all', enabled: states.length > 0, click: () => actions.pauseAll() },
    ...maintenanceItems(maintenance, states.length > 0),
    { type: 'separator' },
    { label: 'Start at login', type: 'checkbox', checked: opts.startAtLogin, click: (item) => actions.setStartAtLogin(item.checked) },
    { type: 'separator' },
    { label: 'Quit Warden', click: () => actions.quit() },
  ];
}

/** "Maintenance for all (30 min)" and "End maintenance" (enabled only while an ad-hoc window is active). */
function maintenanceItems(m: TrayMenuMaintenance | undefined, anyService: boolean): MenuItemConstructorOptions[] {
  if (!m) return [];
  return [
    { label: `Maintenance for all (${TRAY_MAINTENANCE_MINUTES} min)`, enabled: anyService, click: () => m.start(null) },
    { label: 'End maintenance', enabled: m.adHocActive, click: () => m.end() },
  ];
}
