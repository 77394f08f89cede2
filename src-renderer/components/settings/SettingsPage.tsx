import { useEffect, useState, type FormEvent } from 'react';
import { TIMING_KEYS, type TimingKey } from '../../../src-shared/timing-keys.js';
import type { ApiClient } from '../../api/client.js';
import type { ChannelStatus } from '../../../src-shared/protocol.js';
import { AlertsSettings } from './AlertsSettings.js';
import { Field } from './Field.js';
import { fieldPaths, fromDraft, issuesByPath, newServiceDraft, toDraft, type Issue, type ServiceDraft, type SettingsDraft } from './settings-form.js';

/** Labels and hints of the timing keys (global and per-service overrides alike). */
export const TIMING_FIELDS: Record<TimingKey, { label: string; hint: string }> = {
  healthCheckInterval: { label: 'Health check interval (s)', hint: 'How often each service is probed.' },
  serviceHealthTimeout: { label: 'Probe timeout (s)', hint: 'A probe slower than this counts as a failure.' },
  serviceMaxRetries: { label: 'Restart attempts before giving up', hint: 'Then the service is marked failed.' },
  serviceBackoffBase: { label: 'Backoff base (s)', hint: 'Wait before attempt n: base × 2^(n−1).' },
  restartTimeout: { label: 'Restart command timeout (s)', hint: 'After this the command’s whole process group is killed.' },
  startupTimeout: { label: 'Startup grace (s)', hint: 'How long a (re)started or loading service may take to become healthy.' },
  resetAfter: { label: 'Reset attempts after healthy for (s)', hint: 'The attempt counter clears once the service stays healthy this long.' },
  failedRetryInterval: { label: 'Retry a failed service after (s)', hint: '0 = never try again on its own.' },
};

/** The restart command's plain warning: it is a shell command anyone with the token can change. */
export const SHELL_WARNING = 'Shell command run with /bin/sh -c — anyone with the token can change it. Leave empty for monitor only.';

type Status = { kind: 'loading' } | { kind: 'error'; text: string } | { kind: 'conflict' } | { kind: 'ready' };

/** Props: the API client. */
export interface SettingsPageProps {
  api: ApiClient;
}

