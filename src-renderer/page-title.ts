import type { ServiceState } from '../src-shared/protocol.js';
import { worstSeverity } from '../src-shared/status.js';
import { isProblem } from './state/service-reducer.js';

/** The tab title: the worst status first, so a glance at the tab bar tells (e.g. "⚠ Warden — 1 problem"). */
export function pageTitle(states: Record<string, ServiceState>): string {
  const list = Object.values(states);
  if (list.length === 0) return 'Warden';
  const problems = list.filter((s) => isProblem(s.status)).length;
  const worst = worstSeverity(list.map((s) => s.status));
  if (problems === 0) return 'Warden — no problems';
  return `${worst === 'error' ? '✖' : '⚠'} Warden — ${problems} ${problems === 1 ? 'problem' : 'problems'}`;
}
