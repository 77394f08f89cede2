import { useState } from 'react';
import type { ServiceState } from '../../../src-shared/protocol.js';
import { severityOf } from '../../../src-shared/status.js';
import { retryCountdown, statusIcon, statusLabel, waitCountdown } from '../../format.js';
import { useNow } from '../../hooks/useNow.js';
import { episodeKey, trackEpisodes, type EpisodeTracker } from '../../state/alert-episodes.js';
import { isProblem } from '../../state/service-reducer.js';

/** Props: every service's current state (from useServiceStatus). */
export interface ServiceStatusAlertProps {
  states: Record<string, ServiceState>;
}

/** "attempt 2/3", unless the message already says it. */
function attemptText(s: ServiceState): string {
  if (s.attempt <= 0 || s.maxAttempts <= 0) return '';
  const text = `attempt ${s.attempt}/${s.maxAttempts}`;
  return s.message.includes(text) ? '' : text;
}

/**
 * The banner on top of every page while any service has a problem (design a2v.9): yellow while
 * starting/restarting, red once anything is unhealthy or failed. Dismissing hides the current
 * failure episode only; a service starting a new one brings the banner back. It goes away by
 * itself when everything has recovered.
 */
export function ServiceStatusAlert({ states }: ServiceStatusAlertProps) {
  // Episodes are derived from the sequence of states seen: advanced whenever the states change.
  const [seen, setSeen] = useState<{ states: Record<string, ServiceState> | null; tracker: EpisodeTracker }>({ states: null, tracker: {} });
  let tracker = seen.tracker;
  if (seen.states !== states) {
    tracker = trackEpisodes(seen.tracker, Object.values(states));
    setSeen({ states, tracker });
  }
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(() => new Set());

  const problems = Object.values(states).filter((s) => isProblem(s.status));
  const visible = problems.some((s) => !dismissed.has(episodeKey(s.service, tracker)));
  // A second-by-second clock only while a countdown (retry or GPU release wait) is on screen.
  const ticking = visible && problems.some((s) => s.nextRetryAt !== null || s.waitUntil !== undefined);
  const now = useNow(1000, ticking);
  if (!visible) return null;

  const severity = problems.some((s) => severityOf(s.status) === 'error') ? 'error' : 'warning';
  const title = problems.length === 1 ? '1 service needs attention' : `${problems.length} services need attention`;
  const dismiss = () => setDismissed((prev) => new Set([...prev, ...problems.map((s) => episodeKey(s.service, tracker))]));

  return (
    <div role="alert" className={`alert alert--${severity}`} data-severity={severity}>
      <span className="alert__icon" aria-hidden="true">
        {severity === 'error' ? '✖' : '⚠'}
      </span>
      <div className="alert__body">
        <strong className="alert__title">{title}</strong>
        <ul className="alert__list">
          {problems.map((s) => {
            const attempt = attemptText(s);
            const countdown = [retryCountdown(s.nextRetryAt, now), waitCountdown(s.waitUntil ?? null, now)].filter(Boolean).join(' · ');
            return (
              <li key={s.service} data-service={s.service}>
                <span className={`badge badge--${severityOf(s.status)}`}>
                  <span aria-hidden="true">{statusIcon(s.status)}</span> {s.service} — {statusLabel(s.status)}
                </span>
                <span className="alert__message">{s.message}</span>
                {attempt && <span className="alert__meta"> · {attempt}</span>}
                {/* The countdown changes every second: never re-announced by screen readers. */}
                {countdown && (
                  <span className="alert__meta" role="timer" aria-live="off">
                    {' '}
                    · {countdown}
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      </div>
      <button type="button" className="button button--quiet alert__dismiss" onClick={dismiss} aria-label="Dismiss this alert">
        Dismiss
      </button>
    </div>
  );
}