/** Every setting, globally and per service, saved with PUT /api/settings; the server's errors shown at their fields. */
export function SettingsPage({ api }: SettingsPageProps) {
  const [draft, setDraft] = useState<SettingsDraft | null>(null);
  const [status, setStatus] = useState<Status>({ kind: 'loading' });
  const [issues, setIssues] = useState<Issue[]>([]);
  const [saved, setSaved] = useState(false);
  const [saving, setSaving] = useState(false);
  /** The version of the settings the form was filled from: a PUT sends it as If-Match. */
  const [etag, setEtag] = useState<string | null>(null);
  /** How each saved alert channel's deliveries went (GET /api/alerts; an older server has none). */
  const [channels, setChannels] = useState<ChannelStatus[]>([]);

  /** The alert channels' ids and status, in the order of the saved settings. */
  const channelStatus = async (): Promise<ChannelStatus[]> => {
    const r = await api.alerts().catch(() => null);
    const list = r?.ok && Array.isArray(r.body?.channels) ? r.body.channels : [];
    setChannels(list);
    return list;
  };

  const load = () => {
    setStatus({ kind: 'loading' });
    Promise.all([api.settings(), channelStatus()]).then(
      ([r, list]) => {
        if (r.ok && r.body) {
          setEtag(r.etag);
          setDraft(toDraft(r.body, list.map((c) => c.id)));
          setIssues([]);
          setStatus({ kind: 'ready' });
        } else setStatus({ kind: 'error', text: `Could not load the settings (HTTP ${r.status}).` });
      },
      () => setStatus({ kind: 'error', text: 'Could not load the settings: Warden is not reachable.' }),
    );
  };
  // Load once per client (i.e. on mount).
  useEffect(load, [api]);

  if (!draft) {
    return (
      <section className="settings">
        <h1>Settings</h1>
        <p role={status.kind === 'error' ? 'alert' : 'status'}>{status.kind === 'error' ? status.text : 'Loading settings…'}</p>
      </section>
    );
  }

  const errors = issuesByPath(issues);
  const known = fieldPaths(draft);
  const elsewhere = issues.filter((i) => !known.has(i.path));
  const edit = (change: Partial<SettingsDraft>) => {
    setDraft({ ...draft, ...change });
    setSaved(false);
  };
  const editService = (index: number, change: Partial<ServiceDraft>) =>
    edit({ services: draft.services.map((s, i) => (i === index ? { ...s, ...change } : s)) });

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setSaved(false);
    try {
      const r = await api.saveSettings(fromDraft(draft), etag);
      if (r.ok && r.body?.config) {
        setEtag(r.etag);
        setDraft(toDraft(r.body.config, (await channelStatus()).map((c) => c.id)));
        setIssues([]);
        setSaved(true);
        setStatus({ kind: 'ready' });
      } else if (r.status === 412) {
        // Someone edited config.json by hand since this form was filled: nothing was saved.
        setStatus({ kind: 'conflict' });
      } else if (r.status === 400 && Array.isArray(r.body?.issues)) {
        setIssues(r.body.issues);
        setStatus({ kind: 'ready' });
      } else setStatus({ kind: 'error', text: r.body?.error ?? `Saving failed (HTTP ${r.status}).` });
    } catch {
      setStatus({ kind: 'error', text: 'Saving failed: Warden is not reachable.' });
    } finally {
      setSaving(false);
    }
  };

  const text = (path: string, label: string, value: string, onChange: (v: string) => void, extra: { hint?: string; placeholder?: string; inputMode?: 'decimal' | 'numeric'; disabled?: boolean } = {}) => (
    <Field key={path} path={path} label={label} hint={extra.hint} errors={errors.get(path)}>
      {(a11y) => (
        <input {...a11y} type="text" value={value} placeholder={extra.placeholder} inputMode={extra.inputMode} disabled={extra.disabled} spellCheck={false} onChange={(e) => onChange(e.target.value)} />
      )}
    </Field>
  );
  const check = (path: string, label: string, value: boolean, onChange: (v: boolean) => void, hint?: string) => (
    <Field path={path} label={label} hint={hint} errors={errors.get(path)} inline>
      {(a11y) => <input {...a11y} type="checkbox" checked={value} onChange={(e) => onChange(e.target.checked)} />}
    </Field>
  );

  return (
    <form className="settings" onSubmit={(e) => void save(e)} noValidate>
      <h1>Settings</h1>
      {issues.length > 0 && (
        <div className="form-summary" role="alert">
          <strong>
            {issues.length === 1 ? '1 setting needs fixing' : `${issues.length} settings need fixing`} — nothing was saved.
          </strong>
          {elsewhere.length > 0 && (
            <ul>
              {elsewhere.map((i) => (
                <li key={`${i.path}:${i.message}`}>
                  {i.path}: {i.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {status.kind === 'error' && (
        <p className="form-error" role="alert">
          {status.text}
        </p>
      )}
      {status.kind === 'conflict' && (
        <p className="form-error" role="alert">
          The settings file changed on disk — reload to see it (your edits here were not saved).{' '}
          <button type="button" onClick={load}>
            Reload
          </button>
        </p>
      )}

      <fieldset className="panel">
        <legend>General</legend>
        <div className="grid">
          <Field path="serviceManagerType" label="Restart strategy" hint="shell: run each service’s restart command; docker: restart its container; systemd: restart its unit over D-Bus (no sudo)." errors={errors.get('serviceManagerType')}>
            {(a11y) => (
              <select {...a11y} value={draft.serviceManagerType} onChange={(e) => edit({ serviceManagerType: e.target.value })}>
                <option value="shell">shell</option>
                <option value="docker">docker</option>
                <option value="systemd">systemd</option>
              </select>
            )}
          </Field>
          {text('workingDir', 'Working directory of restart commands', draft.workingDir, (v) => edit({ workingDir: v }), { hint: 'Empty = the folder that holds ai/.', placeholder: '(default)' })}
          {text('dockerStopTimeout', 'Docker stop timeout (s)', draft.dockerStopTimeout, (v) => edit({ dockerStopTimeout: v }), { inputMode: 'decimal', hint: 'docker strategy: grace before SIGKILL.' })}
          {text('server.host', 'Server address', draft.host, (v) => edit({ host: v }))}
          {text('server.port', 'Server port', draft.port, (v) => edit({ port: v }), { inputMode: 'numeric' })}
          {check('notifications', 'Desktop notifications', draft.notifications, (v) => edit({ notifications: v }), 'Tray app: notify on failure and recovery.')}
        </div>
      </fieldset>

      <fieldset className="panel">
        <legend>Checks and restarts (all services)</legend>
        <div className="grid">
          {TIMING_KEYS.map((k) =>
            text(k, TIMING_FIELDS[k].label, draft.timings[k], (v) => edit({ timings: { ...draft.timings, [k]: v } }), { hint: TIMING_FIELDS[k].hint, inputMode: 'decimal' }),
          )}
        </div>
      </fieldset>

      <h2>Services</h2>
      {draft.services.map((s, i) => {
        const p = (f: string) => `services[${i}].${f}`;
        const overrideErrors = TIMING_KEYS.some((k) => errors.has(p(k)));
        const overrides = TIMING_KEYS.some((k) => s.timings[k] !== '');
        return (
          <fieldset className="panel" key={s.key}>
            <legend>{s.name || `Service ${i + 1}`}</legend>
            <div className="grid">
              {text(p('name'), 'Name', s.name, (v) => editService(i, { name: v }), { hint: 'Lower case letters, digits, - and _.' })}
              {text(p('healthUrl'), 'Health URL', s.healthUrl, (v) => editService(i, { healthUrl: v }), { hint: 'http(s)://…, redis://host:port, tcp://host:port, docker://container or systemd://unit', placeholder: 'http://127.0.0.1:8090/health' })}
              <Field path={p('strategy')} label="Strategy for this service" errors={errors.get(p('strategy'))}>
                {(a11y) => (
                  <select {...a11y} value={s.strategy} onChange={(e) => editService(i, { strategy: e.target.value })}>
                    <option value="">as above ({draft.serviceManagerType})</option>
                    <option value="shell">shell</option>
                    <option value="docker">docker</option>
                    <option value="systemd">systemd</option>
                  </select>
                )}
              </Field>
              {text(p('container'), 'Docker container', s.container, (v) => editService(i, { container: v }), { hint: 'docker strategy; empty = the service name.', placeholder: s.name })}
              {text(p('unit'), 'systemd unit', s.unit, (v) => editService(i, { unit: v }), { hint: 'systemd strategy; empty = <name>.service.', placeholder: `${s.name || 'name'}.service` })}
              {text(p('pidfile'), 'Pidfile (optional)', s.pidfile, (v) => editService(i, { pidfile: v }), { hint: 'Its death is noticed at once, without waiting for a probe.' })}
            </div>
            <div className="restart-cmd">
              {text(p('restartCmd'), 'Restart command (shell)', s.restartCmd, (v) => editService(i, { restartCmd: v }), { hint: SHELL_WARNING, placeholder: 'empty = monitor only', disabled: s.monitorOnly })}
              {text(p('stopCmd'), 'Stop command (shell, optional)', s.stopCmd, (v) => editService(i, { stopCmd: v }), {
                hint: 'Run first on a manual “Restart now”, so a healthy instance is really replaced.',
                placeholder: './ai/stop_detector.sh',
                disabled: s.monitorOnly,
              })}
              {check(p('monitorOnly'), 'Monitor only — never restart this service', s.monitorOnly, (v) => editService(i, { monitorOnly: v }))}
              {check(p('restartWhenStopped'), 'Docker: restart even if the container was stopped on purpose', s.restartWhenStopped, (v) => editService(i, { restartWhenStopped: v }))}
            </div>
            <details className="overrides" open={overrideErrors || overrides || undefined}>
              <summary>Timing overrides for this service</summary>
              <div className="grid">
                {TIMING_KEYS.map((k) =>
                  text(p(k), TIMING_FIELDS[k].label, s.timings[k], (v) => editService(i, { timings: { ...s.timings, [k]: v } }), { placeholder: `default: ${draft.timings[k]}`, inputMode: 'decimal' }),
                )}
              </div>
            </details>
            <button type="button" className="button button--danger" onClick={() => edit({ services: draft.services.filter((_x, j) => j !== i) })}>
              Remove {s.name || 'this service'}
            </button>
          </fieldset>
        );
      })}
      <p>
        <button type="button" className="button" onClick={() => edit({ services: [...draft.services, newServiceDraft()] })}>
          Add service
        </button>
      </p>

      <AlertsSettings api={api} alerts={draft.alerts} statuses={channels} errors={errors} now={Date.now()} onChange={(alerts) => edit({ alerts })} />

      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={saving}>
          {saving ? 'Saving…' : 'Save settings'}
        </button>
        <button type="button" className="button" onClick={load} disabled={saving}>
          Discard changes
        </button>
        <span role="status" className="form-saved">
          {saved ? 'Settings saved and applied.' : ''}
        </span>
      </div>
    </form>
  );
}
