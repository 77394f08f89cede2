import type { Dispatcher } from 'undici';
import type { ChannelConfig } from '../../../../src-shared/alerts-schema.js';
import type { Alert } from '../policy.js';
import { postOk } from './http-post.js';
import type { AlertOrigin } from './payload.js';
import { readSecret } from './secret-file.js';

type Ntfy = Extract<ChannelConfig, { type: 'ntfy' }>;

const PRIORITY = { min: 1, low: 2, default: 3, high: 4, urgent: 5 } as const;

/** The emoji tags ntfy shows before the title. */
function tagsOf(alert: Alert): string[] {
  if (alert.kind === 'recovered') return ['white_check_mark'];
  if (alert.kind === 'test') return ['test_tube'];
  return alert.severity === 'error' ? ['rotating_light'] : ['warning'];
}

/**
 * Publishes to an ntfy topic as JSON (ntfy's "publish as JSON": the server's root URL with the
 * topic in the body), which carries titles with any characters, unlike its headers. Priority by
 * severity (error: high; warning: default; a recovery: low) unless the channel sets one; a click
 * opens the dashboard.
 */
export async function sendNtfy(c: Ntfy, alert: Alert, ctx: { origin: AlertOrigin; dispatcher: Dispatcher; baseDir: string; signal: AbortSignal }): Promise<void> {
  const url = new URL(c.url);
  const segments = url.pathname.replace(/\/+$/, '').split('/');
  const topic = decodeURIComponent(segments.pop()!);
  url.pathname = `${segments.join('/')}/`;
  url.search = '';
  const priority = c.priority ? PRIORITY[c.priority] : alert.kind === 'recovered' ? 2 : alert.severity === 'error' ? 4 : 3;
  const body = JSON.stringify({
    topic,
    title: alert.title,
    message: `${alert.body}\n(${ctx.origin.host})`,
    priority,
    tags: tagsOf(alert),
    ...(ctx.origin.dashboardUrl ? { click: ctx.origin.dashboardUrl } : {}),
  });
  const headers: Record<string, string> = { 'user-agent': 'warden-alerts', 'content-type': 'application/json', 'x-warden-alert-id': alert.id };
  const token = await readSecret(c.token, c.tokenFile, ctx.baseDir);
  if (token) headers.authorization = `Bearer ${token}`;
  await postOk(ctx.dispatcher, url.href, headers, body, ctx.signal);
}
