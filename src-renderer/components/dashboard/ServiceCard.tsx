import { useState } from 'react';
import { CAUSE_TEXT } from '../../../src-shared/causes.js';
import type { ServiceAction, ServiceState } from '../../../src-shared/protocol.js';
import { severityOf } from '../../../src-shared/status.js';
import type { ApiClient } from '../../api/client.js';
import { clockTime, formatGiB, formatLatency, relativeTime, statusIcon, statusLabel } from '../../format.js';
import { useActionFeedback } from '../../hooks/useActionFeedback.js';
import { usePolling } from '../../hooks/usePolling.js';
import type { VramShare } from '../../state/gpu-reducer.js';
import { QUICK_MAINTENANCE_MINUTES } from '../../state/maintenance.js';
import { Sparkline } from './Sparkline.js';
import { UptimeBar } from './UptimeBar.js';

/** How often a card refreshes its 24 h uptime bar. */
export const UPTIME_REFRESH_MS = 60_000;

/** Props of one service's card. */
export interface ServiceCardProps {
  state: ServiceState;
  api: ApiClient;
  /** The current time (ms), for "since …". */
  now: number;
  /** `warden serve --demo`: show "Simulate crash". */
  demo?: boolean;
  /** What the latest GPU sample attributes to this service, per GPU; absent: nothing. */
  vram?: VramShare[];
  /** Refetch the maintenance list after "Maintenance 30 min"; absent (a server without maintenance windows): no button. */
  onMaintenance?: () => void;
}

const DONE: Record<ServiceAction, string> = {
  restart: 'Restart requested',
  pause: 'Paused',
  resume: 'Resumed',
  reset: 'Attempt counter reset',
};

/** "VRAM 17.1 GiB on GPU 0" (and ", 2.0 GiB on GPU 1" for a service spread over several). */
export function vramText(shares: VramShare[]): string {
  return `VRAM ${shares.map((v) => `${v.usedMiB === null ? '—' : `${formatGiB(v.usedMiB)} GiB`} on GPU ${v.gpu}`).join(', ')}`;
}

/** "Every 5 min" / "every 30 s". */
function everyText(seconds: number): string {
  return seconds >= 60 && seconds % 60 === 0 ? `every ${seconds / 60} min` : `every ${seconds} s`;
}

/** The card's deep-check line (CONTRACT §14): how the last real request went, and when. */
export function deepCheckText(d: NonNullable<ServiceState['deepCheck']>, now: number): string {
  const when = d.at ? relativeTime(d.at, now) : '';
  switch (d.outcome) {
    case 'pending':
      return `Deep check ${d.request}: not run yet (${everyText(d.every)})`;
    case 'ok':
      return `Deep check ${d.request}: ok in ${formatLatency(d.latencyMs)}, ${when} (${everyText(d.every)})`;
    case 'failed':
      return `Deep check failed ${when}: ${d.reason}`;
    case 'skipped':
      return `Deep check skipped ${when}: ${d.reason}`;
  }
}

