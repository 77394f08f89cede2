import { load } from '../../lazy-modules.js';
import type { ChannelConfig } from '../../../../src-shared/alerts-schema.js';
import { maskUrl } from '../../../../src-shared/secrets.js';
import { childEnvironment } from '../../managers/shell-service-manager.js';
import type { Alert } from '../policy.js';
import { alertText, type AlertOrigin } from './payload.js';

type Apprise = Extract<ChannelConfig, { type: 'apprise' }>;

/** Apprise's notification type for an alert: its colour and icon on most services. */
function typeOf(alert: Alert): 'info' | 'success' | 'warning' | 'failure' {
  if (alert.kind === 'recovered') return 'success';
  if (alert.kind === 'test') return 'info';
  return alert.severity === 'error' ? 'failure' : 'warning';
}

/**
 * Hands the alert to Debian's `apprise` CLI, which speaks 100+ services: spawned with its
 * arguments (never a shell), once per URL, each URL in APPRISE_URLS (an environment only its
 * user can read, not argv that every `ps` shows), without Warden's secrets. Exit 0 is delivered;
 * URLs that took it are noted in `delivered` and not sent again when another one is retried.
 */
export async function sendApprise(c: Apprise, alert: Alert, ctx: { origin: AlertOrigin; signal: AbortSignal; command?: string; delivered?: Set<number> }): Promise<void> {
  const failures: string[] = [];
  const { execa } = await load.execa();
  for (const [i, url] of c.urls.entries()) {
    if (ctx.delivered?.has(i)) continue;
    const result = await execa(ctx.command ?? 'apprise', ['-n', typeOf(alert), '-t', alert.title, '-b', alertText(alert, ctx.origin)], {
      env: { ...childEnvironment(process.env), APPRISE_URLS: url },
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      all: true,
      timeout: 30_000,
      cancelSignal: ctx.signal,
      maxBuffer: 64 * 1024,
    });
    if (result.exitCode === 0) {
      ctx.delivered?.add(i);
      continue;
    }
    if (result.failed && result.code === 'ENOENT') throw new Error('apprise is not installed (apt install apprise)');
    const tail = (result.all ?? '').trim().split('\n').slice(-2).join(' ').slice(0, 200);
    const what = result.timedOut ? 'took longer than 30 s' : result.isCanceled ? 'aborted' : `exited ${result.exitCode ?? result.signal}`;
    failures.push(`${maskUrl(url)}: apprise ${what}${tail ? `: ${redact(tail, c.urls)}` : ''}`);
  }
  if (failures.length > 0) throw new Error(failures.join('; '));
}

/** Apprise's output can quote a URL, and URLs hold tokens: never into a status line or log. */
function redact(text: string, urls: string[]): string {
  return urls.reduce((t, u) => t.split(u).join(maskUrl(u)), text);
}
