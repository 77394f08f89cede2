// Each alert channel (CONTRACT §15) against a real receiver on loopback: a webhook and an ntfy
// server as real HTTP servers, Debian's aiosmtpd for email, and the real `apprise` CLI posting to a
// loopback json:// receiver.
import { createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { channelSchema, type ChannelConfig } from '../../../src-shared/alerts-schema.js';
import { sendOn } from '../../../src-main/core/alerts/channels/index.js';
import type { Alert } from '../../../src-main/core/alerts/policy.js';
import { httpReceiver, smtpReceiver } from '../../helpers/alert-receivers.js';

let dir: string;
const agent = new Agent();
const cleanup: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-channels-'));
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await fs.rm(dir, { recursive: true, force: true });
});

const ALERT: Alert = {
  id: '5b1f2c9e-8f3a-4c21-9d7e-2a6b1c0e4f11',
  kind: 'failed',
  severity: 'error',
  service: 'nemotron',
  status: 'failed',
  cause: 'cuda_oom',
  reason: 'exit code 1: "cudaMalloc failed: out of memory"',
  affected: ['rtdetr'],
  title: 'nemotron failed',
  body: 'Max retries exceeded — last error: exit code 1\nThe model does not fit in free GPU memory.',
  at: '2026-12-02T03:00:00.000Z',
};
const ORIGIN = { host: 'workstation', dashboardUrl: 'http://127.0.0.1:8765/' };

function send(channel: Record<string, unknown>, alert: Alert = ALERT, extra: { apprise?: string } = {}) {
  const c = channelSchema.parse(channel) as ChannelConfig;
  return sendOn(c, alert, { origin: ORIGIN, dispatcher: agent, baseDir: dir, signal: AbortSignal.timeout(20_000), ...extra });
}

async function receiver() {
  const r = await httpReceiver();
  cleanup.push(() => r.stop());
  return r;
}

