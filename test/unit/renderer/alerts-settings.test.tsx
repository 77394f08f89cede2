// The alerts section of the settings page (CONTRACT §15): channels from the config, edited and
// saved through the real schema, "***" kept, and Send test showing the server's real answer.
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src-renderer/api/client.js';
import { fromAlertsDraft, toAlertsDraft } from '../../../src-renderer/components/settings/alerts-form.js';
import { SettingsPage } from '../../../src-renderer/components/settings/SettingsPage.js';
import { defaultConfig, validateConfig } from '../../../src-shared/config-schema.js';
import { fakeFetch, type Call } from './fake-fetch.js';

afterEach(cleanup);

const CHANNELS = [
  { type: 'ntfy', url: 'https://ntfy.sh/warden-home', token: '***' },
  { type: 'smtp', name: 'mail', host: 'smtp.example.org', port: 465, secure: true, user: 'me', passwordFile: '/etc/warden/smtp.pass', from: 'warden@ws.lan', to: ['me@example.org', 'you@example.org'], minSeverity: 'error' },
  { type: 'webhook', url: 'http://127.0.0.1:9000/hook', secret: '***', headers: { Authorization: '***' } },
  { type: 'apprise', urls: ['tgram://***', 'discord://***'] },
];
const SETTINGS = { ...defaultConfig(), alerts: { channels: CHANNELS, minSeverity: 'warning', repeatAfter: 0 } };
const status = (id: string, type: string, extra: object = {}) => ({ id, type, name: null, target: 'x', minSeverity: 'warning', queued: 0, lastDelivery: null, lastError: null, ...extra });
const STATUS = {
  channels: [
    status('ntfy-1', 'ntfy', { lastDelivery: { at: new Date(Date.now() - 120_000).toISOString(), alertId: 'a', title: 't' } }),
    status('mail', 'smtp', { lastError: { at: new Date(Date.now() - 60_000).toISOString(), alertId: 'b', message: 'connect ECONNREFUSED 127.0.0.1:465', attempts: 3 }, queued: 2 }),
    status('webhook-1', 'webhook'),
    status('apprise-1', 'apprise'),
  ],
};

function serverLike(call: Call) {
  const checked = validateConfig(call.body);
  return checked.ok ? { status: 200, body: { ok: true, config: SETTINGS } } : { status: 400, body: { error: 'invalid settings', issues: checked.issues } };
}

async function page(routes: Parameters<typeof fakeFetch>[0] = {}) {
  const f = fakeFetch({ 'GET /api/settings': { status: 200, body: SETTINGS }, 'GET /api/alerts': { status: 200, body: STATUS }, 'PUT /api/settings': serverLike, ...routes });
  render(<SettingsPage api={new ApiClient('tok', f.fetch)} />);
  await screen.findByRole('group', { name: 'Alerts away from the desk' });
  return f;
}

const channel = (name: RegExp) => within(screen.getByRole('region', { name }));

describe('alerts form model', () => {
  it('an unedited form saves back exactly the alerts it was loaded from, masks included', () => {
    expect(fromAlertsDraft(toAlertsDraft(SETTINGS.alerts))).toEqual(SETTINGS.alerts);
    expect(validateConfig({ ...SETTINGS, alerts: fromAlertsDraft(toAlertsDraft(SETTINGS.alerts)) }).ok).toBe(true);
  });

  it('a config of the wrong shape gives empty alerts instead of a crash', () => {
    expect(toAlertsDraft('nope')).toMatchObject({ minSeverity: 'warning', repeatAfter: '0', channels: [] });
    expect(toAlertsDraft({ channels: [{ type: 'carrier-pigeon' }] }).channels[0]!.type).toBe('webhook');
  });
});

