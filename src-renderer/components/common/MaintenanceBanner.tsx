import type { MaintenanceWindow } from '../../../src-shared/protocol.js';
import type { ApiClient } from '../../api/client.js';
import { useActionFeedback } from '../../hooks/useActionFeedback.js';
import { windowText } from '../../state/maintenance.js';

/** Props: the listed windows (useMaintenance) and how to end the ad-hoc ones. */
export interface MaintenanceBannerProps {
  windows: MaintenanceWindow[];
  api: ApiClient;
  /** Refetch the list after an action: the banner goes once the server no longer lists a window. */
  onChange(): void;
}

/**
 * A neutral banner on top of every page while any maintenance window is active (CONTRACT §14),
 * so paused services are never mistaken for a fault. Upcoming occurrences are not shown.
 */
export function MaintenanceBanner({ windows, api, onChange }: MaintenanceBannerProps) {
  const active = windows.filter((w) => w.active);
  if (active.length === 0) return null;
  // Mounted only while something is active, so an old error does not greet the next window.
  return <ActiveMaintenance active={active} api={api} onChange={onChange} />;
}

function ActiveMaintenance({ active, api, onChange }: { active: MaintenanceWindow[]; api: ApiClient; onChange(): void }) {
  const { busy, feedback, run } = useActionFeedback();
  // Config windows cannot be ended (edit the settings instead): the button only ends ad-hoc ones.
  const endable = active.some((w) => w.source === 'api');
  const end = () => void run('Ending maintenance', () => api.endMaintenance(), 'Maintenance ended').then(onChange);

  return (
    <section className="maintenance" aria-label="Maintenance">
      <span className="maintenance__icon" aria-hidden="true">
        ⏸
      </span>
      <ul className="maintenance__list">
        {active.map((w) => (
          <li key={w.id} data-source={w.source}>
            {windowText(w)}
          </li>
        ))}
      </ul>
      {endable && (
        <button type="button" className="button" onClick={end} disabled={busy}>
          End maintenance
        </button>
      )}
      {feedback?.kind === 'error' && (
        <p className="action-feedback action-feedback--error" role="status">
          {feedback.text}
        </p>
      )}
    </section>
  );
}
