/** The design's five statuses plus Warden's unknown / starting / paused (CONTRACT §3). */
export const STATUSES = [
  'unknown',
  'healthy',
  'starting',
  'unhealthy',
  'restarting',
  'restart_failed',
  'failed',
  'paused',
] as const;

export type ServiceStatusValue = (typeof STATUSES)[number];

/** Narrow an untrusted string (e.g. from the wire) to a known status, else 'unknown'. */
export function toStatus(value: unknown): ServiceStatusValue {
  return (STATUSES as readonly unknown[]).includes(value) ? (value as ServiceStatusValue) : 'unknown';
}

/** How bad a status is, for "worst of" summaries (tray icon, page title). */
export type Severity = 'ok' | 'warning' | 'error' | 'neutral';

export function severityOf(status: ServiceStatusValue): Severity {
  switch (status) {
    case 'healthy':
      return 'ok';
    case 'starting':
    case 'restarting':
      return 'warning';
    case 'unhealthy':
    case 'restart_failed':
    case 'failed':
      return 'error';
    default:
      return 'neutral';
  }
}

const RANK: Record<Severity, number> = { ok: 0, neutral: 1, warning: 2, error: 3 };

/** The worst severity among the given statuses ('ok' for none). */
export function worstSeverity(statuses: Iterable<ServiceStatusValue>): Severity {
  let worst: Severity = 'ok';
  for (const s of statuses) {
    const sev = severityOf(s);
    if (RANK[sev] > RANK[worst]) worst = sev;
  }
  return worst;
}