describe('Settings page: alerts', () => {
  it('shows each channel with its fields, secrets masked, and how its deliveries went', async () => {
    await page();
    expect((channel(/^ntfy channel/).getByLabelText('URL') as HTMLInputElement).value).toBe('https://ntfy.sh/warden-home');
    const token = channel(/^ntfy channel/).getByLabelText('Access token') as HTMLInputElement;
    expect([token.type, token.value]).toEqual(['password', '***']);
    expect(channel(/^ntfy channel/).getByTestId('channel-status').textContent).toBe('Last delivered 2 min ago.');
    expect((channel(/^smtp channel mail/).getByLabelText('To') as HTMLInputElement).value).toBe('me@example.org, you@example.org');
    expect(channel(/^smtp channel mail/).getByTestId('channel-status').textContent).toBe('Nothing delivered yet. Last error 1 min ago: connect ECONNREFUSED 127.0.0.1:465. 2 waiting to be retried.');
    expect((channel(/^apprise channel/).getByLabelText('Apprise URLs') as HTMLTextAreaElement).value).toBe('tgram://***\ndiscord://***');
  });

  it('Send test posts for that channel and shows the real outcome, delivered or not', async () => {
    const f = await page({
      'POST /api/alerts/test': (call: Call) =>
        (call.body as { channel: string }).channel === 'ntfy-1'
          ? { status: 200, body: { ok: true, results: [{ channel: 'ntfy-1', ok: true }] } }
          : { status: 502, body: { ok: false, results: [{ channel: 'mail', ok: false, error: 'connect ECONNREFUSED 127.0.0.1:465' }] } },
    });
    fireEvent.click(channel(/^ntfy channel/).getByRole('button', { name: 'Send test' }));
    await waitFor(() => expect(channel(/^ntfy channel/).getByRole('status').textContent).toBe('Delivered.'));
    fireEvent.click(channel(/^smtp channel mail/).getByRole('button', { name: 'Send test' }));
    await waitFor(() => expect(channel(/^smtp channel mail/).getByRole('status').textContent).toBe('Not delivered: connect ECONNREFUSED 127.0.0.1:465'));
    expect(f.calls.filter((c) => c.path === '/api/alerts/test').map((c) => c.body)).toEqual([{ channel: 'ntfy-1' }, { channel: 'mail' }]);
  });

  it('an edited or new channel must be saved before it can be tested; adding and removing channels is saved', async () => {
    const f = await page();
    fireEvent.change(channel(/^ntfy channel/).getByLabelText('Priority'), { target: { value: 'urgent' } });
    expect((channel(/^ntfy channel/).getByRole('button', { name: 'Send test' }) as HTMLButtonElement).disabled).toBe(true);
    expect(channel(/^ntfy channel/).getByTestId('channel-status').textContent).toBe('Save to use and test this channel.');
    fireEvent.click(channel(/^apprise channel/).getByRole('button', { name: 'Remove channel' }));
    fireEvent.change(screen.getByLabelText('New channel'), { target: { value: 'webhook' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add channel' }));
    const fresh = screen.getAllByRole('region', { name: /^webhook channel/ }).at(-1)!;
    fireEvent.change(within(fresh).getByLabelText('URL'), { target: { value: 'https://hooks.example.org/warden' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    await screen.findByText('Settings saved and applied.');
    const put = f.calls.find((c) => c.method === 'PUT')!.body as { alerts: { channels: Record<string, unknown>[] } };
    expect(put.alerts.channels).toEqual([
      { ...CHANNELS[0], priority: 'urgent' },
      CHANNELS[1],
      CHANNELS[2],
      { type: 'webhook', url: 'https://hooks.example.org/warden' },
    ]);
  });

  it('the server’s error shows at the channel’s field', async () => {
    await page();
    fireEvent.change(channel(/^ntfy channel/).getByLabelText('URL'), { target: { value: 'not a url' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    const url = channel(/^ntfy channel/).getByLabelText('URL');
    await waitFor(() => expect(url.getAttribute('aria-invalid')).toBe('true'));
  });

  it('against an older server without /api/alerts the channels are still edited, and tested after a save', async () => {
    await page({ 'GET /api/alerts': { status: 404, body: { error: 'unknown API path' } } });
    expect(channel(/^ntfy channel/).getByTestId('channel-status').textContent).toBe('Save to use and test this channel.');
  });
});
