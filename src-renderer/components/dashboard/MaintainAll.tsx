import type { ApiClient } from '../../api/client.js';
import { useActionFeedback } from '../../hooks/useActionFeedback.js';
import { QUICK_MAINTENANCE_MINUTES } from '../../state/maintenance.js';

/** The dashboard header's "Maintenance for all, 30 min": every service paused for a driver update or a reboot. */
export function MaintainAll({ api, onChange }: { api: ApiClient; onChange(): void }) {
  const { busy, feedback, run } = useActionFeedback();
  const start = () =>
    void run('Maintenance', () => api.startMaintenance({ minutes: QUICK_MAINTENANCE_MINUTES }), `All services in maintenance for ${QUICK_MAINTENANCE_MINUTES} min`).then(onChange);
  return (
    <div className="dashboard__actions">
      <button type="button" className="button" onClick={start} disabled={busy}>
        Maintenance for all, {QUICK_MAINTENANCE_MINUTES} min
      </button>
      <p className={`action-feedback${feedback?.kind === 'error' ? ' action-feedback--error' : ''}`} role="status">
        {feedback?.text}
      </p>
    </div>
  );
}
