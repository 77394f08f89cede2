import { useState } from 'react';
import type { ChannelStatus } from '../../../src-shared/protocol.js';
import type { ApiClient } from '../../api/client.js';
import { relativeTime } from '../../format.js';
import { CHANNEL_FIELDS, CHANNEL_TYPES, newChannelDraft, SECRET_FIELDS, type AlertsDraft, type ChannelDraft, type ChannelType } from './alerts-form.js';
import { Field } from './Field.js';

/** Labels and hints of the channel fields. */
const LABELS: Record<string, { label: string; hint?: string; placeholder?: string }> = {
  url: { label: 'URL', placeholder: 'https://ntfy.sh/warden-home' },
  token: { label: 'Access token', hint: 'Shown as *** once saved; leave *** to keep it.' },
  tokenFile: { label: 'Token file', hint: 'Or read the token from this file (first line).' },
  priority: { label: 'Priority', hint: 'min, low, default, high or urgent; empty = by severity.' },
  secret: { label: 'Signing secret', hint: 'X-Warden-Signature: sha256=HMAC of the body. Shown as *** once saved.' },
  secretFile: { label: 'Secret file' },
  host: { label: 'SMTP server', placeholder: 'smtp.example.org' },
  port: { label: 'Port', hint: 'Empty = 587 (465 with TLS).' },
  user: { label: 'User' },
  passwordFile: { label: 'Password file', hint: 'The password stays in this file (mode 0600), never in the settings.' },
  from: { label: 'From', placeholder: 'warden@workstation.lan' },
  to: { label: 'To', hint: 'Addresses, separated by commas.' },
  urls: { label: 'Apprise URLs', hint: 'One per line (tgram://…, discord://…, mailto://…). Shown masked once saved.' },
};

/** Props: the alerts part of the draft, its errors, and how the last deliveries went. */
export interface AlertsSettingsProps {
  api: ApiClient;
  alerts: AlertsDraft;
  statuses: ChannelStatus[];
  errors: Map<string, string[]>;
  now: number;
  onChange(next: AlertsDraft): void;
}

