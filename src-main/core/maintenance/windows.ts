import { Cron } from 'croner';
import type { WardenConfig } from '../../../src-shared/config-schema.js';
import type { MaintenanceWindow } from '../../../src-shared/protocol.js';

/** An ad-hoc window from the API, the dashboard, the tray or the CLI. */
export interface AdHocWindow {
  id: string;
  services: string[] | null;
  from: number;
  to: number;
  reason: string | null;
}

type ConfigWindow = WardenConfig['maintenance'][number];

/** One occurrence of a window: [from, to). */
interface Occurrence {
  from: number;
  to: number;
}

/** A recurring window never looks back further than this many occurrences (a 1-minute cron with a day-long duration). */
const MAX_OVERLAP = 2000;

/**
 * The occurrence of a config window that covers `now` (the one ending last, for a recurring
 * window whose occurrences overlap), or null. Cron times are the machine's local time; croner
 * computes them across DST changes.
 */
export function activeOccurrence(w: ConfigWindow, now: number): Occurrence | null {
  if ('from' in w) {
    const from = Date.parse(w.from);
    const to = Date.parse(w.to);
    return from <= now && now < to ? { from, to } : null;
  }
  const cron = new Cron(w.cron, { paused: true });
  const d = w.duration * 1000;
  let found: Occurrence | null = null;
  let at = cron.nextRun(new Date(now - d));
  for (let i = 0; at && at.getTime() <= now && i < MAX_OVERLAP; i++) {
    found = { from: at.getTime(), to: at.getTime() + d };
    at = cron.nextRun(at);
  }
  cron.stop();
  return found;
}

/** When a config window next begins after `now` (null: never again). */
export function nextStart(w: ConfigWindow, now: number): number | null {
  if ('from' in w) {
    const from = Date.parse(w.from);
    return from > now ? from : null;
  }
  const cron = new Cron(w.cron, { paused: true });
  const next = cron.nextRun(new Date(now))?.getTime() ?? null;
  cron.stop();
  return next;
}

const covers = (services: readonly string[] | null | undefined, name: string) => !services || services.includes(name);

/** What covers each service now: until when, and why (the reason of the window that ends last). */
export function coverage(names: readonly string[], config: readonly ConfigWindow[], adHoc: readonly AdHocWindow[], now: number): Map<string, { until: number; reason: string | null }> {
  const out = new Map<string, { until: number; reason: string | null }>();
  const offer = (services: readonly string[] | null | undefined, until: number, reason: string | null) => {
    for (const name of names) {
      if (!covers(services, name)) continue;
      const was = out.get(name);
      if (!was || until > was.until) out.set(name, { until, reason });
    }
  };
  for (const w of config) {
    const occ = activeOccurrence(w, now);
    if (occ) offer(w.services, occ.to, w.reason ?? null);
  }
  for (const w of adHoc) if (w.from <= now && now < w.to) offer(w.services, w.to, w.reason);
  return out;
}

/** The next moment anything begins or ends after `now` (null: nothing is planned). */
export function nextChange(config: readonly ConfigWindow[], adHoc: readonly AdHocWindow[], now: number): number | null {
  let next = Infinity;
  for (const w of config) {
    const occ = activeOccurrence(w, now);
    if (occ) next = Math.min(next, occ.to);
    const start = nextStart(w, now);
    if (start !== null) next = Math.min(next, start);
  }
  for (const w of adHoc) next = Math.min(next, w.from > now ? w.from : w.to > now ? w.to : Infinity);
  return next === Infinity ? null : next;
}

/** The windows as GET /api/maintenance lists them: each active one, and each config one's next occurrence. */
export function listWindows(config: readonly ConfigWindow[], adHoc: readonly AdHocWindow[], now: number): MaintenanceWindow[] {
  const iso = (t: number) => new Date(t).toISOString();
  const out: MaintenanceWindow[] = [];
  config.forEach((w, i) => {
    const occ = activeOccurrence(w, now);
    const start = occ ? null : nextStart(w, now);
    const span = occ ?? (start === null ? null : { from: start, to: 'from' in w ? Date.parse(w.to) : start + w.duration * 1000 });
    if (span) out.push({ id: `config-${i}`, services: w.services ?? null, from: iso(span.from), to: iso(span.to), reason: w.reason ?? null, source: 'config', active: occ !== null });
  });
  for (const w of adHoc) if (w.to > now) out.push({ id: w.id, services: w.services, from: iso(w.from), to: iso(w.to), reason: w.reason, source: 'api', active: w.from <= now });
  return out;
}
