import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { ChannelConfig } from '../../../../src-shared/alerts-schema.js';
import type { Alert } from '../policy.js';
import { maskUrl } from '../../../../src-shared/secrets.js';
import { sendApprise } from './apprise.js';
import { sendNtfy } from './ntfy.js';
import type { AlertOrigin } from './payload.js';
import { sendSmtp } from './smtp.js';
import { sendWebhook } from './webhook.js';

/** What every channel's send gets besides the alert. */
export interface SendContext {
  origin: AlertOrigin;
  dispatcher: Dispatcher;
  /** Relative secret files are read from here (the config file's folder). */
  baseDir: string;
  signal: AbortSignal;
  /** The Apprise CLI (tests point it elsewhere). */
  apprise?: string;
  /** Apprise: the URLs (by index) this alert already reached; they are not sent again. */
  delivered?: Set<number>;
}

/** Deliver one alert on one channel; throws with a short reason when it was not delivered. */
export function sendOn(c: ChannelConfig, alert: Alert, ctx: SendContext): Promise<void> {
  switch (c.type) {
    case 'webhook':
      return sendWebhook(c, alert, ctx);
    case 'ntfy':
      return sendNtfy(c, alert, ctx);
    case 'smtp':
      return sendSmtp(c, alert, ctx);
    case 'apprise':
      return sendApprise(c, alert, { ...ctx, command: ctx.apprise });
  }
}

/** Where it delivers, with no secret in it: shown by GET /api/alerts and on the settings page. */
export function channelTarget(c: ChannelConfig): string {
  switch (c.type) {
    case 'webhook': {
      // The path can be the secret (Home Assistant's /api/webhook/<id>, chat webhooks): not shown.
      const u = new URL(c.url);
      return `${u.protocol}//${u.host}${u.pathname === '/' ? '/' : '/***'}`;
    }
    case 'ntfy': {
      // On a public server the topic is the secret: only its first letters.
      const u = new URL(c.url);
      const topic = u.pathname.replace(/\/+$/, '').split('/').pop()!;
      return `${u.protocol}//${u.host}/${topic.slice(0, 3)}***`;
    }
    case 'smtp':
      return `${[c.to].flat().join(', ')} via ${c.host}:${c.port ?? (c.secure ? 465 : 587)}`;
    case 'apprise':
      return c.urls.map(maskUrl).join(', ');
  }
}

/**
 * A channel's stable id: its name when it has one, else its type and a hash of where it delivers.
 * Queued deliveries are keyed by it, so an edit elsewhere in the settings keeps them; a channel
 * whose target changes is a new channel.
 */
export function channelId(c: ChannelConfig): string {
  if (c.name) return c.name;
  const where = c.type === 'apprise' ? c.urls.join(' ') : c.type === 'smtp' ? `${c.host}:${c.port ?? ''} ${[c.to].flat().join(',')}` : c.url;
  return `${c.type}-${createHash('sha256').update(where).digest('hex').slice(0, 10)}`;
}

/** Does this channel take alerts of that severity? */
export function wants(c: ChannelConfig, globalMin: 'warning' | 'error', alert: Alert): boolean {
  if (alert.kind === 'test') return true;
  return (c.minSeverity ?? globalMin) === 'warning' || alert.severity === 'error';
}