/** Alert channels (CONTRACT §15) on the settings page: edit, add, remove, and Send test with the real result. */
export function AlertsSettings({ api, alerts, statuses, errors, now, onChange }: AlertsSettingsProps) {
  const [adding, setAdding] = useState<ChannelType>('ntfy');
  const [results, setResults] = useState<Record<string, { ok: boolean; text: string } | 'sending'>>({});
  const editChannel = (i: number, change: Partial<ChannelDraft>) =>
    onChange({ ...alerts, channels: alerts.channels.map((c, j) => (j === i ? { ...c, ...change, savedId: null } : c)) });

  const test = async (id: string) => {
    setResults((r) => ({ ...r, [id]: 'sending' }));
    try {
      const res = await api.testAlert(id);
      const one = res.body?.results?.[0];
      setResults((r) => ({ ...r, [id]: one ? { ok: one.ok, text: one.ok ? 'Delivered.' : `Not delivered: ${one.error ?? 'unknown error'}` } : { ok: false, text: res.body?.error ?? `HTTP ${res.status}` } }));
    } catch {
      setResults((r) => ({ ...r, [id]: { ok: false, text: 'Warden is not reachable.' } }));
    }
  };

  return (
    <fieldset className="panel" aria-labelledby="alerts-legend">
      <legend id="alerts-legend">Alerts away from the desk</legend>
      <p className="field__hint">One alert when a service gets into trouble, one if it ends failed, one on recovery; at most one per service a minute. Delivered durably: retried until the receiver takes it.</p>
      <div className="grid">
        <Field path="alerts.minSeverity" label="Send" errors={errors.get('alerts.minSeverity')}>
          {(a11y) => (
            <select {...a11y} value={alerts.minSeverity} onChange={(e) => onChange({ ...alerts, minSeverity: e.target.value })}>
              <option value="warning">every alert (trouble, failed, recovered)</option>
              <option value="error">only failures and their recovery</option>
            </select>
          )}
        </Field>
        <Field path="alerts.repeatAfter" label="Remind while failed every (s)" hint="0 = no reminders." errors={errors.get('alerts.repeatAfter')}>
          {(a11y) => <input {...a11y} type="text" inputMode="decimal" value={alerts.repeatAfter} onChange={(e) => onChange({ ...alerts, repeatAfter: e.target.value })} />}
        </Field>
        <Field path="alerts.dashboardUrl" label="Dashboard link in alerts" hint="Empty = this machine’s address (reachable from here only)." errors={errors.get('alerts.dashboardUrl')}>
          {(a11y) => <input {...a11y} type="text" value={alerts.dashboardUrl} placeholder="https://warden.home.lan/" onChange={(e) => onChange({ ...alerts, dashboardUrl: e.target.value })} />}
        </Field>
      </div>
      {alerts.channels.map((c, i) => {
        const p = (f: string) => `alerts.channels[${i}].${f}`;
        const status = c.savedId ? statuses.find((s) => s.id === c.savedId) : undefined;
        const result = c.savedId ? results[c.savedId] : undefined;
        return (
          <section className="channel" key={c.key} aria-label={`${c.type} channel ${c.name || i + 1}`} data-channel={c.type}>
            <h3>
              {c.type}
              {c.name ? ` — ${c.name}` : ''}
            </h3>
            <div className="grid">
              <Field path={p('name')} label="Name (optional)" errors={errors.get(p('name'))}>
                {(a11y) => <input {...a11y} type="text" value={c.name} onChange={(e) => editChannel(i, { name: e.target.value })} />}
              </Field>
              {CHANNEL_FIELDS[c.type].map((f) => (
                <Field key={f} path={p(f)} label={LABELS[f]!.label} hint={LABELS[f]!.hint} errors={errors.get(p(f))}>
                  {(a11y) =>
                    f === 'urls' ? (
                      <textarea {...a11y} rows={3} spellCheck={false} value={c.fields[f] ?? ''} onChange={(e) => editChannel(i, { fields: { ...c.fields, [f]: e.target.value } })} />
                    ) : (
                      <input {...a11y} type={SECRET_FIELDS.has(f) ? 'password' : 'text'} autoComplete="off" spellCheck={false} placeholder={LABELS[f]!.placeholder} value={c.fields[f] ?? ''} onChange={(e) => editChannel(i, { fields: { ...c.fields, [f]: e.target.value } })} />
                    )
                  }
                </Field>
              ))}
              {c.type === 'smtp' && (
                <Field path={p('secure')} label="TLS from the start (port 465)" errors={errors.get(p('secure'))} inline>
                  {(a11y) => <input {...a11y} type="checkbox" checked={c.secure} onChange={(e) => editChannel(i, { secure: e.target.checked })} />}
                </Field>
              )}
              <Field path={p('minSeverity')} label="Send on this channel" errors={errors.get(p('minSeverity'))}>
                {(a11y) => (
                  <select {...a11y} value={c.minSeverity} onChange={(e) => editChannel(i, { minSeverity: e.target.value })}>
                    <option value="">as above</option>
                    <option value="warning">every alert</option>
                    <option value="error">only failures</option>
                  </select>
                )}
              </Field>
            </div>
            <p className="channel__status" data-testid="channel-status">
              {!c.savedId
                ? 'Save to use and test this channel.'
                : status
                  ? [
                      status.lastDelivery ? `Last delivered ${relativeTime(status.lastDelivery.at, now)}.` : 'Nothing delivered yet.',
                      status.lastError ? ` Last error ${relativeTime(status.lastError.at, now)}: ${status.lastError.message}.` : '',
                      status.queued > 0 ? ` ${status.queued} waiting to be retried.` : '',
                    ].join('')
                  : ''}
            </p>
            <div className="card__actions">
              <button type="button" className="button" disabled={!c.savedId || result === 'sending'} onClick={() => c.savedId && void test(c.savedId)}>
                {result === 'sending' ? 'Sending…' : 'Send test'}
              </button>
              <button type="button" className="button button--danger" onClick={() => onChange({ ...alerts, channels: alerts.channels.filter((_x, j) => j !== i) })}>
                Remove channel
              </button>
            </div>
            {result && result !== 'sending' && (
              <p className={`card__feedback${result.ok ? '' : ' card__feedback--error'}`} role="status">
                {result.text}
              </p>
            )}
          </section>
        );
      })}
      <p className="channel__add">
        <label htmlFor="add-channel-type">New channel</label>{' '}
        <select id="add-channel-type" value={adding} onChange={(e) => setAdding(e.target.value as ChannelType)}>
          {CHANNEL_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>{' '}
        <button type="button" className="button" onClick={() => onChange({ ...alerts, channels: [...alerts.channels, newChannelDraft(adding)] })}>
          Add channel
        </button>
      </p>
    </fieldset>
  );
}
