import { createHmac } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { ChannelConfig } from '../../../../src-shared/alerts-schema.js';
import type { Alert } from '../policy.js';
import { postOk } from './http-post.js';
import { alertPayload, type AlertOrigin } from './payload.js';
import { readSecret } from './secret-file.js';

type Webhook = Extract<ChannelConfig, { type: 'webhook' }>;

/**
 * POSTs the alert as JSON (alertPayload). With a secret, `X-Warden-Signature: sha256=<hex>` is the
 * HMAC-SHA256 of the exact body, as GitHub signs its webhooks; the receiver recomputes it.
 */
export async function sendWebhook(c: Webhook, alert: Alert, ctx: { origin: AlertOrigin; dispatcher: Dispatcher; baseDir: string; signal: AbortSignal }): Promise<void> {
  const body = JSON.stringify(alertPayload(alert, ctx.origin));
  const headers: Record<string, string> = { 'user-agent': 'warden-alerts', ...lower(c.headers), 'content-type': 'application/json', 'x-warden-alert-id': alert.id };
  const secret = await readSecret(c.secret, c.secretFile, ctx.baseDir);
  if (secret) headers['x-warden-signature'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  await postOk(ctx.dispatcher, c.url, headers, body, ctx.signal);
}

function lower(headers: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}
