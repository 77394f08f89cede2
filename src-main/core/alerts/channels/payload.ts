import type { Alert } from '../policy.js';

/** Where a channel's alert came from: the machine, and the dashboard to click through to. */
export interface AlertOrigin {
  host: string;
  dashboardUrl: string | null;
}

/**
 * The webhook body (README "Alerts", schema version 1): the alert as the policy made it, with the
 * machine it is from and the dashboard's address. Absent fields are left out, never null.
 */
export function alertPayload(alert: Alert, origin: AlertOrigin): Record<string, unknown> {
  return {
    version: 1,
    ...alert,
    host: origin.host,
    ...(origin.dashboardUrl ? { dashboard: origin.dashboardUrl } : {}),
  };
}

/** The text an email or an Apprise notification carries: the body, then what it is about. */
export function alertText(alert: Alert, origin: AlertOrigin): string {
  const lines = [alert.body, ''];
  if (alert.service) lines.push(`Service: ${alert.service}${alert.status ? ` (${alert.status})` : ''}`);
  if (alert.cause) lines.push(`Cause: ${alert.cause}`);
  if (alert.reason) lines.push(`Reason: ${alert.reason}`);
  if (alert.affected?.length) lines.push(`Waiting for it: ${alert.affected.join(', ')}`);
  lines.push(`Host: ${origin.host}`, `At: ${alert.at}`);
  if (origin.dashboardUrl) lines.push(`Dashboard: ${origin.dashboardUrl}`);
  lines.push(`Alert id: ${alert.id}`);
  return lines.join('\n');
}
