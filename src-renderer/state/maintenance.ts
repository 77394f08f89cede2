import type { MaintenanceWindow } from '../../src-shared/protocol.js';
import { clockTime } from '../format.js';
import { isObject, strOrNull } from './loose-json.js';

/** One window from untrusted JSON; null when it lacks what the banner needs (id and both ends). */
function normaliseWindow(raw: unknown): MaintenanceWindow | null {
  if (!isObject(raw) || typeof raw.id !== 'string' || typeof raw.from !== 'string' || typeof raw.to !== 'string') return null;
  return {
    id: raw.id,
    // Anything but a list of names reads as "all services", as the server means by null.
    services: Array.isArray(raw.services) ? raw.services.filter((n): n is string => typeof n === 'string') : null,
    from: raw.from,
    to: raw.to,
    reason: strOrNull(raw.reason),
    // An unknown source is never offered "End maintenance": only ad-hoc windows can be ended.
    source: raw.source === 'api' ? 'api' : 'config',
    active: raw.active === true,
  };
}

/** The `windows` of a GET /api/maintenance answer, skipping entries that make no sense. */
export function normaliseWindows(raw: unknown): MaintenanceWindow[] {
  if (!Array.isArray(raw)) return [];
  return raw.map(normaliseWindow).filter((w): w is MaintenanceWindow => w !== null);
}

/** "Maintenance until 03:30 — rtdetr, nemotron (driver update)" / "… — all services". */
export function windowText(w: MaintenanceWindow): string {
  const who = w.services === null ? 'all services' : w.services.join(', ');
  return `Maintenance until ${clockTime(w.to)} — ${who}${w.reason ? ` (${w.reason})` : ''}`;
}

/** The quick buttons (card, dashboard header, tray) start a window this long. */
export const QUICK_MAINTENANCE_MINUTES = 30;
