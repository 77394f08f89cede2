// Secrets in the settings (CONTRACT §15): masked on the way out, and "***" restored from the
// stored channel it really stands for — never another one's.
import { describe, expect, it } from 'vitest';
import { maskSecrets, maskUrl, restoreSecrets } from '../../../src-shared/secrets.js';

const stored = (channels: object[], services: object[] = []) => ({ alerts: { channels }, services });
/** What the settings page sends back: the masked settings with `edit` applied. */
const roundTrip = (s: ReturnType<typeof stored>, edit: (masked: ReturnType<typeof stored>) => void = () => undefined) => {
  const masked = maskSecrets(s);
  edit(masked);
  return restoreSecrets(masked, s);
};

describe('maskSecrets / restoreSecrets', () => {
  it('masks tokens, webhook secrets and headers, Apprise URLs after the scheme, and deep-check headers; leaves the rest', () => {
    const s = stored([{ type: 'ntfy', url: 'https://ntfy.sh/t', token: 'tk' }, { type: 'webhook', url: 'http://h/x', secret: 's', headers: { A: 'b' } }, { type: 'apprise', urls: ['tgram://a/b', 'weird'] }], [{ name: 'llm', deepCheck: { headers: { Authorization: 'Bearer k' } } }, { name: 'plain' }]);
    expect(maskSecrets(s)).toEqual(stored([{ type: 'ntfy', url: 'https://ntfy.sh/t', token: '***' }, { type: 'webhook', url: 'http://h/x', secret: '***', headers: { A: '***' } }, { type: 'apprise', urls: ['tgram://***', '***'] }], [{ name: 'llm', deepCheck: { headers: { Authorization: '***' } } }, { name: 'plain' }]));
    expect(maskUrl('discord://id/token')).toBe('discord://***');
    expect(maskSecrets('not an object')).toBe('not an object');
  });

  it('an unchanged round trip restores every value, also for two channels to the same URL with different secrets', () => {
    const s = stored([{ type: 'webhook', url: 'http://h/x', secret: 'one', headers: { A: '1' } }, { type: 'webhook', url: 'http://h/x', secret: 'two', headers: { A: '2' } }]);
    expect(roundTrip(s)).toEqual({ ok: true, value: s });
  });

  it('a channel removed before another of the same kind: the one kept keeps its own secret', () => {
    const s = stored([{ type: 'apprise', urls: ['tgram://botA/1'] }, { type: 'apprise', urls: ['tgram://botB/2'] }]);
    const r = roundTrip(s, (m) => m.alerts.channels.splice(0, 1));
    // Ambiguous by what the form shows: refused rather than guessed.
    expect(r).toEqual({ ok: false, issues: [{ path: 'alerts.channels[0]', message: 'its "***" could stand for more than one stored channel: enter the secret again' }] });
    const named = stored([{ type: 'apprise', name: 'a', urls: ['tgram://botA/1'] }, { type: 'apprise', name: 'b', urls: ['tgram://botB/2'] }]);
    expect(roundTrip(named, (m) => m.alerts.channels.splice(0, 1))).toEqual({ ok: true, value: stored([{ type: 'apprise', name: 'b', urls: ['tgram://botB/2'] }]) });
  });

  it('channels reordered: each is matched by its URL, not its place', () => {
    const s = stored([{ type: 'ntfy', url: 'https://ntfy.sh/a', token: 'A' }, { type: 'ntfy', url: 'https://ntfy.sh/b', token: 'B' }]);
    expect(roundTrip(s, (m) => m.alerts.channels.reverse())).toEqual({ ok: true, value: stored([{ type: 'ntfy', url: 'https://ntfy.sh/b', token: 'B' }, { type: 'ntfy', url: 'https://ntfy.sh/a', token: 'A' }]) });
  });

  it('an Apprise URL line removed: the others keep their own; two of the same scheme in a changed list are refused', () => {
    const s = stored([{ type: 'apprise', urls: ['tgram://a/1', 'discord://b/2'] }]);
    expect(roundTrip(s, (m) => (m.alerts.channels[0] as { urls: string[] }).urls.splice(0, 1))).toEqual({ ok: true, value: stored([{ type: 'apprise', urls: ['discord://b/2'] }]) });
    const two = stored([{ type: 'apprise', urls: ['tgram://a/1', 'tgram://b/2'] }]);
    const r = roundTrip(two, (m) => (m.alerts.channels[0] as { urls: string[] }).urls.splice(0, 1));
    expect(r).toEqual({ ok: false, issues: [{ path: 'alerts.channels[0].urls[0]', message: 'could stand for more than one stored URL: enter it again' }] });
    // New URLs typed in beside masked ones are kept as typed.
    expect(roundTrip(s, (m) => (m.alerts.channels[0] as { urls: string[] }).urls.push('gotify://h/t'))).toEqual({ ok: true, value: stored([{ type: 'apprise', urls: ['tgram://a/1', 'discord://b/2', 'gotify://h/t'] }]) });
  });

  it('a "***" with nothing behind it names the field; a changed type is not the same channel', () => {
    const s = stored([{ type: 'ntfy', url: 'https://ntfy.sh/a', token: 'A' }]);
    expect(roundTrip(s, (m) => ((m.alerts.channels[0] as { type: string }).type = 'webhook'))).toEqual({ ok: false, issues: [{ path: 'alerts.channels[0].token', message: 'is "***" but there is no stored value to keep: enter it again' }] });
    expect(roundTrip(stored([]), (m) => m.alerts.channels.push({ type: 'webhook', url: 'http://h/', headers: { X: '***' } }))).toEqual({ ok: false, issues: [{ path: 'alerts.channels[0].headers.X', message: 'is "***" but there is no stored value to keep: enter it again' }] });
    expect(roundTrip(stored([]), (m) => m.alerts.channels.push({ type: 'apprise', urls: ['tgram://***'] }))).toMatchObject({ ok: false, issues: [{ path: 'alerts.channels[0].urls[0]' }] });
  });

  it('deep-check headers come back from the service of the same name, header names in any case', () => {
    const s = stored([], [{ name: 'llm', deepCheck: { headers: { authorization: 'Bearer k' } } }]);
    const r = restoreSecrets({ alerts: { channels: [] }, services: [{ name: 'llm', deepCheck: { headers: { Authorization: '***' } } }] }, s);
    expect(r).toEqual({ ok: true, value: { alerts: { channels: [] }, services: [{ name: 'llm', deepCheck: { headers: { Authorization: 'Bearer k' } } }] } });
    expect(restoreSecrets('x', s)).toEqual({ ok: true, value: 'x' });
  });
});
