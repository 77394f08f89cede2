import { load } from '../../lazy-modules.js';
import type { ChannelConfig } from '../../../../src-shared/alerts-schema.js';
import type { Alert } from '../policy.js';
import { alertText, type AlertOrigin } from './payload.js';
import { readSecret } from './secret-file.js';

type Smtp = Extract<ChannelConfig, { type: 'smtp' }>;

/**
 * Sends the alert as a plain-text email through nodemailer. Its Message-ID is made of the alert's
 * id, so a retry of the same alert is recognisably the same message.
 */
export async function sendSmtp(c: Smtp, alert: Alert, ctx: { origin: AlertOrigin; baseDir: string; signal: AbortSignal }): Promise<void> {
  const pass = await readSecret(undefined, c.passwordFile, ctx.baseDir);
  const { createTransport } = await load.nodemailer();
  const transport = createTransport({
    host: c.host,
    port: c.port ?? (c.secure ? 465 : 587),
    secure: c.secure ?? false,
    ...(c.user ? { auth: { user: c.user, pass: pass ?? '' } } : {}),
    // With a password, never fall back to a plain connection (a network that strips STARTTLS);
    // a relay on this machine may speak plain.
    requireTLS: !c.secure && c.user !== undefined && !isLoopback(c.host),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 15_000,
  });
  // nodemailer cannot cancel a send: on abort, stop waiting (its own timeouts end the connection).
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new Error('aborted'));
    if (ctx.signal.aborted) onAbort();
  });
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.race([aborted, transport.sendMail({
      from: c.from,
      to: c.to,
      subject: `[Warden] ${alert.title}`,
      text: alertText(alert, ctx.origin),
      messageId: `<${alert.id}@warden.${safeHost(ctx.origin.host)}>`,
      headers: { 'X-Warden-Alert-Id': alert.id },
    })]);
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    transport.close();
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** The host name as it may stand in a Message-ID. */
function safeHost(host: string): string {
  return host.replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost';
}
