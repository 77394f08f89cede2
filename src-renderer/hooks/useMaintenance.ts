import { useCallback, useEffect, useRef, useState } from 'react';
import type { MaintenanceWindow } from '../../src-shared/protocol.js';
import type { ApiClient } from '../api/client.js';
import { EVENT_REFRESH_DELAY_MS, STATUS_REFRESH_MS } from '../components/dashboard/Dashboard.js';
import { normaliseWindows } from '../state/maintenance.js';
import { usePolling } from './usePolling.js';

/** What the layout, the banner and the maintenance buttons read. */
export interface MaintenanceState {
  /** The windows the server listed: active ones and the next occurrence of recurring ones. */
  windows: MaintenanceWindow[];
  /** Whether the server has answered the list: an older one without maintenance windows answers 404. */
  supported: boolean;
  /** Refetch now (after an action). */
  refresh(): void;
}

/**
 * GET /api/maintenance on load, on the dashboard's status cadence, and shortly after a status
 * event that enters or leaves paused (windows start and end with those; events come in bursts).
 */
export function useMaintenance(api: ApiClient | null, pauseRevision: number): MaintenanceState {
  const [windows, setWindows] = useState<MaintenanceWindow[]>([]);
  const [supported, setSupported] = useState(false);
  // Only the latest request's answer counts: a slow poll must not bring back a window just ended.
  const latest = useRef(0);

  const refresh = useCallback(() => {
    if (!api) return;
    const mine = ++latest.current;
    api.maintenance().then(
      (r) => {
        // Any error keeps what was shown: an older server (404) never shows a banner or buttons,
        // and a failing one is already reported by the dashboard's status poll.
        if (mine !== latest.current || !r.ok) return;
        setSupported(true);
        setWindows(normaliseWindows(r.body?.windows));
      },
      () => undefined, // Offline: the connection strip says so.
    );
  }, [api]);

  usePolling(refresh, STATUS_REFRESH_MS, api);
  useEffect(() => {
    if (pauseRevision === 0) return;
    const t = setTimeout(refresh, EVENT_REFRESH_DELAY_MS);
    return () => clearTimeout(t);
  }, [pauseRevision, refresh]);

  return { windows, supported, refresh };
}