describe('webhook', () => {
  it('POSTs the documented JSON body with the alert id, the configured headers and an HMAC signature of the exact body', async () => {
    const r = await receiver();
    await fs.writeFile(path.join(dir, 'hook.secret'), 's3cret\n');
    await send({ type: 'webhook', url: `${r.url}/hooks/warden?x=1`, headers: { Authorization: 'Bearer abc' }, secretFile: 'hook.secret' });
    const [req] = r.received;
    expect(req).toMatchObject({ method: 'POST', path: '/hooks/warden?x=1' });
    expect(req!.headers).toMatchObject({ 'content-type': 'application/json', 'x-warden-alert-id': ALERT.id, authorization: 'Bearer abc', 'user-agent': 'warden-alerts' });
    expect(req!.headers['x-warden-signature']).toBe(`sha256=${createHmac('sha256', 's3cret').update(req!.body).digest('hex')}`);
    expect(JSON.parse(req!.body)).toEqual({ version: 1, ...ALERT, host: 'workstation', dashboard: 'http://127.0.0.1:8765/' });
  });

  it('without a secret there is no signature; a non-2xx answer is an error with the status and the body’s first line', async () => {
    const r = await receiver();
    r.answer(503);
    await expect(send({ type: 'webhook', url: r.url })).rejects.toThrow('HTTP 503: {"error":"receiver says no"}');
    expect(r.received[0]!.headers['x-warden-signature']).toBeUndefined();
  });

  it('an unreadable secret file is an error that names it', async () => {
    const r = await receiver();
    await expect(send({ type: 'webhook', url: r.url, secretFile: 'missing.secret' })).rejects.toThrow(`cannot read ${path.join(dir, 'missing.secret')} (ENOENT)`);
    expect(r.received).toEqual([]);
  });

  it('a receiver that is down is a connection error', async () => {
    const r = await receiver();
    await r.stop();
    await expect(send({ type: 'webhook', url: r.url })).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});

describe('ntfy', () => {
  it('publishes as JSON to the server root: topic, title, message, priority and tags by severity, click to the dashboard, bearer token', async () => {
    const r = await receiver();
    await send({ type: 'ntfy', url: `${r.url}/warden-home`, token: 'tk_123' });
    const [req] = r.received;
    expect(req).toMatchObject({ method: 'POST', path: '/' });
    expect(req!.headers).toMatchObject({ authorization: 'Bearer tk_123', 'x-warden-alert-id': ALERT.id, 'content-type': 'application/json' });
    expect(JSON.parse(req!.body)).toEqual({ topic: 'warden-home', title: 'nemotron failed', message: `${ALERT.body}\n(workstation)`, priority: 4, tags: ['rotating_light'], click: 'http://127.0.0.1:8765/' });
  });

  it('keeps a self-hosted server’s path prefix; a recovery is low priority; the configured priority wins', async () => {
    const r = await receiver();
    await send({ type: 'ntfy', url: `${r.url}/ntfy/alerts/` }, { ...ALERT, kind: 'recovered', title: 'nemotron recovered' });
    await send({ type: 'ntfy', url: `${r.url}/ntfy/alerts`, priority: 'urgent' }, { ...ALERT, kind: 'problem', severity: 'warning' });
    expect(r.received.map((q) => [q.path, JSON.parse(q.body).topic, JSON.parse(q.body).priority, JSON.parse(q.body).tags])).toEqual([
      ['/ntfy/', 'alerts', 2, ['white_check_mark']],
      ['/ntfy/', 'alerts', 5, ['warning']],
    ]);
    expect(r.received[0]!.headers.authorization).toBeUndefined();
  });
});

describe('email through a real SMTP server (aiosmtpd)', () => {
  it('sends a plain-text message with the title as subject, cause and reason in the body, and the alert id as Message-ID', async () => {
    const smtp = await smtpReceiver(dir);
    cleanup.push(() => smtp.stop());
    await send({ type: 'smtp', host: '127.0.0.1', port: smtp.port, from: 'warden@workstation.lan', to: ['owner@example.org', 'second@example.org'] });
    const [raw] = await smtp.messages();
    const message = decodeQuotedPrintable(raw!);
    expect(message).toMatch(/^Subject: \[Warden\] nemotron failed$/m);
    expect(message).toMatch(new RegExp(`^Message-ID: <${ALERT.id}@warden\\.workstation>$`, 'mi'));
    expect(message).toMatch(new RegExp(`^X-Warden-Alert-Id: ${ALERT.id}$`, 'mi')); // header names are case-insensitive
    expect(message).toContain('Max retries exceeded — last error: exit code 1');
    expect(message).toMatch(/^To: owner@example\.org, second@example\.org$/m);
    expect(message).toContain('Cause: cuda_oom');
    expect(message).toContain('Reason: exit code 1: "cudaMalloc failed: out of memory"');
    expect(message).toContain('Waiting for it: rtdetr');
    expect(message).toContain('Dashboard: http://127.0.0.1:8765/');
  });

  it('a server that is not there is an error', async () => {
    const smtp = await smtpReceiver(dir);
    await smtp.stop();
    await expect(send({ type: 'smtp', host: '127.0.0.1', port: smtp.port, from: 'w@x.lan', to: 'o@x.lan' })).rejects.toThrow(/ECONNREFUSED|connect/i);
  });
});

describe('Apprise (the real CLI)', () => {
  it('posts through apprise to a loopback json:// receiver, with the title, the body and the type', async () => {
    const r = await receiver();
    await send({ type: 'apprise', urls: [`json://127.0.0.1:${r.port}/apprise`] });
    const [req] = r.received;
    expect(req).toMatchObject({ method: 'POST', path: '/apprise' });
    expect(JSON.parse(req!.body)).toMatchObject({ title: 'nemotron failed', type: 'failure', message: expect.stringContaining('Cause: cuda_oom') });
  });

  it('one URL failing does not resend to the others: a retry goes only where it was not delivered', async () => {
    const ok = await receiver();
    const flaky = await receiver();
    flaky.answer(500);
    const delivered = new Set<number>();
    const c = channelSchema.parse({ type: 'apprise', urls: [`json://127.0.0.1:${ok.port}/`, `json://127.0.0.1:${flaky.port}/`] }) as ChannelConfig;
    const ctx = { origin: ORIGIN, dispatcher: agent, baseDir: dir, signal: AbortSignal.timeout(20_000), delivered };
    await expect(sendOn(c, ALERT, ctx)).rejects.toThrow(/^json:\/\/\*\*\*: apprise exited 1/);
    flaky.answer(200);
    await sendOn(c, ALERT, ctx);
    expect([ok.received.length, flaky.received.length]).toEqual([1, 2]);
    expect([...delivered].sort()).toEqual([0, 1]);
  });

  it('a failed delivery is an error without the URL’s secret in it; a missing CLI says how to install it', async () => {
    const r = await receiver();
    r.answer(500);
    const err = (await send({ type: 'apprise', urls: [`json://user:hunter2@127.0.0.1:${r.port}/`] }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^json:\/\/\*\*\*: apprise exited 1/);
    expect(err.message).not.toContain('hunter2');
    await expect(send({ type: 'apprise', urls: ['json://127.0.0.1:1/'] }, ALERT, { apprise: path.join(dir, 'no-apprise') })).rejects.toThrow('apprise is not installed (apt install apprise)');
  });
});

/** The text of a quoted-printable body (RFC 2045), UTF-8 inside. */
function decodeQuotedPrintable(text: string): string {
  const bytes = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}