/** One service on the dashboard (design a2v.10): status, timing, uptime, last failure, actions. */
export function ServiceCard({ state: s, api, now, demo = false, vram, onMaintenance }: ServiceCardProps) {
  const [uptime, setUptime] = useState<{ ratio: number | null; buckets: (number | null)[] } | null>(null);
  const { busy, feedback, run } = useActionFeedback();
  const severity = severityOf(s.status);
  const headingId = `svc-${s.service}`;

  usePolling(
    () => {
      api.uptime(s.service).then(
        (r) => {
          if (r.ok && r.body) setUptime({ ratio: r.body.ratio ?? null, buckets: Array.isArray(r.body.buckets) ? r.body.buckets : [] });
        },
        () => undefined, // Offline: keep the last bar; the connection strip says what is wrong.
      );
    },
    UPTIME_REFRESH_MS,
    s.service,
  );

  const act = (action: ServiceAction, label: string) => () => void run(label, () => api.act(s.service, action), DONE[action]);
  const maintain = (changed: () => void) => () =>
    void run('Maintenance', () => api.startMaintenance({ services: [s.service], minutes: QUICK_MAINTENANCE_MINUTES }), `In maintenance for ${QUICK_MAINTENANCE_MINUTES} min`).then(changed);
  const maintenanceEnd = clockTime(s.maintenanceUntil);
  const paused = s.status === 'paused';
  // The demo's detector breaks its detections, the LLM its completions.
  const breakWhat = s.deepCheck?.request.endsWith('/detect') ? 'Detections' : 'Completions';
  const breakLabel = `Break ${breakWhat.toLowerCase()}`;
  const latencies = s.recentLatencies;
  const checks = latencies.length === 1 ? 'last check' : `last ${latencies.length} checks`;

  return (
    <article className={`card card--${severity}`} aria-labelledby={headingId} data-service={s.service} data-status={s.status}>
      <header className="card__head">
        <h2 id={headingId} className="card__name">
          {s.service}
        </h2>
        <span className={`badge badge--${severity}`} data-testid="status">
          <span aria-hidden="true">{statusIcon(s.status)}</span> {statusLabel(s.status)}
        </span>
      </header>
      <p className="card__message">{s.message || '\u00a0'}</p>
      {maintenanceEnd && (
        <p className="card__maintenance" data-testid="maintenance">
          In maintenance until {maintenanceEnd}
        </p>
      )}
      {s.dependsOn && s.dependsOn.length > 0 && (
        <p className="card__needs" data-testid="needs">
          needs {s.dependsOn.join(', ')}
        </p>
      )}
      {vram && vram.length > 0 && (
        <p className="card__vram" data-testid="vram">
          {vramText(vram)}
        </p>
      )}
      {s.deepCheck && (
        <p className={`card__deep card__deep--${s.deepCheck.outcome}`} data-testid="deep-check" title={s.deepCheck.reason}>
          {deepCheckText(s.deepCheck, now)}
        </p>
      )}
      <dl className="card__facts">
        <div>
          <dt>Since</dt>
          <dd title={s.since}>{relativeTime(s.since, now) || '—'}</dd>
        </div>
        <div>
          <dt>Latency</dt>
          <dd>{formatLatency(s.latencyMs)}</dd>
        </div>
        <div>
          <dt>Restarts</dt>
          <dd data-testid="restarts">{s.restarts}</dd>
        </div>
        <div>
          <dt>Attempt</dt>
          <dd>{s.attempt > 0 ? `${s.attempt}/${s.maxAttempts}` : '—'}</dd>
        </div>
      </dl>
      <div className="card__charts">
        <div className="card__chart">
          <span className="card__label">Latency, {checks}</span>
          <Sparkline values={latencies} label={`Latency of the ${checks}, latest ${formatLatency(latencies.at(-1) ?? null)}`} />
        </div>
        <div className="card__chart">
          <span className="card__label">Uptime, 24 h</span>
          <UptimeBar buckets={uptime?.buckets ?? null} ratio={uptime?.ratio ?? null} />
        </div>
      </div>
      {s.lastFailure && (
        <details className="card__failure" data-cause={s.lastFailure.cause}>
          <summary>
            Last failure {relativeTime(s.lastFailure.at, now)}: {s.lastFailure.reason}
          </summary>
          <p className="card__cause">
            <strong>{CAUSE_TEXT[s.lastFailure.cause].title}.</strong> {CAUSE_TEXT[s.lastFailure.cause].action}
          </p>
          <pre>{s.lastFailure.output || '(no output)'}</pre>
        </details>
      )}
      {s.monitorOnly && <p className="card__note">Monitor only: Warden never restarts this service.</p>}
      <div className="card__actions">
        <button type="button" className="button" onClick={act('restart', 'Restart')} disabled={busy || s.monitorOnly}>
          Restart now
        </button>
        {paused ? (
          <button type="button" className="button" onClick={act('resume', 'Resume')} disabled={busy}>
            Resume
          </button>
        ) : (
          <button type="button" className="button" onClick={act('pause', 'Pause')} disabled={busy}>
            Pause
          </button>
        )}
        {onMaintenance && (
          <button type="button" className="button" onClick={maintain(onMaintenance)} disabled={busy}>
            Maintenance {QUICK_MAINTENANCE_MINUTES} min
          </button>
        )}
        <button type="button" className="button" onClick={act('reset', 'Reset')} disabled={busy}>
          Reset
        </button>
        {demo && (
          <button type="button" className="button button--danger" onClick={() => void run('Simulate crash', () => api.crash(s.service), 'Crash simulated')} disabled={busy}>
            Simulate crash
          </button>
        )}
        {demo && vram && vram.length > 0 && (
          <button type="button" className="button button--danger" onClick={() => void run('Simulate CUDA OOM', () => api.oom(s.service), 'Out of GPU memory simulated')} disabled={busy}>
            Simulate CUDA OOM
          </button>
        )}
        {demo && s.deepCheck && (
          <button type="button" className="button button--danger" onClick={() => void run(breakLabel, () => api.breakCompletions(s.service), `${breakWhat} broken: they hang while /health says ok`)} disabled={busy}>
            {breakLabel}
          </button>
        )}
      </div>
      <p className={`card__feedback${feedback?.kind === 'error' ? ' card__feedback--error' : ''}`} role="status">
        {feedback?.text}
      </p>
    </article>
  );
}
